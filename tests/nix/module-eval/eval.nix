# Evaluate the local-llm modules for one host against the real nixpkgs files
# (./evaluate.nix) and return what the tests inspect, as plain data
# (nix-instantiate --eval --strict --json). testkit/nixeval_modules.py describes it.
{
  nixpkgs,
  nixpkgsLib ? nixpkgs + "/lib",
  host,
  upstreamOverrides ? { },
}:
let
  lib = import nixpkgsLib;
  evaluated = import ./evaluate.nix {
    inherit nixpkgs nixpkgsLib upstreamOverrides;
    modules = [ host ];
  };
  inherit (evaluated) config;
  failed = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);

  # Values as systemd and JSON see them: a derivation by its store path.
  plain =
    value:
    if lib.isDerivation value then
      value.outPath
    else if lib.isList value then
      map plain value
    else if lib.isPath value then
      toString value
    else
      value;
  # The text of every generated file a unit names directly (ExecStart = a script).
  filesOf =
    serviceConfig:
    lib.concatMap (
      value:
      lib.filter (v: lib.isDerivation v && v.text or null != null) (lib.toList value)
    ) (lib.attrValues serviceConfig);

  unitSummary = unit: {
    inherit (unit)
      after
      before
      wants
      requires
      bindsTo
      partOf
      conflicts
      wantedBy
      requiredBy
      script
      preStart
      ;
    environment = lib.mapAttrs (_: value: if value == null then null else toString value) unit.environment;
    serviceConfig = lib.mapAttrs (_: plain) unit.serviceConfig;
    unitConfig = lib.mapAttrs (_: plain) unit.unitConfig;
    # The unit file as nixos/lib/systemd-lib.nix renders it.
    text = config.systemd.units.${unit.name}.text;
  };
  pathSummary = unit: {
    inherit (unit) after before wantedBy;
    inherit (unit) pathConfig;
    unitConfig = lib.mapAttrs (_: plain) unit.unitConfig;
    text = config.systemd.units.${unit.name}.text;
  };
  files = lib.listToAttrs (
    map (drv: lib.nameValuePair drv.outPath drv.text) (
      lib.concatMap (unit: filesOf unit.serviceConfig) (lib.attrValues config.systemd.services)
    )
  );
  etcFile = name: config.environment.etc.${name};
in
if failed != [ ] then
  { assertions = failed; }
else
  {
    assertions = [ ];
    inherit (config) warnings;
    hostName = config.networking.hostName;
    kernelParams = config.boot.kernelParams;
    supportedFilesystems = config.boot.supportedFilesystems;
    firewall = {
      inherit (config.networking.firewall) enable allowedTCPPorts;
      interfaces = lib.mapAttrs (_: i: { inherit (i) allowedTCPPorts; }) config.networking.firewall.interfaces;
    };
    stackInput = config.services.local-llm.stackInput;
    stackJson = builtins.fromJSON (etcFile "local-llm/stack.json").text;
    # The facts the build of /etc/local-llm/CONFIGURATION.md hands llmctl's template.
    configurationFacts = (etcFile "local-llm/CONFIGURATION.md").source.facts;
    # Read only where it is on: environmentFile has no default upstream.
    litellm =
      if config.services.litellm.enable then
        { inherit (config.services.litellm) enable host port settings environment environmentFile; }
      else
        { enable = false; };
    etc = lib.mapAttrs (_: f: { source = plain f.source; inherit (f) mode text; }) (
      lib.filterAttrs (name: _: lib.hasPrefix "local-llm/" name) config.environment.etc
    );
    units = lib.mapAttrs (_: unitSummary) config.systemd.services;
    paths = lib.mapAttrs (_: pathSummary) config.systemd.paths;
    inherit files;
    tmpfiles = config.systemd.tmpfiles.rules;
    users = lib.mapAttrs (_: u: {
      inherit (u)
        name
        group
        extraGroups
        home
        isSystemUser
        ;
    }) config.users.users;
    groups = lib.attrNames config.users.groups;
    llamaSwap = {
      inherit (config.services.llama-swap) enable port;
      # Read only where the module is on: a lib before 2026-03-25 has no value for it otherwise.
      settings = if config.services.llama-swap.enable then config.services.llama-swap.settings else null;
      package = plain config.services.llama-swap.package;
    };
    ollama = {
      inherit (config.services.ollama)
        enable
        user
        group
        home
        host
        port
        rocmOverrideGfx
        environmentVariables
        loadModels
        openFirewall
        ;
      # `models` is renamed `modelsDir` upstream after 26.05.
      models = config.services.ollama.modelsDir or config.services.ollama.models;
      package = plain config.services.ollama.package;
    };
    webui = removeAttrs config.services.open-webui [ "package" ];
    envoy = {
      inherit (config.services.envoy) enable settings requireValidConfig;
      package = plain config.services.envoy.package;
    };
    prometheus = {
      inherit (config.services.prometheus) enable listenAddress port;
      # As upstream writes them into prometheus.yml: without the unset (null) keys.
      globalConfig = lib.filterAttrs (_: v: v != null) config.services.prometheus.globalConfig;
      scrapeConfigs = map (lib.filterAttrsRecursive (_: v: v != null)) config.services.prometheus.scrapeConfigs;
      ruleFiles = map (file: {
        path = plain file;
        inherit (file) text;
      }) config.services.prometheus.ruleFiles;
      exporters = lib.mapAttrs (
        _: e:
        {
          inherit (e) enable listenAddress port;
        }
        // lib.optionalAttrs (e ? enabledCollectors) { inherit (e) enabledCollectors; }
      ) config.services.prometheus.exporters;
    };
    grafana = {
      inherit (config.services.grafana) enable provision;
      inherit (config.services.grafana.settings) security server;
    };
    llamaCpp = {
      inherit (config.services.local-llm.llamaServer.package) name;
      overrideArgs = config.services.local-llm.llamaServer.package.overrideArgs or null;
      path = plain config.services.local-llm.llamaServer.package;
    };
  }
