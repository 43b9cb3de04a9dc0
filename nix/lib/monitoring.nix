# Monitoring from a stack spec: Prometheus scrape jobs for every service the stack
# runs, alert and recording rules, and a Grafana dashboard. The NixOS module hands
# these to services.prometheus / services.grafana; off NixOS they are plain files.
#
# What each source exports (checked against the real programs, docs/monitoring.md):
# - Envoy's metrics listener (/stats/prometheus): envoy_cluster_* by envoy_cluster_name
#   (the gateway's backends) and envoy_vhost_route_* by envoy_route (the gateway's
#   routes carry a stat_prefix, gateway.nix);
# - llama-server --metrics: llamacpp:* counters and gauges, no labels;
# - llama-swap /metrics: llamaswap_* system and GPU gauges, nothing per model;
# - llmctl's exporter: local_llm_* per service and model, and the llamacpp:* series of
#   the llama-servers llama-swap runs (their ports are llama-swap's to choose);
# - node exporter's drm collector: node_drm_* per card (amdgpu);
# - nvidia_gpu_exporter: nvidia_smi_* per GPU.
let
  helpers = import ./helpers.nix;
  stack = import ./stack.nix;
  gateway = import ./gateway.nix;
  facts = import ./defaults.nix;
  inherit (helpers) concatMap optional optionals;

  join = builtins.concatStringsSep;
  # A number as PromQL reads it (toString 0.95 would give "0.950000").
  number = builtins.toJSON;

  # The value of a PromQL string literal or an anchored regex: escaped.
  quoted = text: "\"" + builtins.replaceStrings [ "\\" "\"" ] [ "\\\\" "\\\"" ] text + "\"";
  regexMeta = [ "\\" "." "+" "*" "?" "(" ")" "[" "]" "{" "}" "|" "^" "$" ];
  regexEscape = builtins.replaceStrings regexMeta (map (c: "\\" + c) regexMeta);
  anyOfRegex = names: join "|" (map regexEscape names);

  jobs = {
    gateway = "local-llm-gateway";
    llamaServer = "local-llm-llama-server";
    llamaSwap = "local-llm-llama-swap";
    exporter = "local-llm-exporter";
    node = "node";
    nvidia = "nvidia-gpu";
  };

  hostPort = url: let u = helpers.parseUrl url; in "${u.host}:${toString u.port}";
  # Envoy's metrics listener; LiteLLM (gateway.kind = litellm) exports no Prometheus
  # metrics without its enterprise features, so that gateway gets no job and no rules.
  envoyGateway = spec: spec.gateway.enable && spec.gateway.kind == "envoy";
  local = port: "${facts.loopback}:${toString port}";

  # The gateway's routes and the cluster each sends to, read from the Envoy config itself.
  gatewayRoutes =
    spec:
    let
      config = gateway.envoyConfig spec;
      listener = builtins.head (builtins.filter (l: l.name == "gateway") config.static_resources.listeners);
      manager = (builtins.head (builtins.head listener.filter_chains).filters).typed_config;
      routes = (builtins.head manager.route_config.virtual_hosts).routes;
    in
    builtins.filter (route: route.cluster != null) (
      map (route: {
        inherit (route) name;
        cluster = route.route.cluster or null;
      }) routes
    );

  # Backends serving one model (the dedicated servers): their clusters and routes get
  # a `model` label, so the gateway's figures line up with llama-server's.
  modelOf = spec: name: spec.backends.${name}.model or null;

  relabelModel = label: value: model: {
    source_labels = [ label ];
    regex = regexEscape value;
    target_label = "model";
    replacement = model;
  };

  gatewayJob =
    spec:
    let
      withModel = builtins.filter (name: modelOf spec name != null) (builtins.attrNames spec.backends);
      routes = builtins.filter (route: modelOf spec route.cluster != null) (gatewayRoutes spec);
    in
    {
      job_name = jobs.gateway;
      static_configs = [
        {
          targets = [ (local spec.gateway.metricsPort) ];
          labels.service = "gateway";
        }
      ];
      metric_relabel_configs =
        map (name: relabelModel "envoy_cluster_name" name (modelOf spec name)) withModel
        ++ map (route: relabelModel "envoy_route" route.name (modelOf spec route.cluster)) routes;
    };

  llamaServerJob = spec: {
    job_name = jobs.llamaServer;
    static_configs = map (role: {
      targets = [ (hostPort spec.backends.${role}.url) ];
      labels = {
        service = role;
        inherit role;
        model = spec.dedicated.${role}.model;
      };
    }) (builtins.attrNames spec.dedicated);
  };

  simpleJob = name: target: service: {
    job_name = name;
    static_configs = [
      {
        targets = [ target ];
        labels = { inherit service; };
      }
    ];
  };

  # Every scrape job of the host, as Prometheus' scrape_configs.
  scrapeConfigs =
    input:
    let
      spec = stack.normalize input;
      m = spec.monitoring;
    in
    optional (envoyGateway spec) (gatewayJob spec)
    ++ optional (spec.dedicated != { }) (llamaServerJob spec)
    ++ optional spec.llamaSwap.enable (simpleJob jobs.llamaSwap (hostPort spec.backends.llamaSwap.url) "llamaSwap")
    # The exporter's series carry the service and model they describe: kept as they are.
    ++ optional m.exporter.enable {
      job_name = jobs.exporter;
      honor_labels = true;
      static_configs = [ { targets = [ (local m.exporter.port) ]; } ];
    }
    ++ optional m.nodeExporter.enable (simpleJob jobs.node (local m.nodeExporter.port) "node")
    ++ optional m.nvidiaExporter.enable (simpleJob jobs.nvidia (local m.nvidiaExporter.port) "nvidia-gpu");

  # GPU series from whichever exporter the host runs (llama-swap's only without one).
  gpuSeries =
    spec:
    let
      m = spec.monitoring;
      # On a unified-memory APU the model lives in GTT; VRAM is a small carve-out.
      amdUsed =
        if spec.hardware.unifiedMemory then
          "(node_drm_memory_vram_used_bytes + node_drm_memory_gtt_used_bytes)"
        else
          "node_drm_memory_vram_used_bytes";
      amdSize =
        if spec.hardware.unifiedMemory then
          "(node_drm_memory_vram_size_bytes + node_drm_memory_gtt_size_bytes)"
        else
          "node_drm_memory_vram_size_bytes";
      sources =
        optional m.nodeExporter.enable {
          used = amdUsed;
          size = amdSize;
          busy = "node_drm_gpu_busy_percent";
        }
        ++ optional m.nvidiaExporter.enable {
          used = "nvidia_smi_memory_used_bytes";
          size = "nvidia_smi_memory_total_bytes";
          busy = "100 * nvidia_smi_utilization_gpu_ratio";
        };
      fallback = optional spec.llamaSwap.enable {
        used = "llamaswap_gpu_memory_used_bytes";
        size = "llamaswap_gpu_memory_total_bytes";
        busy = "llamaswap_gpu_util_percent";
      };
    in
    if sources != [ ] then sources else fallback;

  anyOf = exprs: join " or " (map (e: "(${e})") exprs);

  # Models the plan runs on the CPU on purpose (gpuLayers = 0), which the CPU alert skips.
  cpuModels =
    spec:
    builtins.filter (
      name:
      let
        layers = spec.models.${name}.gpuLayers or spec.hardware.llamaServer.gpuLayers;
      in
      layers == 0 || layers == "0"
    ) (builtins.attrNames spec.models);

  # Named PromQL expressions: the dashboard's panels use exactly these.
  queries =
    input:
    let
      spec = stack.normalize input;
      w = spec.monitoring.rateWindow;
      gw = "job=\"${jobs.gateway}\"";
      gpus = gpuSeries spec;
    in
    helpers.optionalAttrs (envoyGateway spec) {
      requestsPerRoute = "sum by (envoy_route) (rate(envoy_vhost_route_upstream_rq_total{${gw}}[${w}]))";
      requestsPerModel = "sum by (model) (rate(envoy_cluster_upstream_rq_total{${gw},model!=\"\"}[${w}]))";
      responsesPerClass = "sum by (envoy_response_code_class) (rate(envoy_vhost_route_upstream_rq_xx{${gw}}[${w}]))";
      latencyP95PerRoute = "histogram_quantile(0.95, sum by (envoy_route, le) (rate(envoy_vhost_route_upstream_rq_time_bucket{${gw}}[${w}])))";
      healthyEndpoints = "envoy_cluster_membership_healthy{${gw},envoy_cluster_name!=\"envoy_admin\"}";
    }
    // {
      tokensPerSecond = "model:llamacpp_tokens_predicted:rate";
      promptTokensPerSecond = "model:llamacpp_prompt_tokens:rate";
      slotsBusy = "sum by (model) (llamacpp:requests_processing)";
    }
    // helpers.optionalAttrs spec.monitoring.exporter.enable {
      loadedModels = "sum by (service, model) (local_llm_model_loaded)";
    }
    // helpers.optionalAttrs (gpus != [ ]) {
      gpuMemoryUsed = anyOf (map (g: g.used) gpus);
      gpuMemoryShare = anyOf (map (g: "${g.used} / ${g.size}") gpus);
      gpuBusyPercent = anyOf (map (g: g.busy) gpus);
    };

  recordingRules =
    spec:
    let
      w = spec.monitoring.rateWindow;
    in
    [
      {
        record = "model:llamacpp_tokens_predicted:rate";
        expr = "sum by (model) (rate(llamacpp:tokens_predicted_total[${w}]))";
      }
      {
        record = "model:llamacpp_prompt_tokens:rate";
        expr = "sum by (model) (rate(llamacpp:prompt_tokens_total[${w}]))";
      }
    ];

  alert =
    spec: name: forKey: severity: expr: summary: description:
    {
      alert = name;
      inherit expr;
      "for" = spec.monitoring.alerts.for.${forKey};
      labels = { inherit severity; };
      annotations = { inherit summary description; };
    };

  alertingRules =
    spec:
    let
      a = spec.monitoring.alerts;
      gw = "job=\"${jobs.gateway}\",envoy_cluster_name!=\"envoy_admin\"";
      gpus = gpuSeries spec;
      onPurpose = cpuModels spec;
      planned = spec.hardware.backend != "cpu" && spec.hardware.llamaServer.gpuLayers != 0;
      routesOf =
        cluster: join ", " (map (r: r.name) (builtins.filter (r: r.cluster == cluster) (gatewayRoutes spec)));
    in
    [
      (alert spec "LocalLlmTargetDown" "targetDown" "warning" "up{job=~\"local-llm-.*|${jobs.node}|${jobs.nvidia}\"} == 0"
        "{{ $labels.job }} target {{ $labels.instance }} is down"
        "Prometheus cannot scrape {{ $labels.instance }} (job {{ $labels.job }}): the service is stopped or does not listen there."
      )
    ]
    ++ optionals (envoyGateway spec) [
      (alert spec "LocalLlmBackendDown" "backendDown" "warning"
        "envoy_cluster_membership_healthy{${gw}} < envoy_cluster_membership_total{${gw}}"
        "gateway backend {{ $labels.envoy_cluster_name }}: an endpoint fails its health check"
        "{{ $value }} endpoint(s) of {{ $labels.envoy_cluster_name }} healthy; the gateway sends its requests to the remaining ones (fallbacks) while the rest are down."
      )
      (alert spec "LocalLlmBackendErrors" "backendErrors" "warning"
        (anyOf [
          "sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_cx_connect_fail{${gw}}[${spec.monitoring.rateWindow}])) > 0"
          "sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq_xx{${gw},envoy_response_code_class=\"5\"}[${spec.monitoring.rateWindow}])) > 0"
        ])
        "gateway backend {{ $labels.envoy_cluster_name }} answers with errors"
        "The gateway sees failed connections or 5xx answers from {{ $labels.envoy_cluster_name }}."
      )
      (alert spec "LocalLlmRouteUnavailable" "routeUnavailable" "critical"
        "(envoy_cluster_membership_total{${gw}} > 0) unless (envoy_cluster_membership_healthy{${gw}} > 0)"
        "no healthy endpoint for the gateway's {{ $labels.envoy_cluster_name }} backend"
        "Requests the gateway routes to {{ $labels.envoy_cluster_name }} fail with 503: none of its endpoints passes the health check."
      )
    ]
    ++ optional (gpus != [ ]) (
      alert spec "LocalLlmGpuMemoryHigh" "gpuMemoryHigh" "warning"
        (anyOf (map (g: "${g.used} / ${g.size} > ${number a.gpuMemoryFraction}") gpus))
        "GPU memory above ${toString (builtins.floor (a.gpuMemoryFraction * 100))}%"
        "{{ $labels.instance }} {{ $labels.card }}{{ $labels.uuid }}: {{ $value | humanizePercentage }} of the GPU's memory in use; the next model load may fail or spill to the CPU."
    )
    ++ optional spec.monitoring.exporter.enable (
      alert spec "LocalLlmModelSwapping" "modelSwapping" "warning"
        # Each load and each unload is one change of the 0/1 gauge.
        "changes(local_llm_model_loaded[1h]) / 2 >= ${toString a.swapsPerHour}"
        "{{ $labels.model }} is loaded and unloaded again and again"
        "{{ $labels.service }} loaded {{ $labels.model }} {{ $value }} times within an hour: the models in use do not fit in memory together; put them in one llama-swap group, raise their ttl, or lower their context."
    )
    ++ optional (spec.monitoring.exporter.enable && planned) (
      alert spec "LocalLlmModelOnCpu" "modelOnCpu" "critical"
        # llmctl's GPU-use check (its log, or Ollama's size_vram, against the plan).
        "local_llm_model_gpu_use{state=\"cpu\"${
          if onPurpose == [ ] then "" else ",model!~${quoted (anyOfRegex onPurpose)}"
        }} == 1"
        "{{ $labels.model }} runs without GPU layers"
        "{{ $labels.service }} serves {{ $labels.model }} on the CPU, where the plan puts its layers on the GPU (${spec.hardware.backend}): `llmctl status` names the cause and the next step."
    );

  # The Prometheus rules file (YAML; JSON is YAML).
  rules =
    input:
    let
      spec = stack.normalize input;
    in
    {
      groups = [
        {
          name = "local-llm-recording";
          interval = spec.monitoring.evaluationInterval;
          rules = recordingRules spec;
        }
        {
          name = "local-llm-alerts";
          interval = spec.monitoring.evaluationInterval;
          rules = alertingRules spec;
        }
      ];
    };

  # prometheus.yml off NixOS; `ruleFiles` are paths relative to it.
  prometheusConfig =
    {
      spec,
      ruleFiles ? [ "local-llm.rules.yml" ],
    }:
    let
      m = (stack.normalize spec).monitoring;
    in
    {
      global = {
        scrape_interval = m.scrapeInterval;
        evaluation_interval = m.evaluationInterval;
      };
      rule_files = ruleFiles;
      scrape_configs = scrapeConfigs spec;
    };
in
{
  inherit
    scrapeConfigs
    rules
    queries
    prometheusConfig
    jobs
    ;
}
