"""Memory budgets: the GPU profiles local-llm targets and the budget a plan is made against.

The figures live in `data/gpu-profiles.json`, which nix/lib/hardware.nix reads too.
A profile's `memory_gib` is what llama.cpp can allocate on the device. On
unified-memory APUs (Strix Halo) that is the GTT/TTM limit the kernel allows the GPU,
not the BIOS carve-out: RAM minus the OS reserve, the same rule the NixOS module's
kernel parameters apply; without the host's RAM the profile's reference RAM is assumed.
`overhead_mib` is the runtime/driver context that llama.cpp never logs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from llmctl.datafiles import read_json

GIB = 1024**3
MIB = 1024**2
FREE_MARGIN_MIB = 1024  # like llama.cpp --fit-target (common/common.h fit_params_target)
GPU_PROFILES = "gpu-profiles.json"


@dataclass(frozen=True)
class GpuProfile:
    name: str
    description: str
    memory_gib: float | None  # None: the host's RAM (cpu profile)
    unified_memory: bool = False
    overhead_mib: int = 512
    os_reserve_gib: float = 0  # unified memory: RAM the GPU may not map

    @property
    def is_cpu(self) -> bool:
        return self.memory_gib is None

    def memory_for_ram(self, ram_gib: float) -> float | None:
        """The GPU budget on a host with `ram_gib` of RAM (what nix/lib's `hardware` gives)."""
        return ram_gib - self.os_reserve_gib if self.unified_memory else self.memory_gib


def _profile(name: str, figures: dict[str, Any], os_reserve_gib: float) -> GpuProfile:
    unified = figures["unifiedMemory"]
    memory = figures["memoryGiB"]
    if unified and memory is None:
        memory = figures["referenceRamGiB"] - os_reserve_gib
    return GpuProfile(
        name, figures["description"], memory, unified, figures["overheadMiB"], os_reserve_gib if unified else 0
    )


def _load() -> dict[str, GpuProfile]:
    document = read_json(GPU_PROFILES)
    return {name: _profile(name, figures, document["osReserveGiB"]) for name, figures in document["profiles"].items()}


PROFILES = _load()


def host_memory_bytes() -> int:
    """MemTotal from /proc/meminfo (the cpu profile's budget)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 16 * GIB


@dataclass(frozen=True)
class Budget:
    profile: str
    gpu_bytes: int | None  # None: CPU only, the budget is host RAM
    host_bytes: int
    unified_memory: bool = False
    overhead_bytes: int = 512 * MIB
    margin_bytes: int = FREE_MARGIN_MIB * MIB

    @classmethod
    def from_profile(cls, profile: GpuProfile, gpu_gib: float | None = None) -> Budget:
        host = host_memory_bytes()
        if profile.is_cpu and gpu_gib is None:
            return cls(profile.name, None, host, overhead_bytes=0)
        gib = gpu_gib if gpu_gib is not None else profile.memory_gib
        return cls(profile.name, int(gib * GIB), host, profile.unified_memory, profile.overhead_mib * MIB)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def budget_profile(profile_name: str | None, gpu_gib: float | None, stack_gpu=None) -> tuple[GpuProfile, float | None]:
    """The profile and GPU memory to plan against: --gpu / --gpu-mem first, then
    the stack spec's `gpu` section, else the cpu profile."""
    if profile_name is not None:
        return PROFILES[profile_name], gpu_gib
    if stack_gpu is not None and (stack_gpu.profile in PROFILES or stack_gpu.memory_gib is not None):
        base = PROFILES.get(stack_gpu.profile or "")
        if base is None:
            cpu = stack_gpu.backend == "cpu"
            base = PROFILES["cpu"] if cpu and stack_gpu.memory_gib is None else PROFILES["nvidia"]
            base = GpuProfile(
                stack_gpu.profile or stack_gpu.backend,
                "from the stack spec",
                base.memory_gib,
                stack_gpu.unified_memory,
                base.overhead_mib,
            )
        return base, gpu_gib if gpu_gib is not None else stack_gpu.memory_gib
    if gpu_gib is not None:
        return GpuProfile("custom", "--gpu-mem", gpu_gib), gpu_gib
    return PROFILES["cpu"], None


def budget_for(profile_name: str | None, gpu_gib: float | None, stack_gpu=None) -> Budget:
    """The budget `llmctl plan` and discovery's autoSize plan against (see budget_profile)."""
    return Budget.from_profile(*budget_profile(profile_name, gpu_gib, stack_gpu))
