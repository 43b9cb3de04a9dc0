# local-llm's builtins-only generators: `import ./nix/lib` gives these functions.
# Input everywhere: the stack spec attrset the modules build from services.local-llm
# (see docs/nix-lib.md for its keys and defaults).
let
  stack = import ./stack.nix;
  gateway = import ./gateway.nix;
  llamaServer = import ./llama-server.nix;
  hardware = import ./hardware.nix;
  webui = import ./webui.nix;
  ollama = import ./ollama.nix;
  defaults = import ./defaults.nix;
in
{
  inherit (defaults)
    roles
    ports
    paths
    loopback
    bindAddress
    gatewayUnit
    gatewayApiKeys
    ;
  inherit (stack) normalize stackJson defaultAliases;
  inherit (gateway) envoyConfig;
  inherit (import ./litellm.nix) litellmConfig litellmEnvironment litellmCommand;
  inherit (llamaServer)
    llamaServerArgv
    llamaServerEnv
    defaultCapabilities
    flagTable
    ;
  inherit (hardware)
    hardware
    kernelParams
    ttmPages
    profileNames
    ;
  inherit (webui) webuiSettings;
  inherit (ollama) ollamaSettings;

  inherit (import ./dedicated.nix) dedicatedServerArgv dedicatedServerEnv;
  inherit (import ./stack-document.nix) stackDocument;
  inherit (import ./configuration.nix) configurationFacts;
  inherit (import ./render.nix) render defaultBinaries;

  monitoring = {
    defaults = import ./monitoring-defaults.nix;
    inherit (import ./monitoring.nix)
      scrapeConfigs
      rules
      queries
      prometheusConfig
      jobs
      ;
    inherit (import ./dashboard.nix) grafanaDashboard;
  };
}
