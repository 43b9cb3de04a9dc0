"""Is the GPU really used? A llama-server's log (or Ollama's /api/ps) against the
host's GPU backend and the plan.

The most reported failure of AMD hosts is a server that silently runs on the CPU:
ROCm finds no device it supports (gfx1151, gfx1201 on older ROCm releases), the
service user cannot open /dev/kfd or /dev/dri/renderD* (no `render` group), an
HSA_OVERRIDE_GFX_VERSION that makes the runtime load kernels the build lacks, a
Vulkan loader without a driver, or a CPU-only package. llama.cpp then logs a line
and carries on with every buffer in host memory. `judge_server` turns the log
(status.server_log) into a verdict with the cause and the next step;
`judge_ollama` does the same for Ollama's `size_vram` against `size`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmctl.stack import Endpoint, StackSpec
    from llmctl.status.server_log import ServerRun

GPU, PARTIAL, CPU, UNKNOWN = "gpu", "partial", "cpu", "unknown"
GPU_BACKENDS = ("rocm", "vulkan", "cuda")
LLAMA_SERVER_ROLES = ("chat", "embedding", "rerank")  # the spec's dedicated llama-servers


@dataclass(frozen=True)
class HostFacts:
    """What the checked host adds to the log (None: not known)."""

    device_access: bool | None = None  # the service user can open /dev/kfd and /dev/dri/renderD*
    hsa_override: str | None = None  # HSA_OVERRIDE_GFX_VERSION in the service environment
    unit: str | None = None


@dataclass(frozen=True)
class GpuUse:
    state: str  # gpu, partial, cpu, unknown
    ok: bool
    summary: str
    cause: str | None = None
    next_step: str | None = None

    def message(self) -> str:
        parts = [self.summary]
        if self.cause:
            parts.append(f"cause: {self.cause}")
        if self.next_step:
            parts.append(f"next: {self.next_step}")
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__}


def expects_gpu(backend: str | None) -> bool:
    return (backend or "cpu") in GPU_BACKENDS


def judge_server(
    run: ServerRun | None,
    backend: str | None,
    *,
    planned_layers: int | None = None,
    targets: tuple[str, ...] = (),
    facts: HostFacts = HostFacts(),
) -> GpuUse:
    """The verdict on one llama-server start. `planned_layers`: the -ngl the plan or
    the spec asked for (None: every layer); `targets`: the gfx targets of the build."""
    if not expects_gpu(backend):
        return GpuUse(CPU, True, "a CPU host: the model runs in host memory as planned")
    if run is None:
        return GpuUse(UNKNOWN, False, "no llama-server start in the log", next_step=_where_logs(facts))
    if run.quiet:
        return GpuUse(
            UNKNOWN,
            False,
            f"the server logs at verbosity {run.verbosity}, which hides llama.cpp's device and offload lines",
            next_step="start it with -lv 4 (the flag table's traceLog capability adds it)",
        )
    gpu_mib = run.gpu_mib
    offloaded = run.offloaded
    if gpu_mib > 0 and offloaded and offloaded[0] > 0:
        return _offload_verdict(run, offloaded, planned_layers, gpu_mib, targets, facts)
    if planned_layers == 0:
        return GpuUse(CPU, True, "-ngl 0 as planned: the model runs in host memory")
    cause, step = _cpu_cause(run, backend or "", targets, facts)
    devices = ", ".join(run.gpu_devices) or "no GPU device"
    return GpuUse(CPU, False, f"running on the CPU where a {backend} GPU was planned ({devices})", cause, step)


def _offload_verdict(
    run: ServerRun,
    offloaded: tuple[int, int],
    planned: int | None,
    gpu_mib: float,
    targets: tuple[str, ...],
    facts: HostFacts,
) -> GpuUse:
    done, total = offloaded
    devices = ", ".join(run.gpu_devices) or "a GPU"
    summary = f"{done}/{total} layers on {devices}, {gpu_mib:.0f} MiB on the GPU"
    wanted = total if planned is None else min(planned, total)
    if run.gpu_errors:
        cause = f"the GPU failed after loading: {run.gpu_errors[0]}"
        return GpuUse(GPU, False, summary, cause, _kernel_step(run, targets, facts))
    if done < wanted:
        return GpuUse(
            PARTIAL,
            False,
            summary,
            f"{wanted} layers were planned but only {done} were offloaded (-ngl or --fit lowered it)",
            "run `llmctl plan MODEL` for this GPU and context, and pass its -ngl (with -fit off)",
        )
    return GpuUse(GPU if done == total else PARTIAL, True, summary)


def _cpu_cause(run: ServerRun, backend: str, targets: tuple[str, ...], facts: HostFacts) -> tuple[str, str]:
    failure = "; ".join(run.backend_failures)
    if run.gpu_errors:
        return f"the GPU backend failed: {run.gpu_errors[0]}", _kernel_step(run, targets, facts)
    if backend == "rocm" and any("ROCm" in f for f in run.backend_failures):
        return _rocm_cause(failure, targets, facts)
    if backend == "cuda" and any("CUDA" in f for f in run.backend_failures):
        if "driver version is insufficient" in failure:
            return (
                f"{failure} (the NVIDIA driver is older than the CUDA runtime of the build)",
                "update the driver (hardware.nvidia.package) or use a llama-cpp built for its CUDA",
            )
        return (
            f"{failure}",
            "check `nvidia-smi` as the service user; the unit needs the /dev/nvidia* devices (DeviceAllow)",
        )
    if backend == "vulkan" and any("Vulkan" in f for f in run.backend_failures):
        cause = f"{failure}: no Vulkan driver (ICD) found, or the service cannot open /dev/dri/renderD*"
        if facts.device_access is False:
            cause = f"{failure}: the service user cannot open /dev/dri/renderD* (not in the render group)"
        return cause, "hardware.graphics.enable = true (Mesa RADV), and the render group for the service"
    if run.backend_failures:
        return (
            f"the GPU backend did not load: {failure}",
            "the llama-cpp package is incomplete or built for another runtime: rebuild it for this GPU",
        )
    if run.no_gpu_warning or run.cpu_only_build or not run.backends_loaded or run.backends_loaded == ["CPU"]:
        return (
            "this llama-server has no GPU backend (a CPU-only build: 'no usable GPU found')",
            f"use a {backend} build of llama.cpp (the gpu.backend option picks llama-cpp-{backend}; "
            "check llamaServer.binary)",
        )
    return ("llama.cpp offloaded nothing although a GPU backend loaded", "check -ngl and the log for errors")


def _rocm_cause(failure: str, targets: tuple[str, ...], facts: HostFacts) -> tuple[str, str]:
    if facts.device_access is False:
        return (
            f"{failure}: the service user cannot open /dev/kfd or /dev/dri/renderD* (not in the render group)",
            'give the unit SupplementaryGroups = [ "render" "video" ] (and DeviceAllow for /dev/kfd)',
        )
    target = ", ".join(targets) or "this GPU"
    if facts.hsa_override:
        return (
            f"{failure} with HSA_OVERRIDE_GFX_VERSION={facts.hsa_override}: the override names an ISA the "
            "runtime cannot run on this GPU",
            f"remove or correct HSA_OVERRIDE_GFX_VERSION (the build targets {target})",
        )
    return (
        f"{failure}: ROCm found no device it supports ({target}), or the service cannot open /dev/kfd",
        "check `rocminfo` as the service user: without the render group add it; for a GPU this ROCm does "
        "not support yet (gfx1151, gfx1201 on older releases) set HSA_OVERRIDE_GFX_VERSION or use the vulkan backend",
    )


def _kernel_step(run: ServerRun, targets: tuple[str, ...] = (), facts: HostFacts = HostFacts()) -> str:
    reported = ", ".join(run.gfx_targets)
    if facts.hsa_override or (reported and targets and not set(run.gfx_targets) & set(targets)):
        return (
            f"the runtime reports {reported or 'another ISA'} but the build has kernels for "
            f"{', '.join(targets) or 'other targets'}: fix HSA_OVERRIDE_GFX_VERSION or add the target to gpu.targets"
        )
    return "rebuild llama.cpp for this GPU's architecture (gpu.targets) and restart the service"


def _where_logs(facts: HostFacts) -> str:
    unit = facts.unit or "the unit"
    return f"check `journalctl -u {unit}`; the journal may have rotated since the model was loaded"


def planned_layers(spec: StackSpec, endpoint: Endpoint) -> int | None:
    """The -ngl the spec asks of a dedicated server (None: the profile's default, every layer)."""
    declared = spec.models.get(endpoint.model or "")
    layers = declared.gpu_layers if declared is not None else None
    return layers if isinstance(layers, int) else None


def server_verdict(
    journal: str, spec: StackSpec, endpoint: Endpoint, facts: HostFacts, model_path: str | None = None
) -> GpuUse:
    """The GPU verdict on the latest llama-server start in `journal` (of `model_path` when
    the journal holds several models, as llama-swap's does), against what the spec plans
    for `endpoint`: `llmctl status` and `llmctl verify` judge alike."""
    from llmctl.status.server_log import last_run  # its patterns compile only where a log is read

    return judge_server(
        last_run(journal, model_path),
        spec.gpu.backend,
        planned_layers=planned_layers(spec, endpoint) if endpoint.name in LLAMA_SERVER_ROLES else None,
        targets=spec.gpu.targets,
        facts=facts,
    )


def judge_ollama(models: list[dict[str, Any]], backend: str | None) -> list[tuple[str, GpuUse]]:
    """Per loaded model of Ollama's /api/ps: size_vram is the part in GPU memory."""
    verdicts = []
    for entry in models:
        name = str(entry.get("name") or entry.get("model") or "?")
        size, vram = entry.get("size"), entry.get("size_vram")
        if not isinstance(size, int) or not isinstance(vram, int) or size <= 0:
            verdicts.append((name, GpuUse(UNKNOWN, not expects_gpu(backend), "/api/ps has no size / size_vram")))
            continue
        share = f"{vram / size:.0%} of {size / 2**30:.1f} GiB in GPU memory"
        if not expects_gpu(backend):
            verdicts.append((name, GpuUse(CPU if vram == 0 else GPU, True, share)))
        elif vram == 0:
            verdicts.append(
                (
                    name,
                    GpuUse(
                        CPU,
                        False,
                        f"running on the CPU where a {backend} GPU was planned ({share})",
                        "Ollama found no usable GPU (its log says why: `journalctl -u ollama`, look for "
                        "'no compatible GPUs' or 'rocm'/'vulkan' discovery errors)",
                        f"use the ollama package for {backend} (gpu.backend picks ollama-{backend}; on gfx1151 "
                        "ROCm falls back, ollama-vulkan works) and the render group for the service",
                    ),
                )
            )
        elif vram < size:
            verdicts.append((name, GpuUse(PARTIAL, True, f"split between GPU and CPU ({share})")))
        else:
            verdicts.append((name, GpuUse(GPU, True, share)))
    return verdicts


def annotate(services: list, spec: StackSpec, deadline: float) -> None:
    """`llmctl status`: add each model server's GPU verdict (details["gpu_use"]) and make a
    CPU fallback where the spec plans a GPU a problem of the service."""
    backend = spec.gpu.backend
    if not expects_gpu(backend):
        return
    import time

    from llmctl.status.journal import unit_journal  # subprocess: only where a journal is read

    for service in services:
        if not service.enabled:
            continue
        verdicts: list[tuple[str, GpuUse]] = []
        ps = service.probes.get("ps") if service.kind == "ollama" else None
        if ps is not None and ps.ok and isinstance(ps.data, dict):
            verdicts = judge_ollama(list(ps.data.get("models") or []), backend)
        elif service.kind == "llama-server":
            endpoint = spec.endpoints.get(service.name)
            text = unit_journal(endpoint.unit, deadline - time.monotonic()) if endpoint and endpoint.unit else None
            if text:
                verdicts = [(service.name, server_verdict(text, spec, endpoint, HostFacts(unit=endpoint.unit)))]
        if verdicts:
            service.details["gpu_use"] = {name: verdict.to_json() for name, verdict in verdicts}
        for name, verdict in verdicts:
            if not verdict.ok and verdict.state != UNKNOWN:
                service.problem(f"{name}: {verdict.message()}")
