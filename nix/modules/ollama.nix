# Ollama on the upstream module: package by GPU backend, models on the models dataset.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.local-llm;
  shared = import ./shared-options.nix { inherit lib; };
  generators = import ../lib;
  settings = generators.ollamaSettings cfg.stackInput;
  modelsDir = "${cfg.modelsDir}/ollama";
in
{
  options.services.local-llm.ollama = {
    enable = lib.mkEnableOption "Ollama with its curated model registry";
    port = shared.port 11434 "Port Ollama listens on.";
    models = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [ "llama3.2:3b" ];
      description = "Models pulled at start (Ollama's loadModels).";
    };
    openFirewall = shared.openFirewall "Ollama";
  };

  config = lib.mkIf (cfg.enable && cfg.ollama.enable) {
    services.ollama = {
      enable = true;
      package = pkgs.${settings.package};
      host = if cfg.ollama.openFirewall then "0.0.0.0" else settings.host;
      inherit (settings) port loadModels rocmOverrideGfx;
      environmentVariables = settings.environment;
      # A static user keeps ownership stable on the models dataset.
      user = "ollama";
      group = "ollama";
      models = modelsDir;
    };
    systemd.tmpfiles.rules = [ "d ${modelsDir} 0750 ollama ollama - -" ];
    systemd.services.ollama.after = [ "local-llm-dataset.service" ];
  };
}
