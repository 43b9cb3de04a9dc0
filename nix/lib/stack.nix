# The stack spec: the attrset the modules build from services.local-llm, normalised
# with defaults (`normalize`), and the JSON llmctl reads from /etc/local-llm/stack.json
# (`stackJson`, validated against llmctl's schemas/stack.schema.json).
let
  helpers = import ./helpers.nix;
  hw = import ./hardware.nix;
  facts = import ./defaults.nix;
  inherit (facts) roles ports paths;
  inherit (import ./data.nix) healthPaths;
  inherit (helpers) dropNulls optionalAttrs recursiveUpdate;

  # Model names clients use for OpenAI models, mapped to the role that answers them.
  defaultAliases = {
    "gpt-4" = "chat";
    "gpt-4-turbo" = "chat";
    "gpt-4o" = "chat";
    "claude-3-opus" = "chat";
    "claude-3-sonnet" = "chat";
    "devstral" = "chat";
    "devstral-2" = "chat";
    "mistral-large" = "chat";
    "text-embedding-ada-002" = "embedding";
    "text-embedding-3-small" = "embedding";
    "rerank-english-v3.0" = "rerank";
    "bge-reranker" = "rerank";
  };

  defaults = {
    host = null;
    # What the host is for, shown at the top of its CONFIGURATION.md.
    description = null;
    inherit (paths) modelsDir;
    # Who owns the models folder and runs the llama-servers and discovery.
    user = "local-llm";
    group = "local-llm";
    # Services facing the network: they listen on all interfaces and their port is open
    # (on `firewallInterfaces` only, when given).
    opened = {
      gateway = false;
      webui = false;
      llamaSwap = false;
      ollama = false;
    };
    firewallInterfaces = [ ];
    # Files holding secrets, read by the services at start (never copied anywhere).
    secrets = {
      # The gateway's key file as the host has it; gateway.apiKeyFile names what the
      # gateway reads (its systemd credential, gatewayApiKeys).
      gatewayApiKeyFile = null;
      huggingFaceTokenFile = null;
    };
    # Where the backends listen; the gateway reaches them there.
    listenAddress = facts.loopback;
    gpu = {
      profile = "cpu";
      ramGiB = null;
      memoryGiB = null;
      devices = null;
    };
    llamaServer = {
      binary = "llama-server";
      capabilities = { };
      contextSize = null;
      parallel = null;
      extraArgs = [ ];
    };
    models = { };
    dedicated = { };
    llamaSwap = {
      enable = false;
      port = ports.llamaSwap;
      configFile = paths.llamaSwapConfig;
      autoDiscover = true;
      ttl = null;
      fallbacks = [ ];
    };
    ollama = {
      enable = false;
      port = ports.ollama;
      models = [ ];
      fallbacks = [ ];
    };
    webui = {
      enable = false;
      port = ports.webui;
      secretKeyFile = null;
      # services.open-webui.stateDir
      stateDir = "/var/lib/open-webui";
    };
    gateway = {
      enable = false;
      # Which program is the gateway: Envoy (gateway.nix) or the LiteLLM proxy (litellm.nix).
      kind = "envoy";
      # Interface the gateway listens on; 0.0.0.0 when it faces the network.
      bind = facts.loopback;
      port = ports.gateway;
      adminPort = ports.gatewayAdmin;
      metricsPort = ports.gatewayMetrics;
      aliases = defaultAliases;
      apiKeyFile = null;
      # Body buffered for routing by `model`: long prompts and images exceed Envoy's 1 MiB.
      bufferLimitBytes = 33554432;
      # Longest silence on a stream: a model load plus a long prefill can take minutes.
      idleTimeout = "3600s";
      accessLog = true;
      healthCheck = {
        interval = "5s";
        timeout = "2s";
        unhealthyThreshold = 2;
        healthyThreshold = 1;
      };
    };
    # Prometheus scrape jobs, alert and recording rules, a Grafana dashboard
    # (monitoring.nix); when on, every llama-server the stack starts has --metrics.
    monitoring = import ./monitoring-defaults.nix;
  };

  dedicatedDefaults = role: {
    enable = true;
    port = ports.${role};
    model = null;
    fallbacks = [ ];
  };

  url = spec: port: "http://${spec.listenAddress}:${toString port}";

  # Every endpoint the gateway can route to, with the model names it answers.
  backendEndpoints =
    spec:
    let
      aliasesFor = role: builtins.filter (alias: spec.gateway.aliases.${alias} == role) (builtins.attrNames spec.gateway.aliases);
      dedicated = builtins.mapAttrs (
        role: d:
        let
          model = if d.model == null then { } else spec.models.${d.model} or { };
        in
        {
          url = url spec d.port;
          inherit (d) model fallbacks enable;
          # Names routed here besides `model` itself.
          aliases = builtins.filter (name: name != d.model) (
            helpers.unique ((model.aliases or [ ]) ++ aliasesFor role)
          );
          unit = "local-llm-${role}.service";
        }
      ) spec.dedicated;
    in
    dedicated
    // optionalAttrs spec.llamaSwap.enable {
      llamaSwap = {
        url = url spec spec.llamaSwap.port;
        inherit (spec.llamaSwap) fallbacks;
        enable = true;
        aliases = [ ];
        model = null;
        unit = "llama-swap.service";
      };
    }
    // optionalAttrs spec.ollama.enable {
      ollama = {
        url = url spec spec.ollama.port;
        inherit (spec.ollama) fallbacks;
        enable = true;
        aliases = spec.ollama.models;
        model = null;
        unit = "ollama.service";
      };
    };

  normalize =
    input:
    let
      unknownRoles = builtins.filter (role: !builtins.elem role roles) (builtins.attrNames (input.dedicated or { }));
      merged = recursiveUpdate defaults (removeAttrs input [ "dedicated" ]);
      spec = merged // {
        dedicated = builtins.mapAttrs (role: d: dedicatedDefaults role // d) (input.dedicated or { });
        # The alias table is replaced, not merged, so a host can drop entries.
        gateway = merged.gateway // {
          aliases = input.gateway.aliases or defaultAliases;
        };
      };
      hardware = hw.hardware {
        inherit (spec.gpu) profile ramGiB memoryGiB;
      };
    in
    if unknownRoles != [ ] then
      throw "local-llm: unknown dedicated role(s) ${builtins.concatStringsSep ", " unknownRoles} (chat, embedding, rerank)"
    else
      spec
      // {
        inherit hardware;
        backends = backendEndpoints spec;
      };

  endpointJson =
    e:
    dropNulls {
      inherit (e) url;
      enable = e.enable or null;
      model = e.model or null;
      unit = e.unit or null;
      aliases = if (e.aliases or [ ]) == [ ] then null else e.aliases;
      fallbacks = if (e.fallbacks or [ ]) == [ ] then null else e.fallbacks;
    };

  # Where a service of the normalised spec listens: on every interface once its port is
  # opened, else the gateway on its `bind` and the backends on `listenAddress`.
  bindOf =
    spec: name:
    if spec.opened.${name} or false then
      facts.bindAddress true
    else if name == "gateway" then
      spec.gateway.bind
    else
      spec.listenAddress;

  # The gateway's key file as the host has it, else the one the gateway reads.
  gatewayKeyFile =
    spec: if spec.secrets.gatewayApiKeyFile != null then spec.secrets.gatewayApiKeyFile else spec.gateway.apiKeyFile;

  # Every endpoint says where it answers when healthy (status and verify ask there).
  # The LiteLLM proxy's /health asks every model (and wants the key); it is up when
  # /health/liveliness answers.
  withHealth =
    spec:
    builtins.mapAttrs (
      name: endpoint:
      endpoint
      // {
        health =
          if name == "gateway" && spec.gateway.kind == "litellm" then "/health/liveliness" else healthPaths.${name};
      }
    );

  stackJson =
    input:
    let
      spec = normalize input;
      hardware = spec.hardware;
      gatewayUrl = port: "http://${facts.loopback}:${toString port}";
      envoy = spec.gateway.kind == "envoy";
    in
    dropNulls {
      version = 1;
      inherit (spec) host modelsDir;
      endpoints = withHealth spec (
        builtins.mapAttrs (_: endpointJson) spec.backends
        // optionalAttrs spec.gateway.enable {
          gateway = {
            url = gatewayUrl spec.gateway.port;
            unit = facts.gatewayUnit spec.gateway.kind;
          };
        }
        # Envoy's admin and metrics listeners; the LiteLLM proxy has neither.
        // optionalAttrs (spec.gateway.enable && envoy) {
          gatewayAdmin.url = gatewayUrl spec.gateway.adminPort;
          gatewayMetrics.url = gatewayUrl spec.gateway.metricsPort;
        }
        // optionalAttrs spec.webui.enable {
          webui = {
            url = url spec spec.webui.port;
            unit = "open-webui.service";
          };
        }
      );
      gpu = dropNulls {
        inherit (hardware)
          backend
          profile
          targets
          memoryGiB
          unifiedMemory
          ;
        inherit (spec.gpu) devices;
      };
      llamaServer = dropNulls {
        inherit (spec.llamaServer) binary contextSize parallel;
        inherit (hardware.llamaServer) flashAttention noMmap gpuLayers;
        # llmctl discover gives llama-swap's llama-servers --metrics too.
        metrics = if spec.monitoring.enable then true else null;
        extraArgs = if spec.llamaServer.extraArgs == [ ] then null else spec.llamaServer.extraArgs;
      };
      llamaSwap = if spec.llamaSwap.enable then dropNulls { inherit (spec.llamaSwap) configFile autoDiscover ttl; } else null;
      models = if spec.models == { } then null else spec.models;
      gateway = if spec.gateway.enable then dropNulls { inherit (spec.gateway) apiKeyFile; } else null;
    };
in
{
  inherit
    normalize
    stackJson
    defaultAliases
    bindOf
    gatewayKeyFile
    ;
}
