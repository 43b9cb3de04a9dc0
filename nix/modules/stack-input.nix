# services.local-llm options -> the stack spec attrset nix/lib takes (docs/nix-lib.md).
# The one place where option names are translated; every module reads the result
# through config.services.local-llm.spec.
{ config, lib }:
let
  cfg = config.services.local-llm;
  generators = import ../lib;
  inherit (generators) roles;
  dedicatedNames = role: lib.attrNames (lib.filterAttrs (_: m: m.serve == "dedicated" && m.role == role) cfg.models);
  withoutNulls = lib.filterAttrs (_: value: value != null);
  modelSpec =
    name: m:
    withoutNulls {
      inherit (m)
        source
        role
        serve
        aliases
        contextSize
        gpuLayers
        extraArgs
        ttl
        unlisted
        group
        ;
      # A model declared only by its source is fetched into modelsDir/NAME/.
      file = if m.file != null then m.file else if m.source != null then name else null;
    };
in
{
  host = config.networking.hostName;
  inherit (cfg)
    description
    modelsDir
    user
    group
    firewallInterfaces
    ;
  opened = cfg.openedServices;
  secrets = {
    gatewayApiKeyFile = cfg.gateway.apiKeyFile;
    huggingFaceTokenFile = cfg.huggingFace.tokenFile;
  };
  gpu = withoutNulls { inherit (cfg.gpu) profile ramGiB memoryGiB devices; };
  llamaServer = {
    binary = lib.getExe' cfg.llamaServer.package "llama-server";
    inherit (cfg.llamaServer)
      capabilities
      contextSize
      parallel
      extraArgs
      ;
  };
  models = lib.mapAttrs modelSpec cfg.models;
  dedicated = lib.listToAttrs (
    map (role: {
      name = role;
      value = {
        inherit (cfg.dedicated.${role}) port fallbacks;
        model = lib.head (dedicatedNames role);
      };
    }) (lib.filter (role: dedicatedNames role != [ ]) roles)
  );
  llamaSwap = {
    inherit (cfg.llamaSwap)
      enable
      port
      ttl
      autoDiscover
      fallbacks
      ;
  };
  ollama = { inherit (cfg.ollama) enable port models; };
  webui = {
    inherit (cfg.webui) enable port;
    secretKeyFile = cfg.webui.environmentFile;
  };
  gateway = {
    inherit (cfg.gateway)
      enable
      kind
      port
      adminPort
      metricsPort
      aliases
      ;
    bind = generators.bindAddress cfg.openedServices.gateway;
    # The generated config names the credential systemd provides at start, never the key.
    apiKeyFile = if cfg.gateway.apiKeyFile == null then null else generators.gatewayApiKeys cfg.gateway.kind;
  };
  monitoring = {
    inherit (cfg.monitoring)
      enable
      scrapeInterval
      evaluationInterval
      rateWindow
      alerts
      ;
    exporter = { inherit (cfg.monitoring.exporter) enable port; };
    # Scraped where upstream's exporter modules make them listen.
    nodeExporter = {
      inherit (cfg.monitoring.nodeExporter) enable;
      inherit (config.services.prometheus.exporters.node) port;
    };
    nvidiaExporter = {
      inherit (cfg.monitoring.nvidiaExporter) enable;
      inherit (config.services.prometheus.exporters.nvidia-gpu) port;
    };
  };
}
