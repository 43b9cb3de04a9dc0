"""Fixtures of the Nix tiers: seed hosts evaluated through the NixOS modules once per
nixpkgs lib and shared by every test that speaks of them."""

from __future__ import annotations

import pytest

from testkit.nixeval_modules import SEED_HOSTS, evaluate_host, nixpkgs_libs, seed_host

# The two nixpkgs libs of the module tier (testkit.nixeval_modules): 26.05, and the
# older lib of 2026-03-22 that a module relying on newer lib behaviour fails on.
LIBS = ("lib", "old-lib")


@pytest.fixture(scope="session")
def module_eval():
    """`module_eval(host, lib="lib")`: a seed host's module evaluation summary, evaluated
    once per session and lib."""
    done: dict[tuple[str, str], dict] = {}

    def evaluated(host: str, lib: str = "lib") -> dict:
        if (host, lib) not in done:
            done[host, lib] = evaluate_host(seed_host(host), lib=dict(zip(LIBS, nixpkgs_libs(), strict=True))[lib])
        return done[host, lib]

    return evaluated


@pytest.fixture(scope="session")
def seed_specs(module_eval) -> dict:
    """The seed hosts' stack specs as the modules hand them to nix/lib
    (config.services.local-llm.stackInput of nix/hosts/HOST)."""
    return {host: module_eval(host)["stackInput"] for host in SEED_HOSTS}


@pytest.fixture(params=LIBS)
def lib(request) -> str:
    """Each test asking for it runs once per nixpkgs lib."""
    return request.param


@pytest.fixture
def strix_halo(module_eval, lib):
    return module_eval("strix-halo", lib)


@pytest.fixture
def nas01(module_eval, lib):
    return module_eval("nas-01", lib)


@pytest.fixture
def atlas(module_eval, lib):
    return module_eval("atlas", lib)
