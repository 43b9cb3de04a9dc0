# The Grafana dashboard of a stack (JSON model, schemaVersion 39): every panel's query
# is one of monitoring.nix's named expressions, which the tests run against a real
# Prometheus scraping a running stack.
let
  stack = import ./stack.nix;
  monitoring = import ./monitoring.nix;

  datasource = {
    type = "prometheus";
    uid = "\${datasource}";
  };

  # Panels in the order shown: query name, title, unit, legend, kind.
  layout = [
    [ "requestsPerRoute" "Requests through the gateway, per route" "reqps" "{{envoy_route}}" "timeseries" ]
    [ "requestsPerModel" "Requests through the gateway, per model" "reqps" "{{model}}" "timeseries" ]
    [ "latencyP95PerRoute" "Gateway latency p95, per route" "ms" "{{envoy_route}}" "timeseries" ]
    [ "responsesPerClass" "Gateway answers by status class" "reqps" "{{envoy_response_code_class}}xx" "timeseries" ]
    [ "tokensPerSecond" "Tokens generated per second, per model" "short" "{{model}}" "timeseries" ]
    [ "promptTokensPerSecond" "Prompt tokens per second, per model" "short" "{{model}}" "timeseries" ]
    [ "slotsBusy" "Slots busy, per model" "short" "{{model}}" "timeseries" ]
    [ "loadedModels" "Loaded models" "short" "{{service}} {{model}}" "stat" ]
    [ "gpuMemoryUsed" "GPU memory used" "bytes" "{{instance}} {{card}}{{name}}" "timeseries" ]
    [ "gpuMemoryShare" "GPU memory in use" "percentunit" "{{instance}} {{card}}{{name}}" "gauge" ]
    [ "gpuBusyPercent" "GPU utilisation" "percent" "{{instance}} {{card}}{{name}}" "timeseries" ]
    [ "healthyEndpoints" "Healthy endpoints per gateway backend" "short" "{{envoy_cluster_name}}" "stat" ]
  ];

  panel = index: entry: expr: {
    id = index + 1;
    type = builtins.elemAt entry 4;
    title = builtins.elemAt entry 1;
    inherit datasource;
    gridPos = {
      h = 8;
      w = 12;
      x = 12 * (index - 2 * (index / 2));
      y = 8 * (index / 2);
    };
    targets = [
      {
        refId = "A";
        inherit datasource expr;
        legendFormat = builtins.elemAt entry 3;
      }
    ];
    fieldConfig = {
      defaults.unit = builtins.elemAt entry 2;
      overrides = [ ];
    };
    options = { };
  };

  grafanaDashboard =
    input:
    let
      spec = stack.normalize input;
      queries = monitoring.queries input;
      shown = builtins.filter (entry: queries ? ${builtins.head entry}) layout;
    in
    {
      uid = "local-llm";
      title = "local-llm" + (if spec.host == null then "" else ": ${spec.host}");
      tags = [ "local-llm" ];
      schemaVersion = 39;
      version = 1;
      editable = false;
      refresh = "30s";
      time = {
        from = "now-6h";
        to = "now";
      };
      templating.list = [
        {
          name = "datasource";
          label = "Prometheus";
          type = "datasource";
          query = "prometheus";
        }
      ];
      panels = builtins.genList (
        index:
        let
          entry = builtins.elemAt shown index;
        in
        panel index entry queries.${builtins.head entry}
      ) (builtins.length shown);
    };
in
{
  inherit grafanaDashboard;
}
