# What a host runs, as data for its CONFIGURATION.md (llmctl renders the words from a
# jinja2 template): services with their units, addresses and whether they face the
# network, every model with its aliases and role, the GPU profile with its kernel
# parameters, and the files secrets are read from. The NixOS module and `llmctl render`
# pass the same facts, so both documents agree.
let
  stack = import ./stack.nix;
  facts = import ./defaults.nix;
  helpers = import ./helpers.nix;
  inherit (helpers) optional optionals;

  configurationFacts =
    input:
    let
      spec = stack.normalize input;
      hw = spec.hardware;
      inherit (spec) backends gateway;
      opened = name: spec.opened.${name} or false;
      service = name: what: unit: port: {
        inherit name what unit port;
        bind = stack.bindOf spec name;
        opened = opened name || (name == "gateway" && gateway.bind != spec.listenAddress);
      };
      # Listeners that never face the network.
      onLoopback = name: what: unit: port: {
        inherit name what unit port;
        bind = facts.loopback;
        opened = false;
      };
      envoy = gateway.kind == "envoy";
      gatewayUnit = facts.gatewayUnit gateway.kind;
      keyFile = stack.gatewayKeyFile spec;
      model =
        name: m:
        let
          role = m.role or "chat";
          serve = m.serve or "swap";
          dedicatedHere = serve == "dedicated" && (spec.dedicated.${role}.model or null) == name;
        in
        {
          inherit name role serve;
          file = m.file or null;
          source = m.source or null;
          contextSize = m.contextSize or spec.llamaServer.contextSize;
          aliases = if dedicatedHere then backends.${role}.aliases else m.aliases or [ ];
          servedBy =
            if dedicatedHere then
              "local-llm-${role}.service"
            else if spec.llamaSwap.enable then
              "llama-swap.service"
            else
              null;
        };
    in
    {
      inherit (spec) host description modelsDir;
      gateway = {
        inherit (gateway) enable kind port;
        keys = gateway.apiKeyFile != null;
      };
      services =
        optionals gateway.enable (
          [
            (service "gateway" (
              if envoy then "gateway (Envoy), OpenAI API" else "gateway (LiteLLM proxy), OpenAI API"
            ) gatewayUnit gateway.port)
          ]
          ++ optionals envoy [
            (onLoopback "gatewayAdmin" "Envoy admin" null gateway.adminPort)
            (onLoopback "gatewayMetrics" "Envoy Prometheus metrics" null gateway.metricsPort)
          ]
        )
        ++ map (
          role:
          service role "dedicated ${role} llama-server (${spec.dedicated.${role}.model})" backends.${role}.unit
            spec.dedicated.${role}.port
        ) (builtins.attrNames spec.dedicated)
        ++ optional spec.llamaSwap.enable (
          service "llamaSwap" "llama-swap, every GGUF in the models folder" backends.llamaSwap.unit
            spec.llamaSwap.port
        )
        ++ optional spec.ollama.enable (service "ollama" "Ollama" backends.ollama.unit spec.ollama.port)
        ++ optional spec.webui.enable (service "webui" "Open WebUI" "open-webui.service" spec.webui.port)
        ++ optional (spec.monitoring.enable && spec.monitoring.exporter.enable) (
          onLoopback "exporter" "llmctl exporter: the stack's models as Prometheus metrics"
            "local-llm-exporter.service"
            spec.monitoring.exporter.port
        );
      models = builtins.attrValues (builtins.mapAttrs model spec.models);
      ollamaModels = spec.ollama.models;
      # Names clients send that no declared model answers by name: the role they go to.
      gatewayAliases = gateway.aliases;
      gpu = {
        inherit (hw)
          profile
          backend
          targets
          memoryGiB
          unifiedMemory
          kernelParams
          environment
          ollamaPackage
          ;
        inherit (spec.gpu) ramGiB devices;
        llamaCpp = hw.llamaCpp;
        inherit (hw.llamaServer) flashAttention noMmap gpuLayers;
      };
      firewallInterfaces = spec.firewallInterfaces;
      secrets =
        optional (keyFile != null) {
          what = "gateway API keys, one per line";
          file = keyFile;
          how = "credential `api-keys` of ${gatewayUnit} (LoadCredential=), read at start";
        }
        ++ optional (spec.webui.secretKeyFile != null) {
          what = "Open WebUI's WEBUI_SECRET_KEY";
          file = spec.webui.secretKeyFile;
          how = "EnvironmentFile= of open-webui.service, read at start";
        }
        ++ optional (spec.secrets.huggingFaceTokenFile != null) {
          what = "Hugging Face token";
          file = spec.secrets.huggingFaceTokenFile;
          how = "read by `llmctl download` when a declared model is fetched";
        };
    };
in
{
  inherit configurationFacts;
}
