# The Envoy gateway: one OpenAI-compatible port routing by path and by `model`.
{
  config,
  lib,
  ...
}:
let
  cfg = config.services.local-llm;
  shared = import ./shared-options.nix { inherit lib; };
  generators = import ../lib;
  gateway = cfg.gateway;
  settings = generators.envoyConfig cfg.stackInput;
in
{
  options.services.local-llm.gateway = {
    enable = lib.mkEnableOption "the Envoy gateway speaking the OpenAI API";
    port = shared.port generators.ports.gateway "Port of the OpenAI-compatible API.";
    adminPort = shared.port generators.ports.gatewayAdmin "Envoy admin port (loopback only).";
    metricsPort = shared.port generators.ports.gatewayMetrics "Prometheus metrics port (loopback only).";
    aliases = lib.mkOption {
      type = lib.types.attrsOf (lib.types.enum generators.roles);
      default = generators.defaultAliases;
      defaultText = lib.literalExpression "{ gpt-4 = \"chat\"; text-embedding-ada-002 = \"embedding\"; bge-reranker = \"rerank\"; ... }";
      description = "Model names clients send, mapped to the role that answers them.";
    };
    apiKeyFile = lib.mkOption {
      type = lib.types.nullOr lib.types.path;
      default = null;
      example = "/run/secrets/gateway-api-keys";
      description = ''
        File with the accepted API keys, one per line. Read by the gateway at start (as a
        systemd credential); the key never enters the Nix store. Without it, no key is asked.
      '';
    };
    openFirewall = shared.openFirewall "the gateway";
  };

  config = lib.mkIf (cfg.enable && gateway.enable) {
    assertions = [
      {
        assertion = cfg.spec.backends != { };
        message = "services.local-llm.gateway: no backend to route to; declare a model with serve = \"dedicated\", or enable llamaSwap or ollama";
      }
    ];
    services.envoy = {
      enable = true;
      inherit settings;
    };
    # A readable copy for `llmctl verify`, which checks that no generated config holds a secret.
    environment.etc.${lib.removePrefix "/etc/" generators.paths.envoyConfig}.text = builtins.toJSON settings;
    systemd.services.envoy.serviceConfig = {
      LoadCredential = lib.optional (gateway.apiKeyFile != null) "api-keys:${gateway.apiKeyFile}";
      # Upstream does not restart Envoy; a gateway should come back by itself.
      Restart = lib.mkForce "on-failure";
    };
  };
}
