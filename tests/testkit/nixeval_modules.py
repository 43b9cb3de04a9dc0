"""The module evaluation tier: evaluate nix/modules for a host with nixpkgs' `lib`.

nixpkgs is not installed on the project's machines; `lib` alone is small. It is
found from NIXPKGS_LIB (a path to nixpkgs' lib folder) or `<nixpkgs/lib>` on
NIX_PATH. Without either, the tests of this tier skip with that reason (the one
tier allowed to skip under ./dev test: no package registry ships nixpkgs).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from testkit.tools import nix_instantiate_bin

REPO = Path(__file__).resolve().parents[2]
EVAL = REPO / "tests" / "nix" / "module-eval" / "eval.nix"


def nixpkgs_lib() -> Path:
    explicit = os.environ.get("NIXPKGS_LIB")
    if explicit and (Path(explicit) / "default.nix").is_file():
        return Path(explicit)
    found = subprocess.run([str(nix_instantiate_bin()), "--find-file", "nixpkgs/lib"], capture_output=True, text=True)
    if found.returncode == 0 and found.stdout.strip():
        return Path(found.stdout.strip())
    pytest.skip(
        "module evaluation tier: no nixpkgs lib (set NIXPKGS_LIB=/path/to/nixpkgs/lib or put nixpkgs on NIX_PATH)"
    )


def evaluate_host(host_module: Path | str) -> dict:
    """Evaluate the modules with `host_module`; returns eval.nix's summary."""
    expression = f"import {EVAL} {{ nixpkgsLib = {nixpkgs_lib()}; host = {Path(host_module).resolve()}; }}"
    done = subprocess.run(
        [str(nix_instantiate_bin()), "--eval", "--strict", "--json", "-E", expression],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise AssertionError(f"evaluation of {host_module} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)
