"""GPU profiles and the unified-memory kernel parameters (the seed's figures)."""

from __future__ import annotations

import pytest

from testkit.nixeval import NixEvalError, nix_eval

# RAM, GPU target (RAM - 8 GiB for the OS), pages = GiB * 1024 * 1024 / 4.096 truncated.
KERNEL_TABLE = [
    (128, 120, 30_720_000),
    (64, 56, 14_336_000),
]


@pytest.mark.parametrize(("ram", "target", "pages"), KERNEL_TABLE)
def test_strix_halo_kernel_parameters(ram, target, pages):
    hw = nix_eval(f'lib.hardware {{ profile = "strix-halo"; ramGiB = {ram}; }}')
    assert hw["memoryGiB"] == target
    assert hw["kernelParams"] == [f"ttm.pages_limit={pages}", f"ttm.page_pool_size={pages}"]


def test_pages_formula_truncates_like_the_seed():
    # 119.5 GiB -> 119.5 * 1048576 / 4.096 = 30,592,000 exactly; 0.001 GiB -> 256.0 -> 256;
    # 1.0000001 GiB -> 256,000.0256 -> 256,000 (truncated, not rounded).
    assert nix_eval("map lib.ttmPages [ 120 119.5 0.001 1.0000001 ]") == [30_720_000, 30_592_000, 256, 256_000]


def test_explicit_target_and_too_large_target():
    assert nix_eval("lib.kernelParams { ramGiB = 128; targetGiB = 96; }")[0] == "ttm.pages_limit=24576000"
    with pytest.raises(NixEvalError, match="exceeds RAM"):
        nix_eval("lib.kernelParams { ramGiB = 64; targetGiB = 80; }")


def test_discrete_cards_get_no_kernel_parameters():
    hw = nix_eval('lib.hardware { profile = "radeon-r9700"; ramGiB = 64; }')
    assert hw["kernelParams"] == [] and hw["memoryGiB"] == 32
    assert hw["llamaCpp"]["override"] == {"vulkanSupport": True}
    assert hw["ollamaPackage"] == "ollama-rocm"


def test_every_profile_resolves():
    names = nix_eval("lib.profileNames")
    assert set(names) == {"strix-halo", "radeon-r9700", "rx-7900xtx", "rx-7600", "nvidia", "cpu"}
    resolved = nix_eval("map (profile: lib.hardware { inherit profile; }) lib.profileNames")
    backends = {hw["profile"]: hw["backend"] for hw in resolved}
    assert backends == {
        "cpu": "cpu",
        "nvidia": "cuda",
        "radeon-r9700": "vulkan",
        "rx-7600": "rocm",
        "rx-7900xtx": "rocm",
        "strix-halo": "rocm",
    }
    nvidia = next(hw for hw in resolved if hw["profile"] == "nvidia")
    assert nvidia["llamaCpp"]["override"] == {"cudaSupport": True} and nvidia["ollamaPackage"] == "ollama-cuda"


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(NixEvalError, match=r"unknown GPU profile 'rx-9999'.*known: cpu, nvidia"):
        nix_eval('lib.hardware { profile = "rx-9999"; }')


@pytest.mark.parametrize("ram", [64, 96, 128])
def test_planner_and_nix_budget_every_profile_alike(ram):
    """One file of figures (llmctl/data/gpu-profiles.json): the planner's budget for a
    profile is what nix/lib's hardware gives the host (and writes to stack.json)."""
    from llmctl.plan.budgets import PROFILES

    resolved = nix_eval("map (profile: lib.hardware { inherit profile ramGiB; }) lib.profileNames", ramGiB=ram)
    from_nix = {hw["profile"]: (hw["memoryGiB"], hw["unifiedMemory"]) for hw in resolved}
    from_python = {name: (p.memory_for_ram(ram), p.unified_memory) for name, p in PROFILES.items()}
    assert from_nix == from_python
    assert from_nix["strix-halo"] == (ram - 8, True), "unified memory: RAM minus the 8 GiB OS reserve"


def test_planner_assumes_the_reference_ram_when_the_host_gives_none():
    from llmctl.plan.budgets import PROFILES

    strix = PROFILES["strix-halo"]
    assert strix.memory_gib == 120 == nix_eval('(lib.hardware { profile = "strix-halo"; ramGiB = 128; }).memoryGiB')
    assert nix_eval('(lib.hardware { profile = "strix-halo"; }).memoryGiB') is None, "Nix invents no RAM"
