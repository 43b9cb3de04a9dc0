# Monitoring on a real NixOS: upstream Prometheus scrapes the gateway, the dedicated
# chat server, llmctl's exporter and the node exporter (all up), the token rate of the
# chat model is recorded after a completion, a stopped server fires its alerts, and
# Grafana serves the provisioned dashboard.
{ self, tinyModels }:
{
  name = "local-llm-monitoring";
  nodes.machine =
    { pkgs, ... }:
    {
      imports = [ (import ./_host.nix { inherit self; }) ];
      services.local-llm = {
        models.tiny-chat = {
          source = "file:${tinyModels}/chat/tiny-llama-F16.gguf";
          serve = "dedicated";
        };
        gateway.enable = true;
        monitoring = {
          enable = true;
          scrapeInterval = "2s";
          evaluationInterval = "2s";
          rateWindow = "20s";
          grafana.secretKeyFile = pkgs.writeText "grafana-secret-key" "vm-test-only";
        };
      };
      virtualisation.memorySize = 3072;
    };
  testScript = ''
    import json

    def api(path, query=None):
        # -G with --data-urlencode: PromQL's braces and brackets are no curl globs.
        extra = f" -G --data-urlencode 'query={query}'" if query else ""
        return json.loads(machine.succeed(f"curl -sf http://127.0.0.1:9090/api/v1/{path}{extra}"))["data"]

    machine.wait_for_unit("local-llm-chat.service")
    machine.wait_for_unit("envoy.service")
    machine.wait_for_unit("prometheus.service")
    machine.wait_for_unit("local-llm-exporter.service")
    machine.wait_for_unit("prometheus-node-exporter.service")
    machine.wait_for_open_port(9090)

    def all_up(_):
        targets = api("targets")["activeTargets"]
        jobs = {t["labels"]["job"] for t in targets}
        return jobs == {"local-llm-gateway", "local-llm-llama-server", "local-llm-exporter", "node"} and all(
            t["health"] == "up" for t in targets
        )

    retry(all_up, timeout=120)
    machine.succeed(
        "curl -sf http://127.0.0.1:4001/v1/chat/completions -H 'Content-Type: application/json' "
        "-d '{\"model\": \"gpt-4\", \"max_tokens\": 8, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}'"
    )

    def rate_recorded(_):
        query = 'max_over_time(model:llamacpp_tokens_predicted:rate{model="tiny-chat"}[5m]) > 0'
        return bool(api("query", query)["result"])

    retry(rate_recorded, timeout=120)

    machine.wait_for_unit("grafana.service")
    machine.wait_for_open_port(3000)
    dashboard = json.loads(machine.succeed("curl -sf -u admin:admin http://127.0.0.1:3000/api/dashboards/uid/local-llm"))
    assert dashboard["dashboard"]["title"] == "local-llm: machine", dashboard["dashboard"]["title"]

    machine.succeed("systemctl stop local-llm-chat.service")

    def fired(_):
        names = {a["labels"]["alertname"] for a in api("alerts")["alerts"] if a["state"] in ("pending", "firing")}
        return {"LocalLlmRouteUnavailable", "LocalLlmTargetDown"} <= names

    retry(fired, timeout=180)
  '';
}
