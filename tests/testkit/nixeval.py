"""Evaluate Nix expressions against the repository's builtins-only `nix/lib`.

`nix_eval("lib.envoyConfig spec", spec={...})` binds `lib` to `import nix/lib` and
each keyword argument to its JSON value (read with builtins.fromJSON), runs
`nix-instantiate --eval --strict --json` and returns the decoded result.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from testkit.tools import nix_instantiate_bin

REPO = Path(__file__).resolve().parents[2]
NIX_LIB = REPO / "nix" / "lib"
SCENARIOS = REPO / "tests" / "nix" / "scenarios"


class NixEvalError(RuntimeError):
    """nix-instantiate failed; the message carries its stderr (e.g. a `throw`)."""


def nix_eval(expr: str, *, binary: Path | str | None = None, **bindings: Any) -> Any:
    binary = binary or nix_instantiate_bin()
    with tempfile.TemporaryDirectory(prefix="nixeval-") as tmp:
        lets = [f"lib = import {NIX_LIB};"]
        for name, value in bindings.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"not a Nix identifier: {name}")
            path = Path(tmp) / f"{name}.json"
            path.write_text(json.dumps(value))
            lets.append(f"{name} = builtins.fromJSON (builtins.readFile {path});")
        source = "let\n  " + "\n  ".join(lets) + f"\nin\n{expr}\n"
        result = subprocess.run(
            [str(binary), "--eval", "--strict", "--json", "-E", source],
            capture_output=True,
            text=True,
            timeout=120,
        )
    if result.returncode != 0:
        raise NixEvalError(result.stderr.strip())
    return json.loads(result.stdout)


def scenario_spec(name: str) -> Any:
    """A named stack spec for what no seed host covers (tests/nix/scenarios/NAME.nix).
    A seed host's spec comes from its module evaluation instead (`stackInput`)."""
    return nix_eval(f"import {SCENARIOS / (name + '.nix')}")
