# The Envoy gateway: one OpenAI-compatible port routing by path and by `model`.
{
  config,
  lib,
  options,
  pkgs,
  ...
}:
let
  cfg = config.services.local-llm;
  shared = import ./shared-options.nix { inherit lib; };
  generators = import ../lib;
  gateway = cfg.gateway;
  settings = generators.envoyConfig cfg.stackInput;
  litellmSettings = generators.litellmConfig cfg.stackInput;
  litellm = config.services.litellm;
  # With a key file, the proxy's master key is its first key, read from the credential at
  # start (the same command `llmctl render` writes into litellm.service off NixOS).
  litellmStart = pkgs.writeShellScript "litellm-start" (
    lib.escapeShellArgs (
      generators.litellmCommand (lib.getExe litellm.package) (_: litellm.host) {
        gateway.port = litellm.port;
      } ((pkgs.formats.yaml { }).generate "litellm.yaml" litellm.settings) gateway.apiKeyFile
    )
  );
in
{
  options.services.local-llm.gateway = {
    enable = lib.mkEnableOption "the gateway speaking the OpenAI API";
    kind = lib.mkOption {
      type = lib.types.enum [
        "envoy"
        "litellm"
      ];
      default = "envoy";
      example = "litellm";
      description = ''
        Which program is the gateway: Envoy (routing by path and by `model`, admin and
        Prometheus ports) or the LiteLLM proxy (services.litellm; routing by `model`, one
        master key: the first of {option}`services.local-llm.gateway.apiKeyFile`). Both
        serve the same model table and aliases.
      '';
    };
    port = shared.port generators.ports.gateway "Port of the OpenAI-compatible API.";
    adminPort = shared.port generators.ports.gatewayAdmin "Envoy admin port (loopback only).";
    metricsPort = shared.port generators.ports.gatewayMetrics "Prometheus metrics port (loopback only).";
    aliases = lib.mkOption {
      type = lib.types.attrsOf (lib.types.enum generators.roles);
      default = generators.defaultAliases;
      defaultText = lib.literalExpression "{ gpt-4 = \"chat\"; text-embedding-ada-002 = \"embedding\"; bge-reranker = \"rerank\"; ... }";
      example = {
        gpt-4o = "chat";
        text-embedding-3-small = "embedding";
      };
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

  config = lib.mkIf (cfg.enable && gateway.enable) (
    lib.mkMerge [
      {
        assertions = [
          {
            assertion = cfg.spec.backends != { };
            message = "services.local-llm.gateway: no backend to route to; declare a model with serve = \"dedicated\", or enable llamaSwap or ollama";
          }
        ];
      }
      (lib.mkIf (gateway.kind == "envoy") {
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
      })
      (lib.mkIf (gateway.kind == "litellm") {
        services.litellm = {
          enable = true;
          host = lib.mkDefault (generators.bindAddress cfg.openedServices.gateway);
          port = lib.mkDefault gateway.port;
          settings = litellmSettings;
          # Defining the option replaces upstream's default: keep its telemetry opt-outs.
          environment = options.services.litellm.environment.default // generators.litellmEnvironment;
          environmentFile = lib.mkDefault null;
        };
        environment.etc.${lib.removePrefix "/etc/" generators.paths.litellmConfig}.text = builtins.toJSON litellm.settings;
        systemd.services.litellm.serviceConfig = {
          LoadCredential = lib.optional (gateway.apiKeyFile != null) "api-keys:${gateway.apiKeyFile}";
          ExecStart = lib.mkIf (gateway.apiKeyFile != null) (lib.mkForce litellmStart);
          Restart = lib.mkDefault "on-failure";
        };
      })
    ]
  );
}
