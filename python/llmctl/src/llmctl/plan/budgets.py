"""Memory budgets of the GPUs local-llm targets (`llmctl plan --gpu PROFILE`).

`memory_gib` is what llama.cpp can allocate on the device. On unified-memory
APUs (Strix Halo) that is the GTT/TTM limit the kernel allows the GPU, not the
BIOS carve-out. `overhead_mib` is the runtime/driver context that llama.cpp
never logs (ollama reserves 457 MiB on CUDA/ROCm, gguf-parser-go 250 MiB).
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3
MIB = 1024**2
FREE_MARGIN_MIB = 1024  # like llama.cpp --fit-target (common/common.h fit_params_target)


@dataclass(frozen=True)
class GpuProfile:
    name: str
    description: str
    memory_gib: float | None  # None: the host's RAM (cpu profile)
    unified_memory: bool = False
    overhead_mib: int = 512

    @property
    def is_cpu(self) -> bool:
        return self.memory_gib is None


PROFILES = {
    p.name: p
    for p in (
        GpuProfile("strix-halo", "AMD Ryzen AI Max (Strix Halo), unified memory, GTT limit 120 GiB", 120, True),
        GpuProfile("radeon-r9700", "AMD Radeon AI PRO R9700, 32 GiB", 32),
        GpuProfile("rx-7900xtx", "AMD Radeon RX 7900 XTX, 24 GiB", 24),
        GpuProfile("rx-7600", "AMD Radeon RX 7600, 8 GiB", 8),
        GpuProfile("nvidia", "NVIDIA GPU, 24 GiB unless --gpu-mem says otherwise", 24),
        GpuProfile("cpu", "no GPU: everything in host RAM", None, overhead_mib=0),
    )
}


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
