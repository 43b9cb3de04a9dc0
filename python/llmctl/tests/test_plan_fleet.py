"""plan_fleet: -c / -ngl per model under one budget, and swap groups for what cannot co-reside."""

from __future__ import annotations

from llmctl.plan.budgets import Budget
from llmctl.plan.fleet import plan_fleet, size_model
from llmctl.plan.planner import FITS, HYBRID, PlanRequest
from testkit.plan_shapes import MIB, dense

GIB = 1024**3


def budget(gib: float) -> Budget:
    return Budget("test", int(gib * GIB), 64 * GIB, overhead_bytes=512 * MIB)


def test_small_model_gets_its_training_context_fully_offloaded():
    sizing = size_model(dense(n_layer=8, layer_bytes=50 * MIB), budget(24), PlanRequest(ctx=32768))
    assert (sizing.ctx, sizing.gpu_layers, sizing.verdict) == (32768, 9, FITS)
    assert sizing.server_args() == ["-c", "32768", "-ngl", "9"]


def test_context_shrinks_before_layers_leave_the_gpu():
    model = dense(n_layer=32, layer_bytes=200 * MIB)  # 6.6 GB weights, 128 KiB of KV per token
    sizing = size_model(model, budget(12))
    assert sizing.verdict == FITS and sizing.gpu_layers == 33
    assert 4096 <= sizing.ctx < model.n_ctx_train
    assert sizing.gpu_bytes + 1 * GIB <= 12 * GIB


def test_model_too_big_for_full_offload_is_hybrid_at_the_minimum_context():
    sizing = size_model(dense(n_layer=32, layer_bytes=400 * MIB), budget(8))
    assert sizing.verdict == HYBRID and sizing.ctx == 4096 and 0 < sizing.gpu_layers < 33


def test_models_that_cannot_be_resident_together_swap():
    models = {
        "big-a": dense(n_layer=32, layer_bytes=300 * MIB),
        "big-b": dense(n_layer=32, layer_bytes=300 * MIB),
        "small-c": dense(n_layer=4, layer_bytes=20 * MIB),
        "small-d": dense(n_layer=4, layer_bytes=20 * MIB),
    }
    fleet = plan_fleet(models, budget(16), PlanRequest(ctx=8192))
    assert set(fleet.sizing) == set(models)
    groups = [set(g) for g in fleet.groups]
    assert not any({"big-a", "big-b"} <= g for g in groups)  # ~10 GB each: never together on 16 GiB
    assert sorted(m for g in fleet.groups for m in g) == sorted(models)
    for members in fleet.groups:
        assert sum(fleet.sizing[m].gpu_bytes for m in members) + GIB <= 16 * GIB
    config = fleet.swap_groups()
    assert all(g["swap"] is False and g["exclusive"] is True for g in config.values())
    assert len(config) == len(fleet.groups) == 2


def test_everything_fits_together_needs_no_groups():
    models = {"a": dense(n_layer=4, layer_bytes=20 * MIB), "b": dense(n_layer=4, layer_bytes=20 * MIB)}
    fleet = plan_fleet(models, budget(48), PlanRequest(ctx=8192))
    assert fleet.groups == [["a", "b"]]
    assert fleet.swap_groups() == {}
