"""The module evaluation tier: nix/modules evaluated for a host against the real nixpkgs
files (upstream service modules, core modules, nixos/lib and nixpkgs' lib).

No package registry ships nixpkgs; the parts the tier needs are in a data folder,
`../shared/data/nixpkgs` beside the checkout (its README says what each file is).
Where the tier finds it:

- LOCAL_LLM_NIXPKGS: the data folder (nixos/modules, nixos/lib, lib folders);
  default `../shared/data/nixpkgs` from the repository root (what `./dev` exports).
- NIXPKGS_LIB: nixpkgs' lib the tier evaluates with (default: the folder's `lib`, 26.05).
- NIXPKGS_LIB_OLD: a second, older lib every seed host is also evaluated with (default:
  the folder's `lib-2026-03-22`, from before lib's "default to emptyValue" change).

A missing folder skips the tier with that reason, or fails it under
LOCAL_LLM_REQUIRE_TOOLS=1 (./dev test, CI).

`evaluate_host(path)` returns tests/nix/module-eval/eval.nix's summary: `assertions`
(failed messages; nothing else when any failed), `warnings`, `units[NAME]` for every
systemd service (`environment` and `serviceConfig` as the merged option values, upstream's
and ours; `text`, the unit file rendered by nixos/lib's systemd-lib.nix; `after`,
`wants`, `script`, ...), `paths`, `files` (path -> text of the scripts units name),
`stackInput`, `stackJson`, `firewall`, `tmpfiles`, `users`, `llamaSwap`, `ollama`,
`webui`, `envoy`, `llamaCpp`. A configuration NixOS rejects while evaluating (an option
type, an abort) raises `ModuleEvalError` with Nix's message.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from testkit.tools import missing, nix_instantiate_bin

REPO = Path(__file__).resolve().parents[2]
MODULE_EVAL = REPO / "tests" / "nix" / "module-eval"
HOSTS = REPO / "nix" / "hosts"
SEED_HOSTS = ("strix-halo", "nas-01", "atlas")
DEFAULT_NIXPKGS = REPO.parent / "shared" / "data" / "nixpkgs"
OLD_LIB = "lib-2026-03-22"


class ModuleEvalError(AssertionError):
    """Nix refused the configuration; the message is its stderr (without traces)."""


@dataclass(frozen=True)
class NixpkgsLib:
    """One nixpkgs lib folder; `label` names it in test ids (lib-26.05, lib-2026-03-22)."""

    label: str
    path: Path


def nixpkgs_root() -> Path:
    root = Path(os.environ.get("LOCAL_LLM_NIXPKGS") or DEFAULT_NIXPKGS)
    if not (root / "nixos" / "modules").is_dir():
        missing(
            f"module evaluation tier: no nixpkgs data folder at {root} "
            "(set LOCAL_LLM_NIXPKGS to a folder like ../shared/data/nixpkgs)"
        )
    return root


def _lib_at(variable: str, default: Path) -> NixpkgsLib:
    path = Path(os.environ.get(variable) or default)
    if not (path / "default.nix").is_file():
        missing(f"module evaluation tier: no nixpkgs lib at {path} (set {variable} to a nixpkgs lib/ folder)")
    label = path.name
    if label == "lib" and (path / ".version").is_file():
        label = f"lib-{(path / '.version').read_text().strip()}"
    return NixpkgsLib(label, path)


def nixpkgs_lib() -> NixpkgsLib:
    """The lib the tier evaluates with (26.05)."""
    return _lib_at("NIXPKGS_LIB", nixpkgs_root() / "lib")


def nixpkgs_libs() -> tuple[NixpkgsLib, NixpkgsLib]:
    """Both libs every seed host is evaluated with: 26.05 and the older one."""
    return nixpkgs_lib(), _lib_at("NIXPKGS_LIB_OLD", nixpkgs_root() / OLD_LIB)


def seed_host(name: str) -> Path:
    """A seed host's own local-llm file (nix/hosts/NAME/local-llm.nix)."""
    return HOSTS / name / "local-llm.nix"


def _nix_path(path: Path | str) -> str:
    return str(Path(path).resolve())


def nix_module_eval(nix_file: str, args: dict[str, str]) -> object:
    """Run a module-eval/*.nix function with Nix expressions as arguments."""
    command = [str(nix_instantiate_bin()), "--eval", "--strict", "--json", str(MODULE_EVAL / nix_file)]
    for name, expression in args.items():
        command += ["--arg", name, expression]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        message = "\n".join(line for line in done.stderr.splitlines() if not line.startswith("trace: "))
        raise ModuleEvalError(message)
    return json.loads(done.stdout)


def evaluate_host(
    host_module: Path | str,
    *,
    lib: NixpkgsLib | None = None,
    upstream_overrides: dict[str, Path] | None = None,
) -> dict:
    """Evaluate the modules with `host_module` (a module file) on `lib` (default 26.05);
    `upstream_overrides` replaces upstream files ({"services/misc/ollama.nix": path})."""
    lib = lib or nixpkgs_lib()
    overrides = " ".join(f'"{name}" = {_nix_path(path)};' for name, path in (upstream_overrides or {}).items())
    return nix_module_eval(
        "eval.nix",
        {
            "nixpkgs": _nix_path(nixpkgs_root()),
            "nixpkgsLib": _nix_path(lib.path),
            "host": _nix_path(host_module),
            "upstreamOverrides": f"{{ {overrides} }}",
        },
    )
