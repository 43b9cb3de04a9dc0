# Ollama on the upstream module: package by GPU backend, models on the models dataset.
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
  settings = generators.ollamaSettings cfg.stackInput;
  modelsDir = "${cfg.modelsDir}/ollama";
  # Upstream renames `models` to `modelsDir` after 26.05 (the old name then only warns).
  modelsOption = if options.services.ollama ? modelsDir then "modelsDir" else "models";
in
{
  options.services.local-llm.ollama = {
    enable = lib.mkEnableOption "Ollama with its curated model registry";
    port = shared.port generators.ports.ollama "Port Ollama listens on.";
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
      package = lib.mkDefault pkgs.${settings.package};
      host = lib.mkDefault (generators.bindAddress cfg.openedServices.ollama);
      port = lib.mkDefault settings.port;
      rocmOverrideGfx = lib.mkDefault settings.rocmOverrideGfx;
      inherit (settings) loadModels;
      environmentVariables = settings.environment;
      # A static user keeps ownership stable on the models dataset.
      user = lib.mkDefault "ollama";
      group = lib.mkDefault "ollama";
      ${modelsOption} = lib.mkDefault modelsDir;
    };
    # Upstream's ReadWritePaths= requires the folder to exist.
    services.local-llm.folders.${config.services.ollama.${modelsOption}} =
      lib.mkIf (config.services.ollama.user != null)
        {
          inherit (config.services.ollama) user group;
          mode = "0750";
        };
  };
}
