"""The monitoring nix/lib generates, run for real: Prometheus (Debian's) scraping the
local stack (Envoy and three llama-servers with --metrics), `llmctl exporter` and the
node exporter (drm collector over a recorded amdgpu sysfs tree), with the scrape jobs,
rules and dashboard of `lib.monitoring`. After a few requests every query of the
dashboard and every recording rule returns data; a killed backend fires its alerts.

Intervals are short and every alert's `for` is 0s in this spec, so Prometheus gets
there in seconds; the waits are guards (a generous deadline), never measurements."""

from __future__ import annotations

import html
import json
import time

import pytest

from testkit.dashboard_preview import render_html
from testkit.local_stack import MODEL_NAMES
from testkit.monitored_stack import monitored_stack
from testkit.openai_client import chat, embed, rerank


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    """The local stack, its exporters and Prometheus, up and scraped, with traffic sent."""
    with monitored_stack(tmp_path_factory.mktemp("monitored")) as running:
        base = running.stack.base_url
        running.generated["since"] = time.time()
        for text in ("one", "two", "three"):
            assert chat(base, "gpt-4o", text, max_tokens=8).status == 200
            assert embed(base, "text-embedding-3-small", text).status == 200
        assert rerank(base, "rerank-english-v3.0", "which", ["a", "b"]).status == 200
        # Envoy publishes its histograms when it flushes its stats (every 5 s).
        running.prometheus.wait_for(
            "Envoy's latency histograms scraped",
            lambda: running.prometheus.query(
                'sum(envoy_vhost_route_upstream_rq_time_count{envoy_route="model-chat"}) >= 3'
            ),
        )
        yield running.stack, running.prometheus, running.generated


def test_prometheus_scrapes_exactly_the_stacks_services(monitored):
    stack, prometheus, _ = monitored
    scraped = {(t["labels"]["job"], t["scrapeUrl"].split("/")[2]) for t in prometheus.targets()}
    monitoring = stack.spec["monitoring"]
    port = {name: url.rsplit(":", 1)[1] for name, url in stack.endpoints.items()}
    assert scraped == {
        ("local-llm-gateway", f"127.0.0.1:{stack.metrics_port}"),
        ("local-llm-llama-server", f"127.0.0.1:{port['chat']}"),
        ("local-llm-llama-server", f"127.0.0.1:{port['embedding']}"),
        ("local-llm-llama-server", f"127.0.0.1:{port['rerank']}"),
        ("local-llm-exporter", f"127.0.0.1:{monitoring['exporter']['port']}"),
        ("node", f"127.0.0.1:{monitoring['nodeExporter']['port']}"),
    }
    # Each dedicated server's samples carry its model, so the gateway's figures join them.
    models = {
        r["metric"]["model"] for r in prometheus.query('llamacpp:tokens_predicted_total{job="local-llm-llama-server"}')
    }
    assert models == set(MODEL_NAMES.values())


def test_every_dashboard_query_and_recording_rule_returns_data(monitored):
    _, prometheus, generated = monitored
    recorded = [rule for group in generated["rules"]["groups"] for rule in group["rules"] if "record" in rule]
    expressions = {**generated["queries"], **{rule["record"]: rule["expr"] for rule in recorded}}
    assert {"requestsPerRoute", "latencyP95PerRoute", "tokensPerSecond", "gpuMemoryUsed"} <= set(expressions)
    for name, expr in expressions.items():
        prometheus.wait_for(
            f"{name}: {expr} returns data (a finite value)",
            lambda expr=expr: prometheus.values_since(expr, generated["since"]),
        )


def test_tokens_per_second_per_model_and_per_route_figures(monitored):
    """The recorded token rate saw the chat model generate; requests are counted per route
    and per model through the gateway."""
    _, prometheus, _ = monitored
    chat_model = MODEL_NAMES["chat"]
    peak = prometheus.wait_for(
        "a token rate for the chat model",
        lambda: prometheus.query(
            f'max_over_time(model:llamacpp_tokens_predicted:rate{{model="{chat_model}"}}[10m]) > 0'
        ),
    )
    assert float(peak[0]["value"][1]) > 0
    routes = prometheus.wait_for(
        "requests per route",
        lambda: prometheus.query("sum by (envoy_route, model) (envoy_vhost_route_upstream_rq_total)"),
    )
    counted = {(r["metric"].get("envoy_route"), r["metric"].get("model")): float(r["value"][1]) for r in routes}
    assert counted[("model-chat", chat_model)] == 3
    assert counted[("model-embedding", MODEL_NAMES["embedding"])] == 3
    loaded = prometheus.query("local_llm_model_loaded == 1")
    assert {r["metric"]["model"] for r in loaded} == set(MODEL_NAMES.values())


def test_the_dashboard_shows_only_tested_queries(monitored):
    _, _, generated = monitored
    dashboard = generated["dashboard"]
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert sorted(exprs) == sorted(generated["queries"].values())
    json.dumps(dashboard)  # plain JSON, as Grafana's file provider reads it


def test_the_dashboard_preview_draws_every_panel_with_data(monitored):
    """The page docs/monitoring.md's screenshot is made from (testkit.dashboard_preview)."""
    _, prometheus, generated = monitored
    dashboard = generated["dashboard"]
    page = render_html(dashboard, prometheus, generated["since"] - 5, time.time(), step=1)
    sections = page.split("<section")[1:]
    assert len(sections) == len(dashboard["panels"])
    assert [s.split("<h2>")[1].split("</h2>")[0] for s in sections if "no data" in s] == []
    for panel in dashboard["panels"]:
        assert html.escape(panel["title"]) in page


def test_a_killed_backend_fires_its_alerts(monitored):
    """The embedding server killed, then started again for whatever runs after this test."""
    stack, prometheus, _ = monitored
    stack.servers["embedding"].kill()
    try:
        check_the_alerts_of_a_dead_embedding_server(prometheus)
    finally:
        stack.start_server("embedding")
        # Scraped again, and seen up by the exporter's sweeps too (its samples are a scrape behind).
        prometheus.wait_for("every target up again", lambda: all(t["health"] == "up" for t in prometheus.targets()))
        prometheus.wait_for("every service up for the exporter", lambda: prometheus.query("min(local_llm_up) == 1"))


def check_the_alerts_of_a_dead_embedding_server(prometheus) -> None:
    """Its alerts fire, and only its."""

    def firing():
        alerts = [a for a in prometheus.alerts() if a["state"] == "firing"]
        names = {
            (a["labels"]["alertname"], a["labels"].get("envoy_cluster_name") or a["labels"].get("model"))
            for a in alerts
        }
        wanted = {
            ("LocalLlmBackendDown", "embedding"),
            ("LocalLlmRouteUnavailable", "embedding"),
            ("LocalLlmTargetDown", MODEL_NAMES["embedding"]),
        }
        return alerts if wanted <= names else None

    alerts = prometheus.wait_for("the killed backend's alerts firing", firing)
    unavailable = next(a for a in alerts if a["labels"]["alertname"] == "LocalLlmRouteUnavailable")
    assert unavailable["labels"]["severity"] == "critical"
    assert unavailable["annotations"]["summary"] == "no healthy endpoint for the gateway's embedding backend"
    # The other backends are fine: nothing fires for them.
    others = {a["labels"].get("envoy_cluster_name") for a in alerts if "envoy_cluster_name" in a["labels"]}
    assert others == {"embedding"}
