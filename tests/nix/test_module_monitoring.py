"""services.local-llm.monitoring in the module tier: the scrape targets Prometheus gets
are exactly the host's services, every llama-server runs with --metrics, the rules and
the dashboard are nix/lib's, upstream's options keep their types and a host overrides
what we default."""

from __future__ import annotations

import json

import pytest

from testkit.nixeval import nix_eval
from testkit.nixeval_modules import ModuleEvalError, evaluate_host

# Endpoints of stack.json that export Prometheus metrics: the gateway's metrics
# listener, every llama-server, llama-swap. (Ollama and Open WebUI export none.)
METRIC_ENDPOINTS = ("gatewayMetrics", "chat", "embedding", "rerank", "llamaSwap")


def host_file(tmp_path, text: str):
    host = tmp_path / "host.nix"
    host.write_text(text)
    return host


def hostport(url: str) -> str:
    return url.split("//", 1)[1].rstrip("/")


def scraped(summary: dict) -> set[tuple[str, str]]:
    return {
        (job["job_name"], target)
        for job in summary["prometheus"]["scrapeConfigs"]
        for group in job["static_configs"]
        for target in group["targets"]
    }


def test_scrape_targets_are_exactly_the_hosts_services(atlas):
    """atlas runs the gateway, a dedicated chat server and llama-swap, with monitoring on:
    the targets are where stack.json and upstream's exporter options say they listen."""
    endpoints = atlas["stackJson"]["endpoints"]
    exporters = atlas["prometheus"]["exporters"]
    monitoring = atlas["stackInput"]["monitoring"]
    service = {"gatewayMetrics": "gateway"}
    expected = {
        (service.get(name, name), hostport(endpoints[name]["url"])) for name in METRIC_ENDPOINTS if name in endpoints
    }
    expected |= {
        ("exporter", f"127.0.0.1:{monitoring['exporter']['port']}"),
        ("node", f"{exporters['node']['listenAddress']}:{exporters['node']['port']}"),
    }
    assert {name for name, _ in expected} == {"gateway", "chat", "llamaSwap", "exporter", "node"}
    labelled = {
        (group.get("labels", {}).get("service", "exporter"), target)
        for job in atlas["prometheus"]["scrapeConfigs"]
        for group in job["static_configs"]
        for target in group["targets"]
    }
    assert labelled == expected
    assert {job for job, _ in scraped(atlas)} == {
        "local-llm-gateway",
        "local-llm-llama-server",
        "local-llm-llama-swap",
        "local-llm-exporter",
        "node",
    }


def test_every_llama_server_has_metrics(atlas):
    assert atlas["stackJson"]["llamaServer"]["metrics"] is True  # llmctl discover's llama-swap cmds
    launcher = atlas["units"]["local-llm-chat"]["serviceConfig"]["ExecStart"]
    assert "--metrics" in atlas["files"][launcher]


def test_rules_dashboard_and_exporter_are_nix_libs(atlas):
    spec = atlas["stackInput"]
    expected = nix_eval(
        "{ rules = lib.monitoring.rules spec; dashboard = lib.monitoring.grafanaDashboard spec; }", spec=spec
    )
    (rule_file,) = atlas["prometheus"]["ruleFiles"]
    assert json.loads(rule_file["text"]) == expected["rules"]
    dashboard = atlas["etc"]["local-llm/grafana-dashboards/local-llm.json"]["text"]
    assert json.loads(dashboard) == expected["dashboard"]
    provision = atlas["grafana"]["provision"]
    assert (
        provision["dashboards"]["settings"]["providers"][0]["options"]["path"] == "/etc/local-llm/grafana-dashboards"
    )
    (source,) = provision["datasources"]["settings"]["datasources"]
    assert source["url"] == f"http://127.0.0.1:{atlas['prometheus']['port']}" and source["type"] == "prometheus"
    assert atlas["grafana"]["security"]["secret_key"] == "$__file{/run/secrets/grafana-secret-key}"
    exporter = atlas["units"]["local-llm-exporter"]
    port = spec["monitoring"]["exporter"]["port"]
    assert exporter["serviceConfig"]["ExecStart"].endswith(
        f"/bin/llmctl exporter --stack /etc/local-llm/stack.json --listen 127.0.0.1:{port}"
    )
    assert exporter["serviceConfig"]["User"] == "local-llm"
    assert exporter["serviceConfig"]["ProtectSystem"] == "strict"
    # Everything listens on loopback: Prometheus and the node exporter unlike upstream's default.
    assert atlas["prometheus"]["listenAddress"] == "127.0.0.1"
    assert atlas["prometheus"]["exporters"]["node"]["enabledCollectors"] == ["drm"]
    assert atlas["grafana"]["server"]["http_addr"] == "127.0.0.1"


def test_hosts_without_monitoring_run_no_prometheus(strix_halo, nas01):
    for summary in (strix_halo, nas01):
        assert summary["prometheus"]["enable"] is False and summary["grafana"]["enable"] is False
        assert "local-llm-exporter" not in summary["units"]
        assert "metrics" not in summary["stackJson"]["llamaServer"]


def test_host_overrides_what_monitoring_defaults(tmp_path):
    host = host_file(
        tmp_path,
        """{
  services.local-llm = {
    enable = true;
    gpu.profile = "nvidia";
    llamaSwap.enable = true;
    monitoring = { enable = true; grafana.enable = false; scrapeInterval = "30s"; };
  };
  services.prometheus.listenAddress = "0.0.0.0";
  services.prometheus.exporters.node.port = 9200;
  services.prometheus.globalConfig.scrape_interval = "1m";
}""",
    )
    summary = evaluate_host(host)
    assert summary["assertions"] == []
    assert summary["prometheus"]["listenAddress"] == "0.0.0.0"
    assert summary["prometheus"]["globalConfig"]["scrape_interval"] == "1m"
    # The scrape target follows upstream's option; NVIDIA hosts get the nvidia-gpu exporter.
    assert ("node", "127.0.0.1:9200") in scraped(summary)
    assert ("nvidia-gpu", "127.0.0.1:9835") in scraped(summary)
    assert summary["prometheus"]["exporters"]["nvidia-gpu"]["enable"] is True
    assert summary["grafana"]["enable"] is False


def test_grafana_without_a_secret_key_is_refused_with_the_reason(tmp_path):
    host = host_file(
        tmp_path, "{ services.local-llm = { enable = true; llamaSwap.enable = true; monitoring.enable = true; }; }"
    )
    failed = evaluate_host(host)["assertions"]
    assert any("services.local-llm.monitoring.grafana.secretKeyFile is not set" in message for message in failed)


def test_a_monitoring_port_clash_is_refused(tmp_path):
    host = host_file(
        tmp_path,
        "{ services.local-llm = { enable = true; llamaSwap = { enable = true; port = 9090; };"
        " monitoring = { enable = true; grafana.enable = false; }; }; }",
    )
    assert "services.local-llm: port 9090 is used by llama-swap and prometheus" in evaluate_host(host)["assertions"]


def test_upstream_types_refuse_a_wrong_scrape_config(tmp_path):
    """The declared upstream types are not decoration: a key scrape_config lacks is refused."""
    host = host_file(
        tmp_path,
        "{ services.local-llm.enable = true;"
        ' services.prometheus.scrapeConfigs = [ { job_name = "x"; static_config = [ ]; } ]; }',
    )
    with pytest.raises(ModuleEvalError, match="static_config"):
        evaluate_host(host)
