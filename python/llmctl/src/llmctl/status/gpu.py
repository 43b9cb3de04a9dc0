"""GPU memory readers: AMD from sysfs, NVIDIA from nvidia-smi.

Both sources are injectable (a sysfs root, a function returning nvidia-smi's CSV) so
the tests read recorded trees and outputs. `LLMCTL_SYSFS_ROOT` and `LLMCTL_NVIDIA_SMI`
do the same for the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

AMD_VENDOR = "0x1002"
PAGE_SIZE = 4096
MIB = 1024 * 1024
NVIDIA_QUERY = "index,name,memory.used,memory.total,pci.bus_id"
NVIDIA_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class GpuDevice:
    vendor: str
    card: str
    name: str
    pci: str | None
    vram_used_bytes: int | None
    vram_total_bytes: int | None
    gtt_used_bytes: int | None = None
    gtt_total_bytes: int | None = None


@dataclass(frozen=True)
class GpuReport:
    devices: list[GpuDevice] = field(default_factory=list)
    ttm_limit_bytes: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.devices)

    def to_json(self) -> dict:
        return {
            "found": self.found,
            "devices": [asdict(device) for device in self.devices],
            "ttm_limit_bytes": self.ttm_limit_bytes,
            "problems": list(self.problems),
        }


def read_gpus(
    sysfs_root: Path | str | None = None,
    nvidia_smi: Callable[[], str | None] | None = None,
) -> GpuReport:
    """Every AMD card in sysfs and every NVIDIA card nvidia-smi lists."""
    root = Path(sysfs_root or os.environ.get("LLMCTL_SYSFS_ROOT") or "/sys")
    problems: list[str] = []
    devices = read_amd(root)
    query = nvidia_smi if nvidia_smi is not None else _run_nvidia_smi
    try:
        output = query()
    except OSError as error:
        output = None
        problems.append(f"nvidia-smi failed: {error}")
    if output:
        devices += parse_nvidia_smi(output)
    ttm = read_ttm_limit(root) if any(d.vendor == "amd" for d in devices) else None
    return GpuReport(devices=devices, ttm_limit_bytes=ttm, problems=problems)


def read_amd(root: Path) -> list[GpuDevice]:
    """amdgpu cards: /sys/class/drm/cardN/device/mem_info_{vram,gtt}_{used,total} (bytes)."""
    drm = root / "class" / "drm"
    if not drm.is_dir():
        return []
    devices = []
    for card in sorted(drm.iterdir(), key=_card_number):
        if not card.name.startswith("card") or not card.name[4:].isdigit():
            continue  # connectors such as card0-DP-1
        device = card / "device"
        if _read_text(device / "vendor") != AMD_VENDOR:
            continue
        vram_total = _read_int(device / "mem_info_vram_total")
        if vram_total is None:
            continue  # amdgpu without memory accounting (or another driver)
        pci = _uevent(device).get("PCI_SLOT_NAME")
        name = _read_text(device / "product_name") or f"AMD {_read_text(device / 'device') or 'GPU'}"
        devices.append(
            GpuDevice(
                vendor="amd",
                card=card.name,
                name=name,
                pci=pci,
                vram_used_bytes=_read_int(device / "mem_info_vram_used"),
                vram_total_bytes=vram_total,
                gtt_used_bytes=_read_int(device / "mem_info_gtt_used"),
                gtt_total_bytes=_read_int(device / "mem_info_gtt_total"),
            )
        )
    return devices


def read_ttm_limit(root: Path) -> int | None:
    """The TTM pages limit (what a unified-memory APU may map for the GPU), in bytes."""
    pages = _read_int(root / "module" / "ttm" / "parameters" / "pages_limit")
    return pages * PAGE_SIZE if pages else None


def parse_nvidia_smi(output: str) -> list[GpuDevice]:
    """`nvidia-smi --query-gpu=index,name,memory.used,memory.total,pci.bus_id
    --format=csv,noheader,nounits`: one line per card, memory in MiB."""
    devices = []
    for line in output.splitlines():
        fields = [part.strip() for part in line.split(",")]
        if len(fields) < 4 or not fields[0].isdigit():
            continue
        devices.append(
            GpuDevice(
                vendor="nvidia",
                card=f"nvidia{fields[0]}",
                name=fields[1],
                pci=fields[4] if len(fields) > 4 else None,
                vram_used_bytes=_mib(fields[2]),
                vram_total_bytes=_mib(fields[3]),
            )
        )
    return devices


def _run_nvidia_smi() -> str | None:
    command = os.environ.get("LLMCTL_NVIDIA_SMI") or _on_path("nvidia-smi")
    if not command:
        return None
    import subprocess  # only where NVIDIA tools exist: status starts faster without it

    argv = [command, f"--query-gpu={NVIDIA_QUERY}", "--format=csv,noheader,nounits"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=NVIDIA_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as error:
        raise OSError(f"no answer within {NVIDIA_TIMEOUT_S:.0f} s") from error
    if done.returncode != 0:
        raise OSError(f"exit code {done.returncode}: {done.stderr.strip()[:200]}")
    return done.stdout


def _uevent(device: Path) -> dict[str, str]:
    lines = (_read_text(device / "uevent") or "").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _on_path(name: str) -> str | None:
    # os only: shutil.which would import shutil and its compression modules
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _card_number(path: Path) -> tuple[int, str]:
    digits = path.name[4:]
    return (int(digits), path.name) if digits.isdigit() else (1 << 30, path.name)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _read_int(path: Path) -> int | None:
    text = _read_text(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _mib(text: str) -> int | None:
    try:
        return int(float(text) * MIB)
    except ValueError:
        return None  # "[N/A]" on some cards
