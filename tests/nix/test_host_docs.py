"""docs/hosts/*.md are the seed hosts' CONFIGURATION.md as the module writes it
(regenerate with ./dev docs), and `llmctl render` writes the same document."""

from __future__ import annotations

import pytest

from llmctl.render.evaluate import evaluate
from llmctl.render.outputs import texts
from testkit.host_docs import HOST_DOCS, host_doc
from testkit.nixeval_modules import SEED_HOSTS


@pytest.mark.parametrize("host", SEED_HOSTS)
def test_host_page_is_the_modules_configuration_md(host, module_eval):
    assert (HOST_DOCS / f"{host}.md").read_text() == host_doc(host, module_eval(host)), (
        f"docs/hosts/{host}.md is stale: run ./dev docs"
    )


@pytest.mark.parametrize("host", SEED_HOSTS)
def test_render_writes_the_same_configuration_md(host, module_eval):
    evaluated = module_eval(host)
    files = evaluate(evaluated["stackInput"])
    assert files["CONFIGURATION.md"]["content"] == evaluated["configurationFacts"]
    assert texts({"CONFIGURATION.md": files["CONFIGURATION.md"], "stack.json": files["stack.json"]})[
        __import__("pathlib").Path("CONFIGURATION.md")
    ] == host_doc(host, evaluated)


def test_the_module_builds_the_document_with_llmctl(module_eval):
    etc = module_eval("strix-halo")["etc"]
    assert etc["local-llm/CONFIGURATION.md"]["source"].endswith("-local-llm-CONFIGURATION.md")
