"""The planner at real model scale against the real llama-server (tests/testkit/real_scale.py).

Every case of the matrix: KV cache and weights exact, the compute buffer within
10 %, the total never below what llama-server allocates and at most 3 % above.
bench/plan_real_scale.py prints the same cases as a table.
"""

from __future__ import annotations

import pytest

from testkit.real_scale import CASES, compare, last_case_of_its_model, plan_json, run_server
from testkit.sparse_models import drop_page_cache, write_shape

LOG_ROUNDING_MIB = 0.01  # each logged buffer is %.2f MiB


@pytest.fixture(scope="module")
def sparse_root(tmp_path_factory):
    return tmp_path_factory.mktemp("sparse-models")


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_plan_is_within_bounds_of_the_logged_allocation(case, sparse_root, tmp_path):
    model = write_shape(case.model, sparse_root)
    try:
        run = run_server(model, case.args, tmp_path)
        row = compare(case, plan_json(model, case, in_process=True), run.log, run)
    finally:
        if last_case_of_its_model(case):
            drop_page_cache(model)

    kv_estimate, kv_actual = row.kv
    assert kv_actual > 0, "llama-server logged no KV cache or recurrent state"
    assert kv_estimate == pytest.approx(kv_actual, abs=LOG_ROUNDING_MIB)
    assert row.weights[0] == pytest.approx(row.weights[1], abs=LOG_ROUNDING_MIB)
    assert row.compute[0] == pytest.approx(row.compute[1], rel=0.10)
    total_estimate, total_actual = row.total
    assert total_estimate >= total_actual - LOG_ROUNDING_MIB, "the plan promises less than llama.cpp takes"
    assert total_estimate <= total_actual * 1.03
