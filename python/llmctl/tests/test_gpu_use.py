"""'Is the GPU really used?' on recorded llama-server logs of ROCm, Vulkan, CUDA and CPU
builds (tests/data/llama-logs, README there) and on Ollama's /api/ps answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmctl.status.gpu_use import CPU, GPU, PARTIAL, UNKNOWN, HostFacts, judge_ollama, judge_server
from llmctl.status.server_log import last_run

LOGS = Path(__file__).parent / "data" / "llama-logs"


def judge(name: str, backend: str, **kwargs):
    return judge_server(last_run((LOGS / name).read_text()), backend, **kwargs)


@pytest.mark.parametrize(
    ("name", "backend", "summary"),
    [
        ("rocm-rx7900xtx-b11434.log", "rocm", "37/37 layers on ROCm0 (AMD Radeon RX 7900 XTX)"),
        ("cuda-rtx4090-b11434.log", "cuda", "37/37 layers on CUDA0 (NVIDIA GeForce RTX 4090)"),
        ("vulkan-strix-halo-b11434.log", "vulkan", "49/49 layers on Vulkan0 (AMD Radeon Graphics (RADV GFX1151))"),
        ("rocm-strix-halo-b6204.log", "rocm", "37/37 layers on ROCm0 (AMD Radeon Graphics)"),
        ("rpc-device-b11434.log", "vulkan", "33/33 layers on RPC0 (127.0.0.1:50160)"),
    ],
)
def test_a_gpu_run_passes(name, backend, summary):
    verdict = judge(name, backend)
    assert verdict.ok and verdict.state == GPU, verdict.message()
    assert verdict.summary.startswith(summary)


@pytest.mark.parametrize(
    ("name", "backend", "cause", "next_step"),
    [
        ("rocm-no-device-b11434.log", "rocm", "no ROCm-capable device is detected", "HSA_OVERRIDE_GFX_VERSION"),
        ("vulkan-no-devices-b11434.log", "vulkan", "no Vulkan driver (ICD)", "hardware.graphics.enable"),
        ("cpu-build-b11434.log", "rocm", "CPU-only build", "llama-cpp-rocm"),
        ("cuda-driver-too-old-b11434.log", "cuda", "driver is older than the CUDA runtime", "update the driver"),
        ("rocm-backend-load-failed-b11434.log", "rocm", "libamdhip64.so.6: cannot open", "rebuild"),
        ("rocm-hsa-override-wrong-isa-b11434.log", "rocm", "invalid device function", "gpu.targets"),
    ],
)
def test_a_cpu_fallback_fails_with_its_cause_and_the_next_step(name, backend, cause, next_step):
    verdict = judge(name, backend, targets=("gfx1151",))
    assert not verdict.ok, verdict.message()
    assert cause in verdict.cause and next_step in verdict.next_step


def test_the_runtime_reporting_another_isa_names_the_override():
    verdict = judge("rocm-hsa-override-wrong-isa-b11434.log", "rocm", targets=("gfx1151",))
    assert "reports gfx1100" in verdict.next_step and "HSA_OVERRIDE_GFX_VERSION" in verdict.next_step


def test_host_facts_pick_the_cause_of_a_missing_rocm_device():
    log = "rocm-no-device-b11434.log"
    no_access = judge(log, "rocm", facts=HostFacts(device_access=False))
    assert "render group" in no_access.cause and "SupplementaryGroups" in no_access.next_step
    override = judge(log, "rocm", facts=HostFacts(device_access=True, hsa_override="11.0.0"))
    assert "HSA_OVERRIDE_GFX_VERSION=11.0.0" in override.cause


def test_fewer_layers_than_planned_fail_and_as_many_pass():
    assert judge("rocm-partial-b11434.log", "rocm").state == PARTIAL
    assert not judge("rocm-partial-b11434.log", "rocm").ok  # the plan wanted every layer
    planned = judge("rocm-partial-b11434.log", "rocm", planned_layers=24)
    assert planned.ok and planned.state == PARTIAL


def test_a_cpu_host_passes_on_a_cpu_log():
    assert judge("cpu-build-b11434.log", "cpu").ok


def test_a_quiet_log_cannot_tell_and_says_how_to_make_it_tell():
    verdict = judge("quiet-default-verbosity-b11434.log", "rocm")
    assert verdict.state == UNKNOWN and not verdict.ok and "-lv 4" in verdict.next_step


def test_ollama_size_vram_against_size():
    answers = json.loads((LOGS / "ollama-ps.json").read_text())
    [(_, gpu)] = judge_ollama(answers["gpu"]["models"], "vulkan")
    [(name, cpu)] = judge_ollama(answers["cpu"]["models"], "vulkan")
    [(_, partial)] = judge_ollama(answers["partial"]["models"], "rocm")
    assert gpu.ok and gpu.state == GPU
    assert name == "qwen3:8b" and not cpu.ok and cpu.state == CPU and "ollama-vulkan" in cpu.next_step
    assert partial.ok and partial.state == PARTIAL and "53%" in partial.summary
    assert judge_ollama(answers["cpu"]["models"], "cpu")[0][1].ok
