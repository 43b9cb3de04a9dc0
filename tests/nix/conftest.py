"""Fixtures of the nix/lib tests."""

from __future__ import annotations

import pytest

from testkit.nixeval import SEED_HOSTS, seed_spec


@pytest.fixture(scope="session")
def seed_specs() -> dict:
    """The seed hosts' stack specs (tests/nix/specs/*.nix), evaluated once."""
    return {host: seed_spec(host) for host in SEED_HOSTS}
