"""GPU readers on recorded sysfs trees and nvidia-smi output (tests/data/gpu)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from llmctl.cli import cli
from llmctl.status.gpu import parse_nvidia_smi, read_gpus

DATA = Path(__file__).parent / "data" / "gpu"
GIB = 1024**3
MIB = 1024**2


def no_nvidia() -> None:
    return None


def test_strix_halo_apu_reports_vram_gtt_and_the_ttm_limit():
    report = read_gpus(DATA / "strix-halo", no_nvidia)
    assert [d.card for d in report.devices] == ["card1"], "connectors and render nodes are not cards"
    apu = report.devices[0]
    assert (apu.vendor, apu.name, apu.pci) == ("amd", "AMD Radeon 8060S", "0000:c5:00.0")
    assert (apu.vram_used_bytes, apu.vram_total_bytes) == (371195904, 512 * MIB)
    assert (apu.gtt_used_bytes, apu.gtt_total_bytes) == (70866960384, 120 * GIB)
    assert report.ttm_limit_bytes == 120 * GIB


def test_two_r9700_cards_and_the_bmc_display_is_ignored():
    report = read_gpus(DATA / "r9700x2", no_nvidia)
    assert [d.card for d in report.devices] == ["card1", "card2"]
    assert [d.pci for d in report.devices] == ["0000:03:00.0", "0000:04:00.0"]
    assert [d.vram_used_bytes for d in report.devices] == [20 * GIB, 1 * GIB]
    assert all(d.vram_total_bytes == 34208743424 for d in report.devices)
    assert all(d.name == "AMD 0x7551" for d in report.devices), "no product_name: the PCI device id"


def test_nvidia_smi_csv_in_mib():
    report = read_gpus(DATA / "empty-root", lambda: (DATA / "nvidia-smi.csv").read_text())
    assert len(report.devices) == 1
    card = report.devices[0]
    assert (card.vendor, card.card, card.name) == ("nvidia", "nvidia0", "NVIDIA GeForce RTX 4090")
    assert (card.vram_used_bytes, card.vram_total_bytes) == (18432 * MIB, 24564 * MIB)
    assert card.pci == "00000000:01:00.0"
    assert report.ttm_limit_bytes is None, "the TTM limit is an amdgpu matter"


def test_nvidia_unknown_memory_and_junk_lines():
    devices = parse_nvidia_smi("0, Tesla K80, [N/A], [N/A]\nNVIDIA-SMI has failed\n")
    assert [(d.name, d.vram_total_bytes) for d in devices] == [("Tesla K80", None)]


def test_failing_nvidia_smi_is_a_problem_not_a_crash():
    def broken() -> str:
        raise OSError("exit code 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver")

    report = read_gpus(DATA / "r9700x2", broken)
    assert len(report.devices) == 2
    assert report.problems == [
        "nvidia-smi failed: exit code 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver"
    ]


def test_no_gpu(tmp_path):
    report = read_gpus(tmp_path, no_nvidia)
    assert not report.found
    assert report.to_json() == {"found": False, "devices": [], "ttm_limit_bytes": None, "problems": []}


def status_with(tmp_path, monkeypatch, sysfs_root, nvidia_smi, *args):
    """`llmctl status` on a stack with no services, reading the given GPU sources."""
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps({"version": 1, "modelsDir": str(tmp_path)}))
    monkeypatch.setenv("LLMCTL_SYSFS_ROOT", str(sysfs_root))
    monkeypatch.setenv("LLMCTL_NVIDIA_SMI", str(nvidia_smi))
    result = CliRunner().invoke(cli, ["--stack", str(stack), "status", *args])
    assert result.exit_code == 0, result.output
    return result


def test_status_shows_the_recorded_apu(tmp_path, monkeypatch):
    """The CLI reads the sysfs root and nvidia-smi named by the environment."""
    result = status_with(tmp_path, monkeypatch, DATA / "strix-halo", tmp_path / "no-such-nvidia-smi")
    assert "GPU:    card1 AMD Radeon 8060S  VRAM 0.3/0.5 GiB  GTT 66.0/120.0 GiB" in result.stdout
    assert "TTM limit 120.0 GiB" in result.stdout
    assert "nvidia-smi failed" in result.stdout, "a named nvidia-smi that cannot run is reported"


def test_status_says_no_gpu_found(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("LLMCTL_NVIDIA_SMI", raising=False)
    result = status_with(tmp_path, monkeypatch, tmp_path, "", "--json")
    assert json.loads(result.stdout)["gpu"] == {"found": False, "devices": [], "ttm_limit_bytes": None, "problems": []}
    assert "GPU:    no GPU found" in status_with(tmp_path, monkeypatch, tmp_path, "").stdout


def test_status_runs_the_named_nvidia_smi_with_the_query(tmp_path, monkeypatch):
    """A stand-in nvidia-smi that answers only the exact query llmctl must send."""
    fake = tmp_path / "nvidia-smi"
    fake.write_text(
        "#!/bin/sh\n"
        '[ "$1" = "--query-gpu=index,name,memory.used,memory.total,pci.bus_id" ] || exit 3\n'
        '[ "$2" = "--format=csv,noheader,nounits" ] || exit 4\n'
        f"cat '{DATA / 'nvidia-smi.csv'}'\n"
    )
    fake.chmod(0o755)
    gpu = json.loads(status_with(tmp_path, monkeypatch, tmp_path, fake, "--json").stdout)["gpu"]
    assert gpu["problems"] == []
    assert [(d["card"], d["vram_used_bytes"], d["vram_total_bytes"]) for d in gpu["devices"]] == [
        ("nvidia0", 18432 * MIB, 24564 * MIB)
    ]
