"""llama-server's log read back: allocations per side, devices, offload, failures, runs."""

from __future__ import annotations

from llmctl.status.server_log import is_host_buffer, last_run, parse_runs, strip_prefixes


def parse_allocations(text: str):
    return parse_runs(text)[0]


GPU_LOG = """\
load_tensors: offloading output layer to GPU
load_tensors: offloading 31 repeating layers to GPU
load_tensors: offloaded 32/33 layers to GPU
load_tensors:   CPU_Mapped model buffer size =   281.81 MiB
load_tensors:        CUDA0 model buffer size =  4403.49 MiB
llama_context:  CUDA_Host  output buffer size =     0.58 MiB
llama_kv_cache_iswa: creating non-SWA KV cache, size = 8192 cells
llama_kv_cache:      CUDA0 KV buffer size =     4.00 MiB
llama_kv_cache: size =    4.00 MiB (  8192 cells,   2 layers,  4/1 seqs), K (f16):    2.00 MiB, V (f16):    2.00 MiB
llama_kv_cache_iswa: creating     SWA KV cache, size = 2560 cells
llama_kv_cache:      CUDA0 KV buffer size =     6.25 MiB
llama_kv_cache: size =    6.25 MiB (  2560 cells,  10 layers,  4/1 seqs), K (f16):    3.12 MiB, V (f16):    3.12 MiB
llama_memory_recurrent:      CUDA0 RS buffer size =    90.40 MiB
sched_reserve:      CUDA0 compute buffer size =   560.00 MiB
sched_reserve:  CUDA_Host compute buffer size =    24.01 MiB
"""


def test_sums_per_kind_and_side():
    found = parse_allocations(GPU_LOG)
    assert found.offloaded == (32, 33)
    assert found.mib("model") == 4685.30
    assert found.mib("model", device="gpu") == 4403.49
    assert found.mib("KV") == 10.25  # base + SWA cache lines summed
    assert found.mib("RS") == 90.40
    assert found.mib("compute", device="host") == 24.01
    assert [c["cells"] for c in found.kv_caches] == [8192, 2560]
    assert found.total_mib == round(4685.30 + 10.25 + 90.40 + 584.01 + 0.58, 2)


def test_a_reload_is_not_counted_twice():
    twice = GPU_LOG + "load_tensors:        CUDA0 model buffer size =  4403.49 MiB\n"
    runs = parse_runs(twice)
    assert [run.mib("model") for run in runs] == [4685.30, 4403.49]


def test_prefixes_of_the_journal_and_of_llama_cpp_are_stripped():
    line = (
        "Dec 01 09:12:44 strix-halo local-llm-chat[2211]: 0.02.931.553 I load_tensors: offloaded 37/37 layers to GPU"
    )
    assert strip_prefixes(line) == "load_tensors: offloaded 37/37 layers to GPU"
    iso = "2026-12-01T09:12:44+0000 nas-01 llama-swap[913]: load_tensors: offloaded 5/33 layers to GPU"
    assert strip_prefixes(iso) == "load_tensors: offloaded 5/33 layers to GPU"


def test_a_journal_with_several_starts_is_split_per_model():
    first = "ggml_cuda_init: found 1 ROCm devices:\nsrv    load_model: loading model '/m/a.gguf'\n" + GPU_LOG
    second = "ggml_cuda_init: found 1 ROCm devices:\nsrv    load_model: loading model '/m/b.gguf'\n"
    second += "load_tensors:   CPU_Mapped model buffer size =   100.00 MiB\n"
    runs = parse_runs(first + second + first)
    assert [run.model for run in runs] == ["/m/a.gguf", "/m/b.gguf", "/m/a.gguf"]
    assert last_run(first + second, "b.gguf").mib("model") == 100.00
    assert last_run(first + second, "c.gguf") is None


def test_host_buffer_names():
    for name in ("CPU", "CPU_Mapped", "CPU_REPACK", "AMX", "CUDA_Host", "ROCm_Host"):
        assert is_host_buffer(name)
    for name in ("CUDA0", "ROCm1", "Vulkan0", "MTL0_Mapped"):
        assert not is_host_buffer(name)
