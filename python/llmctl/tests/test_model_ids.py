"""Model IDs: the base rule, split suffixes, unsafe characters and collisions."""

from __future__ import annotations

from pathlib import PurePath

import pytest

from llmctl.library.ids import model_id_for, safe_id, split_parts, unique_ids


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", "meta-llama-3.1-8b-instruct-q4_k_m"),
        ("sub/dir/Qwen3-235B-A22B-Q4_K_M-00001-of-00003.gguf", "qwen3-235b-a22b-q4_k_m"),
        ("Qwen3-235B-A22B-Q4_K_M-00003-of-00003.GGUF", "qwen3-235b-a22b-q4_k_m"),
        ("model.GGUF", "model"),
        ("gemma-3-4b-it-UD-IQ2_XXS.gguf", "gemma-3-4b-it-ud-iq2_xxs"),
        ("weird-0001-of-0002.gguf", "weird-0001-of-0002"),  # not llama.cpp's 5-digit shard pattern
    ],
)
def test_base_rule(name, expected):
    assert model_id_for(name) == expected
    assert model_id_for(PurePath(name)) == expected


def test_split_parts():
    assert split_parts("x-Q8_0-00002-of-00005.gguf") == ("x-Q8_0", 2, 5)
    assert split_parts("x-Q8_0.gguf") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a b$(rm -rf x)`id`;c", "a-b-rm--rf-x-id-c"),
        ("x${port}y", "x-port-y"),
        ("modèle-q4", "modèle-q4"),
        ("$$$", "model"),
    ],
)
def test_unsafe_characters_become_dashes(raw, expected):
    assert safe_id(raw) == expected


def test_collisions_are_prefixed_with_the_folder_whatever_the_order():
    paths = [PurePath("b/Model-Q4_K_M.gguf"), PurePath("Model-Q4_K_M.gguf"), PurePath("a/x/model-q4_k_m.gguf")]
    expected = {
        PurePath("Model-Q4_K_M.gguf"): "model-q4_k_m",
        PurePath("a/x/model-q4_k_m.gguf"): "a/x/model-q4_k_m",
        PurePath("b/Model-Q4_K_M.gguf"): "b/model-q4_k_m",
    }
    assert unique_ids(paths) == expected
    assert unique_ids(reversed(paths)) == expected
    # A file that does not collide keeps its bare ID, whatever else is in the folder.
    assert unique_ids([PurePath("c/other.gguf"), *paths])[PurePath("c/other.gguf")] == "other"


def test_ids_equal_after_cleaning_get_numbered_in_path_order():
    ids = unique_ids([PurePath("m q.gguf"), PurePath("m$q.gguf"), PurePath("m-q.gguf")])
    assert sorted(ids.values()) == ["m-q", "m-q-2", "m-q-3"]
    assert ids[PurePath("m q.gguf")] == "m-q"  # " " sorts first
