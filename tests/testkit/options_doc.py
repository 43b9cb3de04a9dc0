"""docs/options.md, rendered from the module option declarations.

`./dev docs` writes it; tests/nix/test_options_doc.py fails when it is out of date.
Both need the nixpkgs data folder (see testkit.nixeval_modules).
"""

from __future__ import annotations

import jinja2

from testkit.nixeval_modules import REPO, nix_module_eval, nixpkgs_lib, nixpkgs_root

OPTIONS_MD = REPO / "docs" / "options.md"

TEMPLATE = """\
# services.local-llm options

Generated from the module declarations by `./dev docs`; do not edit by hand.
Hosts using these options: [strix-halo](hosts/strix-halo.md), [nas-01](hosts/nas-01.md),
[atlas](hosts/atlas.md). Upstream options the modules set: [upstream-options.md](upstream-options.md).
{% for option in options %}
## `{{ option.name }}`

{{ option.description | trim }}

- Type: {{ option.type }}
{%- if option.default is not none %}
- Default: `{{ option.default | replace("\\n", " ") }}`
{%- endif %}
{%- if option.example is not none %}
- Example: `{{ option.example | trim | replace("\\n", " ") }}`
{%- endif %}
{% endfor %}"""


def option_docs() -> list[dict]:
    return nix_module_eval("options.nix", {"nixpkgs": str(nixpkgs_root()), "nixpkgsLib": str(nixpkgs_lib().path)})


def render() -> str:
    environment = jinja2.Environment(keep_trailing_newline=True, autoescape=False)  # Markdown, not HTML
    return environment.from_string(TEMPLATE).render(options=option_docs())


if __name__ == "__main__":
    OPTIONS_MD.write_text(render())
    print(f"wrote {OPTIONS_MD}")
