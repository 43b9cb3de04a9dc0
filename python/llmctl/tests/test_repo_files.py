"""Which files of a Hub repository a download selects: quants, splits, byte splits, projectors."""

from __future__ import annotations

import pytest

from llmctl.hub.files import RemoteFile, group_units, is_safe_path, missing_parts, quant_of, select
from llmctl.library.ids import model_id_for


def _units(*paths: str):
    return group_units([RemoteFile(path=p, size=10, sha256="0" * 64) for p in paths])


@pytest.mark.parametrize(
    ("path", "quant"),
    [
        ("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", "Q4_K_M"),
        ("google_gemma-3-12b-it-IQ4_XS.gguf", "IQ4_XS"),
        ("Model-UD-Q4_K_XL.gguf", "UD-Q4_K_XL"),
        ("UD-Q4_K_XL/Model-UD-Q4_K_XL-00001-of-00004.gguf", "UD-Q4_K_XL"),
        ("llama-2-7b-chat.Q4_K_M.gguf", "Q4_K_M"),
        ("Model.i1-IQ4_XS.gguf", "i1-IQ4_XS"),
        ("qwen2.5-7b-instruct-q5_k_m-00001-of-00002.gguf", "q5_k_m"),
        ("Q4_K_M/Model_Q4_K_M-00001-of-00002.gguf", "Q4_K_M"),
        ("Model-Q4_0_4_4.gguf", "Q4_0_4_4"),
        ("gpt-oss-20b-MXFP4.gguf", "MXFP4"),
        ("Model-bf16.gguf", "bf16"),
        ("phi-4-Q4_K.gguf", "Q4_K"),
        ("README.gguf", None),
    ],
)
def test_quant_is_read_from_the_end_of_the_stem(path, quant):
    assert quant_of(path) == quant


def test_model_ids_drop_extension_and_split_suffix_and_keep_the_quant():
    assert model_id_for("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf") == "meta-llama-3.1-8b-instruct-q4_k_m"
    assert model_id_for("/m/Q8_0/Model-Q8_0-00002-of-00003.gguf") == "model-q8_0"


def test_quant_match_is_case_insensitive_and_bounded():
    units = _units("M-Q4_K_M.gguf", "M-Q4_K_L.gguf", "M-Q4_K.gguf", "M-IQ4_XS.gguf")
    assert [u.path for u in select(units, ["q4_k"]).units] == ["M-Q4_K.gguf"]
    assert [u.path for u in select(units, ["Q4_K_M"]).units] == ["M-Q4_K_M.gguf"]
    assert select(units, ["Q4"]).unmatched == ["Q4"]
    assert select(units, ["K_M"]).unmatched == ["K_M"]


def test_prefixed_quants_are_selected_by_their_bare_name():
    units = _units("M-UD-Q4_K_XL.gguf", "M.i1-Q4_K_M.gguf")
    assert [u.path for u in select(units, ["Q4_K_XL"]).units] == ["M-UD-Q4_K_XL.gguf"]
    assert [u.path for u in select(units, ["ud-q4_k_xl"]).units] == ["M-UD-Q4_K_XL.gguf"]
    assert [u.path for u in select(units, ["Q4_K_M"]).units] == ["M.i1-Q4_K_M.gguf"]


def test_split_sets_are_one_unit_and_must_be_complete():
    units = _units("M-Q8_0/M-Q8_0-00002-of-00002.gguf", "M-Q8_0/M-Q8_0-00001-of-00002.gguf", "M-Q4_K_M.gguf")
    [split] = select(units, ["Q8_0"]).units
    assert split.path == "M-Q8_0/M-Q8_0-00001-of-00002.gguf"
    assert [p.path for p in split.parts] == [
        "M-Q8_0/M-Q8_0-00001-of-00002.gguf",
        "M-Q8_0/M-Q8_0-00002-of-00002.gguf",
    ]
    assert split.size == 20
    [incomplete] = select(_units("X-Q8_0-00001-of-00003.gguf", "X-Q8_0-00003-of-00003.gguf"), ["Q8_0"]).units
    assert missing_parts(incomplete) == ["X-Q8_0-00002-of-00003.gguf"]


@pytest.mark.parametrize(
    "pieces",
    [
        ("llama-2-70b.Q8_0.gguf-split-b", "llama-2-70b.Q8_0.gguf-split-a"),
        ("Model.Q8_0.gguf.part2of2", "Model.Q8_0.gguf.part1of2"),
    ],
)
def test_byte_splits_become_one_joined_file_in_order(pieces):
    [unit] = select(_units(*pieces), ["Q8_0"]).units
    assert unit.joined
    assert unit.path == pieces[0].rsplit(".gguf", 1)[0] + ".gguf"
    assert [p.path for p in unit.parts] == sorted(pieces)
    assert missing_parts(unit) == []
    [lonely] = _units("Model.Q8_0.gguf.part1of3")
    assert missing_parts(lonely) == ["Model.Q8_0.gguf.part2of3", "Model.Q8_0.gguf.part3of3"]


def test_projector_comes_along_unless_refused_and_is_never_a_quant():
    units = _units(
        "M-Q8_0/M-Q8_0-00001-of-00001.gguf",
        "M-Q4_K_M.gguf",
        "mmproj-M-f16.gguf",
        "mmproj-M-bf16.gguf",
        "M-imatrix.gguf",
    )
    assert [u.path for u in select(units, ["Q8_0"]).units] == [
        "M-Q8_0/M-Q8_0-00001-of-00001.gguf",
        "mmproj-M-f16.gguf",
    ]
    assert [u.path for u in select(units, ["Q8_0"], projectors=False).units] == ["M-Q8_0/M-Q8_0-00001-of-00001.gguf"]
    everything = select(units, [], everything=True, projectors=False).units
    assert [u.path for u in everything] == ["M-Q4_K_M.gguf", "M-Q8_0/M-Q8_0-00001-of-00001.gguf"]
    assert select(units, ["f16"]).unmatched == ["f16"]


def test_include_glob_is_case_sensitive_and_crosses_folders():
    units = _units("M-Q8_0/M-Q8_0-00001-of-00002.gguf", "M-Q8_0/M-Q8_0-00002-of-00002.gguf", "M-Q4_K_M.gguf")
    assert [u.path for u in select(units, [], include=["*Q8_0*"]).units] == ["M-Q8_0/M-Q8_0-00001-of-00002.gguf"]
    assert select(units, [], include=["*q8_0*"]).units == []


def test_paths_that_would_leave_the_models_folder_are_unsafe():
    assert is_safe_path("Q8_0/Model-Q8_0-00001-of-00002.gguf")
    for path in ("../evil.gguf", "a/../../evil.gguf", "/etc/evil.gguf", "a\\..\\evil.gguf", ""):
        assert not is_safe_path(path), path
