"""docs/hosts/HOST.md: each seed host's CONFIGURATION.md, as the NixOS module writes it
(/etc/local-llm/CONFIGURATION.md: llmctl's template over the facts of the module tier's
evaluation of nix/hosts/HOST). `./dev docs` writes them; tests/nix/test_host_docs.py
fails when one is stale."""

from __future__ import annotations

from llmctl.render.document import configuration_markdown
from testkit.nixeval_modules import REPO, SEED_HOSTS, evaluate_host, seed_host

HOST_DOCS = REPO / "docs" / "hosts"


def host_doc(host: str, evaluated: dict | None = None) -> str:
    facts = (evaluated or evaluate_host(seed_host(host)))["configurationFacts"]
    return configuration_markdown(facts)


if __name__ == "__main__":
    for host in SEED_HOSTS:
        path = HOST_DOCS / f"{host}.md"
        path.write_text(host_doc(host))
        print(f"wrote {path}")
