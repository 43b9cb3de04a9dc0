"""lib.monitoring's files checked by the real promtool: `check config` and `check rules`
on every seed host's output (monitoring on), and `test rules` on the alert and
recording logic with series written for each case (promtool's own clock: nothing here
waits)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testkit.nixeval import nix_eval
from testkit.nixeval_modules import SEED_HOSTS
from testkit.prometheus import RULES_FILE, promtool, write_config

GW = 'job="local-llm-gateway"'


def monitored(spec: dict, **monitoring) -> dict:
    return {**spec, "monitoring": {**spec.get("monitoring", {}), "enable": True, **monitoring}}


def generate(spec: dict) -> dict:
    return nix_eval(
        "{ config = lib.monitoring.prometheusConfig { inherit spec; }; rules = lib.monitoring.rules spec; }",
        spec=spec,
    )


@pytest.mark.parametrize("host", SEED_HOSTS)
@pytest.mark.parametrize(
    "exporters",
    [
        {},
        {"nodeExporter": {"enable": True}, "nvidiaExporter": {"enable": True}},
        {"nodeExporter": {"enable": False}, "exporter": {"enable": False}},
    ],
    ids=["default", "both-gpu-exporters", "no-exporters"],
)
def test_promtool_accepts_the_config_and_rules_of_every_seed_host(seed_specs, host, exporters, tmp_path):
    generated = generate(monitored(seed_specs[host], **exporters))
    config = write_config(tmp_path, generated["config"], generated["rules"])
    checked = promtool("check", "config", config)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 rule files found" in checked.stdout
    rules = promtool("check", "rules", tmp_path / RULES_FILE)
    assert rules.returncode == 0, rules.stdout + rules.stderr


def test_the_real_prometheus_loads_a_hosts_rules(seed_specs, prometheus):
    """Beyond promtool: Prometheus itself loads atlas's config and evaluates its rules."""
    generated = generate(seed_specs["atlas"])
    server = prometheus(generated["config"], generated["rules"])
    loaded = server.api("rules")["groups"]
    names = {rule["name"] for group in loaded for rule in group["rules"]}
    expected = {rule.get("record") or rule["alert"] for g in generated["rules"]["groups"] for rule in g["rules"]}
    assert names == expected and len(names) == 9
    jobs = {c["job_name"] for c in generated["config"]["scrape_configs"]}
    # Nothing of atlas runs here: the targets are known (and down), which is the point.
    server.wait_for("atlas's targets discovered", lambda: {t["labels"]["job"] for t in server.targets()} == jobs)


