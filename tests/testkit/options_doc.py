"""docs/options.md, rendered from the module option declarations.

`./dev docs` writes it; tests/nix/test_options_doc.py fails when it is out of date.
Both need nixpkgs' lib (see testkit.nixeval_modules).
"""

from __future__ import annotations

import json
import subprocess

import jinja2

from testkit.nixeval_modules import REPO, nixpkgs_lib
from testkit.tools import nix_instantiate_bin

OPTIONS_NIX = REPO / "tests" / "nix" / "module-eval" / "options.nix"
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
    expression = f"import {OPTIONS_NIX} {{ nixpkgsLib = {nixpkgs_lib()}; }}"
    done = subprocess.run(
        [str(nix_instantiate_bin()), "--eval", "--strict", "--json", "-E", expression],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def render() -> str:
    environment = jinja2.Environment(keep_trailing_newline=True, autoescape=False)  # Markdown, not HTML
    return environment.from_string(TEMPLATE).render(options=option_docs())


if __name__ == "__main__":
    OPTIONS_MD.write_text(render())
    print(f"wrote {OPTIONS_MD}")
