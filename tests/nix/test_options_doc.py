"""docs/options.md is what the module declarations say (regenerate with ./dev docs)."""

from __future__ import annotations

from testkit.options_doc import OPTIONS_MD, render


def test_options_reference_is_up_to_date():
    assert OPTIONS_MD.read_text() == render(), "docs/options.md is stale: run ./dev docs"


def test_every_option_has_a_description():
    from testkit.options_doc import option_docs

    for option in option_docs():
        assert option["description"].strip(), f"{option['name']} has no description"
