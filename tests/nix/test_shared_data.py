"""Facts nix/lib shares with llmctl have one file each, in llmctl's data folder, and
nix/lib names that folder in one place (nix/lib/data.nix)."""

from __future__ import annotations

import json

from llmctl.stack import default_health_path, parse_stack
from testkit.nixeval import NIX_LIB, REPO, nix_eval

DATA = REPO / "python" / "llmctl" / "src" / "llmctl" / "data"


def test_nix_names_the_data_folder_once():
    naming = sorted(
        str(path.relative_to(REPO))
        for path in (REPO / "nix").rglob("*.nix")
        if "llmctl/src/llmctl/data" in path.read_text()
    )
    assert naming == ["nix/lib/data.nix"]
    assert sorted(path.name for path in NIX_LIB.glob("*.json")) == [], "no copy of a data file in nix/lib"
    shared = nix_eval(f"import {NIX_LIB / 'data.nix'}")
    assert shared["flagTable"] == json.loads((DATA / "llama-server-flags.json").read_text())
    assert shared["gpuProfiles"] == json.loads((DATA / "gpu-profiles.json").read_text())


def test_every_endpoint_of_stack_json_carries_its_health_path():
    spec = {
        "gateway": {"enable": True},
        "llamaSwap": {"enable": True},
        "ollama": {"enable": True},
        "webui": {"enable": True},
        "dedicated": {"chat": {}, "embedding": {}, "rerank": {}},
    }
    document = nix_eval("lib.stackJson spec", spec=spec)
    endpoints = document["endpoints"]
    assert len(endpoints) == 9
    assert {name: e["health"] for name, e in endpoints.items()} == {
        name: default_health_path(name) for name in endpoints
    }
    assert endpoints["ollama"]["health"] == "/api/version" and endpoints["gatewayAdmin"]["health"] == "/ready"
    parsed = parse_stack(document)  # the schema takes the key
    assert parsed.endpoints["gatewayMetrics"].health == "/metrics"


def test_default_ports_and_paths_are_one_file_both_sides_read():
    defaults = json.loads((DATA / "defaults.json").read_text())
    nix = nix_eval("{ inherit (lib) ports paths roles; }")
    assert nix == {key: defaults[key] for key in ("ports", "paths", "roles")}
    bare = parse_stack({"version": 1, "llamaSwap": {}})
    assert str(bare.models_dir) == defaults["paths"]["modelsDir"]
    assert bare.llama_swap.config_file == defaults["paths"]["llamaSwapConfig"]
