"""The planner at real model scale against the real llama-server.

The matrix (testkit.real_scale): every case's KV cache and weights exact, the
compute buffer within 10 %, the total never below what llama-server allocates and
at most 3 % above. Expert offload (testkit.expert_offload): a MoE model that does
not fit the GPU is planned with its experts in host memory and started with the
plan's own flags on a second ggml device; the device's figures within the same
bounds. The cases of one model run back to back (its sparse file is faulted into
the page cache once) and its pages are dropped after the last.
bench/plan_real_scale.py prints the same cases as tables.
"""

from __future__ import annotations

import pytest

from testkit import expert_offload, real_scale
from testkit.sparse_models import SHAPES, drop_page_cache, write_shape

LOG_ROUNDING_MIB = 0.01  # each logged buffer is %.2f MiB
ORDER = list(SHAPES)
SEQUENCE = tuple(sorted(real_scale.CASES + expert_offload.CASES, key=lambda case: ORDER.index(case.model)))


def case_id(case) -> str:
    return ("offload: " if isinstance(case, expert_offload.OffloadCase) else "") + case.label


@pytest.fixture(scope="module")
def sparse_root(tmp_path_factory):
    return tmp_path_factory.mktemp("sparse-models")


@pytest.mark.parametrize("case", SEQUENCE, ids=[case_id(case) for case in SEQUENCE])
def test_plan_against_llama_server(case, sparse_root, tmp_path):
    model = write_shape(case.model, sparse_root)
    try:
        if isinstance(case, expert_offload.OffloadCase):
            check_expert_offload(expert_offload.run_offload(model, case, tmp_path))
        else:
            run = real_scale.run_server(model, case.args, tmp_path)
            check_matrix_row(
                real_scale.compare(case, real_scale.plan_json(model, case, in_process=True), run.log, run)
            )
    finally:
        if real_scale.last_case_of_its_model(case, SEQUENCE):
            drop_page_cache(model)


def check_matrix_row(row: real_scale.Row) -> None:
    kv_estimate, kv_actual = row.kv
    assert kv_actual > 0, "llama-server logged no KV cache or recurrent state"
    assert kv_estimate == pytest.approx(kv_actual, abs=LOG_ROUNDING_MIB)
    assert row.weights[0] == pytest.approx(row.weights[1], abs=LOG_ROUNDING_MIB)
    assert row.compute[0] == pytest.approx(row.compute[1], rel=0.10)
    total_estimate, total_actual = row.total
    assert total_estimate >= total_actual - LOG_ROUNDING_MIB, "the plan promises less than llama.cpp takes"
    assert total_estimate <= total_actual * 1.03


def check_expert_offload(row: expert_offload.OffloadRow) -> None:
    assert "--n-cpu-moe" in row.server_args, "a MoE model that does not fit keeps experts in host memory"
    n_layer_all = row.offloaded[1]
    assert row.offloaded == (n_layer_all, n_layer_all), "every layer stays on the GPU"
    assert row.moved_tensors == row.expected_moved, "llama.cpp moved other tensors than the plan keeps on the host"
    assert row.gpu_weights[0] == pytest.approx(row.gpu_weights[1], abs=0.05)
    assert row.gpu_kv[0] == pytest.approx(row.gpu_kv[1], abs=LOG_ROUNDING_MIB)
    assert row.gpu_compute[0] == pytest.approx(row.gpu_compute[1], rel=0.10)
    assert row.host_compute[0] == pytest.approx(row.host_compute[1], rel=0.10)
    estimate, logged = row.gpu_total
    assert logged - LOG_ROUNDING_MIB <= estimate <= logged * 1.03
    experts, floor_mib = row.host_experts  # each moved tensor is logged rounded down to MiB
    assert floor_mib <= experts < floor_mib + row.moved_tensors
