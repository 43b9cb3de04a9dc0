"""The llama.cpp allocation-log parser (used by plan's accuracy tests and bench)."""

from __future__ import annotations

from testkit.llama_log import is_host_buffer, parse_allocations

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
    assert found.offloaded_layers == (32, 33)
    assert found.mib("model") == 4685.30
    assert found.mib("model", device="gpu") == 4403.49
    assert found.mib("KV") == 10.25  # base + SWA cache lines summed
    assert found.mib("RS") == 90.40
    assert found.mib("compute", device="host") == 24.01
    assert [c["cells"] for c in found.kv_caches] == [8192, 2560]
    assert found.total_mib == round(4685.30 + 10.25 + 90.40 + 584.01 + 0.58, 2)


def test_a_reload_is_not_counted_twice():
    twice = GPU_LOG + "load_tensors:        CUDA0 model buffer size =  4403.49 MiB\n"
    assert parse_allocations(twice).mib("model") == 4685.30


def test_host_buffer_names():
    for name in ("CPU", "CPU_Mapped", "CPU_REPACK", "AMX", "CUDA_Host", "ROCm_Host"):
        assert is_host_buffer(name)
    for name in ("CUDA0", "ROCm1", "Vulkan0", "MTL0_Mapped"):
        assert not is_host_buffer(name)
