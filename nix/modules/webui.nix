# Open WebUI on the upstream module, wired to llama-swap (or the gateway) and Ollama.
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
  webui = cfg.webui;
  settings = generators.webuiSettings cfg.stackInput;
in
{
  options.services.local-llm.webui = {
    enable = lib.mkEnableOption "Open WebUI";
    port = shared.port generators.ports.webui "Port Open WebUI listens on (upstream's 8080 collides with llama.cpp defaults).";
    environmentFile = lib.mkOption {
      type = lib.types.nullOr lib.types.path;
      default = null;
      example = "/run/secrets/open-webui.env";
      description = ''
        File with `WEBUI_SECRET_KEY=...` (and any other secret variables), read at start.
        Without it, logins do not survive a restart. Keep only secrets in it: `llmctl verify`
        treats every value in it as one and fails if a generated config contains it.
      '';
    };
    openFirewall = shared.openFirewall "Open WebUI";
  };

  config = lib.mkIf (cfg.enable && webui.enable) {
    warnings = lib.optional (webui.environmentFile == null) "services.local-llm.webui.environmentFile is not set: Open WebUI has no fixed WEBUI_SECRET_KEY and logins end at every restart";
    services.open-webui = {
      enable = true;
      host = lib.mkDefault (generators.bindAddress cfg.openedServices.webui);
      port = lib.mkDefault settings.port;
      environmentFile = lib.mkDefault settings.environmentFile;
      # Defining the option replaces upstream's default: keep its telemetry opt-outs.
      environment = options.services.open-webui.environment.default // settings.environment;
    };
    # The gateway's key reaches Open WebUI as a credential, turned into OPENAI_API_KEYS.
    systemd.services.open-webui.serviceConfig = lib.mkIf (settings.gatewayKey != null) {
      LoadCredential = [ "gateway-api-keys:${cfg.gateway.apiKeyFile}" ];
      ExecStartPre = [
        (pkgs.writeShellScript "open-webui-gateway-key" ''
          set -- "$CREDENTIALS_DIRECTORY/gateway-api-keys" ${lib.escapeShellArg settings.gatewayKey.envFile}
          ${settings.gatewayKey.script}
        '')
      ];
      EnvironmentFile = [ "-${settings.gatewayKey.envFile}" ];
    };
  };
}