def test_llmctl_render_writes_files_promtool_accepts(seed_specs, tmp_path):
    """Off NixOS: the rendered prometheus.yml finds its rules file beside it."""
    from llmctl.render.evaluate import evaluate
    from llmctl.render.outputs import texts

    spec = seed_specs["atlas"]
    rendered = texts(evaluate(spec, binaries={"llama-server": spec["llamaServer"]["binary"]}))
    for name in ("prometheus/prometheus.yml", "prometheus/local-llm.rules.yml", "grafana/local-llm.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(rendered[Path(name)])
    checked = promtool("check", "config", tmp_path / "prometheus/prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 1 rule files found" in checked.stdout
    expected = nix_eval("lib.monitoring.grafanaDashboard spec", spec=spec)
    assert json.loads((tmp_path / "grafana/local-llm.json").read_text()) == expected


def test_promtool_rejects_a_broken_rule(tmp_path):
    """The check above can fail: a rule with a PromQL syntax error is refused."""
    (tmp_path / RULES_FILE).write_text(
        json.dumps({"groups": [{"name": "x", "rules": [{"record": "a:b", "expr": "sum by (model) (rate(x[1m])"}]}]})
    )
    assert promtool("check", "rules", tmp_path / RULES_FILE).returncode != 0


def alert_test(alertname: str, eval_time: str, *expected: tuple[dict, dict]) -> dict:
    return {
        "eval_time": eval_time,
        "alertname": alertname,
        "exp_alerts": [{"exp_labels": labels, "exp_annotations": notes} for labels, notes in expected],
    }


def run_rule_tests(tmp_path, rules: dict, tests: list[dict]) -> None:
    (tmp_path / RULES_FILE).write_text(json.dumps(rules))
    (tmp_path / "tests.yml").write_text(
        json.dumps({"rule_files": [RULES_FILE], "evaluation_interval": "15s", "tests": tests})
    )
    done = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_gateway_alerts(seed_specs, tmp_path):
    """atlas: chat has a fallback (2 endpoints), llama-swap one. A chat endpoint down is a
    backend down, not a route without endpoints; llama-swap down is both."""
    rules = generate(seed_specs["atlas"])["rules"]
    series = [
        (f'envoy_cluster_membership_total{{{GW},envoy_cluster_name="chat"}}', "2x10"),
        (f'envoy_cluster_membership_healthy{{{GW},envoy_cluster_name="chat"}}', "2 2 1x8"),
        (f'envoy_cluster_membership_total{{{GW},envoy_cluster_name="llamaSwap"}}', "1x10"),
        (f'envoy_cluster_membership_healthy{{{GW},envoy_cluster_name="llamaSwap"}}', "1 1 0x8"),
    ]
    chat = {"job": "local-llm-gateway", "envoy_cluster_name": "chat", "severity": "warning"}
    swap = {**chat, "envoy_cluster_name": "llamaSwap"}

    def down(cluster: str, value: int) -> dict:
        return {
            "summary": f"gateway backend {cluster}: an endpoint fails its health check",
            "description": f"{value} endpoint(s) of {cluster} healthy; the gateway sends its requests to the"
            " remaining ones (fallbacks) while the rest are down.",
        }

    run_rule_tests(
        tmp_path,
        rules,
        [
            {
                "interval": "1m",
                "input_series": [{"series": name, "values": values} for name, values in series],
                "alert_rule_test": [
                    alert_test("LocalLlmBackendDown", "1m"),
                    alert_test("LocalLlmBackendDown", "5m", (chat, down("chat", 1)), (swap, down("llamaSwap", 0))),
                    alert_test(
                        "LocalLlmRouteUnavailable",
                        "5m",
                        (
                            {**swap, "severity": "critical"},
                            {
                                "summary": "no healthy endpoint for the gateway's llamaSwap backend",
                                "description": "Requests the gateway routes to llamaSwap fail with 503: none of its"
                                " endpoints passes the health check.",
                            },
                        ),
                    ),
                ],
            },
            {
                # Failed connections from minute 2 on (scraped every 15 s, as rate() needs).
                "interval": "15s",
                "input_series": [
                    {
                        "series": f'envoy_cluster_upstream_cx_connect_fail{{{GW},envoy_cluster_name="chat"}}',
                        "values": "0x8 1+1x40",
                    }
                ],
                "alert_rule_test": [
                    # They must last 5 minutes (its `for`).
                    alert_test("LocalLlmBackendErrors", "5m"),
                    alert_test(
                        "LocalLlmBackendErrors",
                        "9m",
                        (
                            {"envoy_cluster_name": "chat", "severity": "warning"},
                            {
                                "summary": "gateway backend chat answers with errors",
                                "description": "The gateway sees failed connections or 5xx answers from chat.",
                            },
                        ),
                    ),
                ],
            },
        ],
    )


@pytest.mark.parametrize(
    ("host", "used", "share"),
    [
        # A discrete card: VRAM only (GTT is spill-over).
        (
            "atlas",
            [("vram_used", "23.5e9x8"), ("vram_size", "24e9x8"), ("gtt_used", "1e9x8"), ("gtt_size", "64e9x8")],
            "97.92%",
        ),
        # Strix Halo: the model lives in GTT, VRAM is a 512 MiB carve-out (itself 80% full,
        # which alone would not fire).
        (
            "strix-halo",
            [("vram_used", "0.4e9x8"), ("vram_size", "0.5e9x8"), ("gtt_used", "120e9x8"), ("gtt_size", "124e9x8")],
            "96.71%",
        ),
    ],
)
def test_gpu_memory_alert_reads_the_pool_models_live_in(seed_specs, tmp_path, host, used, share):
    rules = generate(monitored(seed_specs[host]))["rules"]
    labels = {"job": "node", "instance": "127.0.0.1:9100", "card": "card1"}
    names = {
        "vram_used": "node_drm_memory_vram_used_bytes",
        "vram_size": "node_drm_memory_vram_size_bytes",
        "gtt_used": "node_drm_memory_gtt_used_bytes",
        "gtt_size": "node_drm_memory_gtt_size_bytes",
    }
    shown = ",".join(f'{k}="{v}"' for k, v in labels.items())
    run_rule_tests(
        tmp_path,
        rules,
        [
            {
                "interval": "1m",
                "input_series": [{"series": f"{names[key]}{{{shown}}}", "values": values} for key, values in used],
                "alert_rule_test": [
                    alert_test("LocalLlmGpuMemoryHigh", "3m"),  # not yet for 5 minutes
                    alert_test(
                        "LocalLlmGpuMemoryHigh",
                        "7m",
                        (
                            {**labels, "severity": "warning"},
                            {
                                "summary": "GPU memory above 95%",
                                "description": f"127.0.0.1:9100 card1: {share} of the GPU's memory in use; the next"
                                " model load may fail or spill to the CPU.",
                            },
                        ),
                    ),
                ],
            }
        ],
    )


def test_swapping_cpu_fallback_target_down_and_token_rates(seed_specs, tmp_path):
    rules = generate(seed_specs["atlas"])["rules"]
    exporter = 'job="local-llm-exporter",instance="127.0.0.1:9903"'
    server = 'job="local-llm-llama-server",instance="127.0.0.1:8000",model="qwen3-coder",role="chat",service="chat"'
    series = [
        # Loaded and unloaded every minute: 10 changes = 5 loads within the hour.
        (f'local_llm_model_loaded{{{exporter},service="llamaSwap",model="thrash"}}', "0 1 0 1 0 1 0 1 0 1 0"),
        # Loaded once and kept.
        (f'local_llm_model_loaded{{{exporter},service="llamaSwap",model="steady"}}', "0 1x10"),
        # llmctl's GPU-use verdicts: the dedicated chat model on the CPU, Ollama's on the GPU.
        (f'local_llm_model_gpu_use{{{exporter},service="chat",model="qwen3-coder",state="cpu"}}', "1x10"),
        (f'local_llm_model_gpu_use{{{exporter},service="ollama",model="llama3.2:3b",state="gpu"}}', "1x10"),
        (f"up{{{server}}}", "1 1 0x8"),
    ]
    loaded = {"job": "local-llm-exporter", "instance": "127.0.0.1:9903"}
    run_rule_tests(
        tmp_path,
        rules,
        [
            {
                "interval": "1m",
                "input_series": [{"series": name, "values": values} for name, values in series],
                "alert_rule_test": [
                    alert_test(
                        "LocalLlmModelSwapping",
                        "10m",
                        (
                            {**loaded, "service": "llamaSwap", "model": "thrash", "severity": "warning"},
                            {
                                "summary": "thrash is loaded and unloaded again and again",
                                "description": "llamaSwap loaded thrash 5 times within an hour: the models in use"
                                " do not fit in memory together; put them in one llama-swap group, raise their ttl,"
                                " or lower their context.",
                            },
                        ),
                    ),
                    alert_test("LocalLlmModelOnCpu", "4m"),
                    alert_test(
                        "LocalLlmModelOnCpu",
                        "6m",
                        (
                            {
                                **loaded,
                                "service": "chat",
                                "model": "qwen3-coder",
                                "state": "cpu",
                                "severity": "critical",
                            },
                            {
                                "summary": "qwen3-coder runs without GPU layers",
                                "description": "chat serves qwen3-coder on the CPU, where the plan puts its layers on"
                                " the GPU (rocm): `llmctl status` names the cause and the next step.",
                            },
                        ),
                    ),
                    alert_test("LocalLlmTargetDown", "3m"),
                    alert_test(
                        "LocalLlmTargetDown",
                        "5m",
                        (
                            {
                                "job": "local-llm-llama-server",
                                "instance": "127.0.0.1:8000",
                                "model": "qwen3-coder",
                                "role": "chat",
                                "service": "chat",
                                "severity": "warning",
                            },
                            {
                                "summary": "local-llm-llama-server target 127.0.0.1:8000 is down",
                                "description": "Prometheus cannot scrape 127.0.0.1:8000 (job local-llm-llama-server):"
                                " the service is stopped or does not listen there.",
                            },
                        ),
                    ),
                ],
            },
            {
                # 10 tokens/s from the dedicated server, 2/s from a model llama-swap runs
                # (as llmctl exporter labels it); a counter reset (a reload) is no drop.
                "interval": "15s",
                "input_series": [
                    {
                        "series": f"llamacpp:tokens_predicted_total{{{server}}}",
                        "values": "0+150x40",
                    },
                    {
                        "series": f'llamacpp:tokens_predicted_total{{{exporter},service="llamaSwap",model="small"}}',
                        "values": "0+30x20 0+30x20",
                    },
                ],
                "promql_expr_test": [
                    {
                        "expr": "model:llamacpp_tokens_predicted:rate",
                        "eval_time": "8m",
                        "exp_samples": [
                            {"labels": 'model:llamacpp_tokens_predicted:rate{model="qwen3-coder"}', "value": 10},
                            {"labels": 'model:llamacpp_tokens_predicted:rate{model="small"}', "value": 2},
                        ],
                    }
                ],
            },
        ],
    )


def test_a_model_run_on_the_cpu_on_purpose_is_not_an_alert(seed_specs):
    spec = json.loads(json.dumps(seed_specs["strix-halo"]))
    spec["models"]["bge-reranker"]["gpuLayers"] = 0
    rules = generate(monitored(spec))["rules"]
    cpu = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "LocalLlmModelOnCpu")
    assert 'model!~"bge-reranker"' in cpu["expr"]
    cpu_host = generate(monitored({"gpu": {"profile": "cpu"}, "gateway": {"enable": False}}))["rules"]
    assert "LocalLlmModelOnCpu" not in {r.get("alert") for g in cpu_host["groups"] for r in g["rules"]}


def test_scrape_jobs_follow_the_spec(seed_specs):
    def jobs(spec):
        return {job["job_name"]: job for job in nix_eval("lib.monitoring.scrapeConfigs spec", spec=spec)}

    nas = jobs(monitored(seed_specs["nas-01"]))
    # No gateway and no dedicated server on nas-01: llama-swap and the exporters.
    assert set(nas) == {"local-llm-llama-swap", "local-llm-exporter", "node"}
    assert nas["local-llm-exporter"]["honor_labels"] is True
    strix = jobs(monitored(seed_specs["strix-halo"], nodeExporter={"enable": True}))
    servers = strix["local-llm-llama-server"]["static_configs"]
    assert {(c["targets"][0], c["labels"]["model"], c["labels"]["role"]) for c in servers} == {
        ("127.0.0.1:8000", "devstral", "chat"),
        ("127.0.0.1:8001", "qwen3-embedding", "embedding"),
        ("127.0.0.1:8002", "bge-reranker", "rerank"),
    }
    # The gateway's clusters and the routes to them get the model they serve.
    relabel = {
        (r["source_labels"][0], r["regex"]): r["replacement"]
        for r in strix["local-llm-gateway"]["metric_relabel_configs"]
    }
    assert relabel[("envoy_cluster_name", "chat")] == "devstral"
    assert relabel[("envoy_route", "model-chat")] == "devstral"
    assert relabel[("envoy_route", "embeddings")] == "qwen3-embedding"
    assert strix["node"]["static_configs"][0]["targets"] == ["127.0.0.1:9100"]
    # LiteLLM as the gateway exports no Prometheus metrics (an enterprise feature): no job.
    litellm = {**seed_specs["strix-halo"], "gateway": {**seed_specs["strix-halo"]["gateway"], "kind": "litellm"}}
    assert "local-llm-gateway" not in jobs(monitored(litellm))
    rules = generate(monitored(litellm))["rules"]
    assert not [r for g in rules["groups"] for r in g["rules"] if "envoy_" in r["expr"]]


def test_gpu_series_fall_back_to_llama_swaps_own(seed_specs):
    """Without the node or nvidia exporter, llama-swap's /metrics has the GPU figures."""
    queries = nix_eval(
        "lib.monitoring.queries spec", spec=monitored(seed_specs["nas-01"], nodeExporter={"enable": False})
    )
    assert queries["gpuMemoryUsed"] == "(llamaswap_gpu_memory_used_bytes)"
    assert "requestsPerRoute" not in queries, "no gateway on nas-01: no gateway panels"
