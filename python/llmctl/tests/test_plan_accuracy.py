"""The planner against the real llama-server: KV exact, weights within 1 %, total within 5 %."""

from __future__ import annotations

import pytest

from testkit.plan_accuracy import CASES, LOG_ARGS, compare, write_models


@pytest.fixture(scope="module")
def accuracy_models(tiny_models, tmp_path_factory):
    existing = {"llama": tiny_models.chat, "gemma3": tiny_models.gemma3, "split": tiny_models.split[0]}
    return write_models(tmp_path_factory.mktemp("plan-accuracy"), existing)


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_plan_matches_llama_server_allocations(case, accuracy_models, llama_server):
    server = llama_server(accuracy_models[case.model], [*LOG_ARGS, *case.args])
    result = compare(case, accuracy_models[case.model], server.log())

    assert result.cells_actual, "llama-server logged no KV cache line"
    assert result.cells_estimate == result.cells_actual
    assert result.kv_estimate == pytest.approx(result.kv_actual, abs=0.001)
    assert result.weights_estimate == pytest.approx(result.weights_actual, rel=0.01)
    assert result.total_estimate == pytest.approx(result.total_actual, rel=0.05)
    # Conservative: the plan never promises less than llama.cpp takes (beyond log rounding).
    assert result.total_estimate >= result.total_actual - 0.05
