# llama-swap on the upstream module, reading the run-time config `llmctl discover`
# writes, re-run by a path unit whenever the models folder changes.
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
  hardening = import ../lib/hardening.nix;
  services = import ../lib/services.nix;
  generators = import ../lib;
  swap = cfg.llamaSwap;
  upstream = config.services.llama-swap;
  configFile = cfg.spec.llamaSwap.configFile;
  # Newer upstream modules have listenAddress; the first generation listened on all interfaces.
  hasListenAddress = options.services.llama-swap ? listenAddress;
  listen = if hasListenAddress then upstream.listenAddress else generators.bindAddress cfg.openedServices.llamaSwap;
  # Settings a host gives upstream's option (ours is the empty document below).
  hostSettings = lib.filter (
    definition: definition.file != toString ./llama-swap.nix && definition.value != { }
  ) options.services.llama-swap.settings.definitionsWithLocations;
in
{
  options.services.local-llm.llamaSwap = {
    enable = lib.mkEnableOption "llama-swap, serving every GGUF in the models folder on demand";
    package = lib.mkPackageOption pkgs "llama-swap" { };
    port = shared.port generators.ports.llamaSwap "Port llama-swap listens on (upstream's 8080 collides with other services).";
    autoDiscover = lib.mkOption {
      type = lib.types.bool;
      default = true;
      example = false;
      description = "Rewrite llama-swap's config whenever a GGUF appears in or leaves the models folder.";
    };
    ttl = lib.mkOption {
      type = lib.types.nullOr lib.types.ints.unsigned;
      default = null;
      example = 600;
      description = "Seconds of idleness after which a model is unloaded (null: never).";
    };
    fallbacks = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [ "http://10.0.0.2:8090" ];
      description = "Other llama-swap endpoints the gateway fails over to.";
    };
    openFirewall = shared.openFirewall "llama-swap";
  };

  config = lib.mkIf (cfg.enable && swap.enable) {
    services.llama-swap = {
      enable = true;
      package = lib.mkDefault swap.package;
      port = lib.mkDefault swap.port;
      # Upstream renders this into the store, and its ExecStart (replaced below) reads it
      # even so: without a definition, a lib before 2026-03-25 fails to evaluate.
      settings = { };
    }
    // lib.optionalAttrs hasListenAddress {
      listenAddress = lib.mkDefault (generators.bindAddress cfg.openedServices.llamaSwap);
    };
    warnings = lib.optional (hostSettings != [ ]) (
      "services.llama-swap.settings (set in ${lib.concatMapStringsSep ", " (d: d.file) hostSettings}) is not used: "
      + "local-llm runs llama-swap with the config `llmctl discover` writes to ${configFile}; "
      + "declare models in services.local-llm.models (ttl, group, aliases, extraArgs) instead"
    );

    systemd.tmpfiles.rules = [ "d ${dirOf configFile} 0755 ${cfg.user} ${cfg.group} - -" ];

    systemd.services.local-llm-discover = {
      description = "Write llama-swap's config from the GGUF files in the models folder";
      before = [ "llama-swap.service" ];
      requiredBy = [ "llama-swap.service" ];
      after = [ "local-llm-models.service" ];
      serviceConfig = services.discover cfg.spec // {
        ExecStart = lib.escapeShellArgs (services.discoverArgv (lib.getExe cfg.package) cfg.stackFile cfg.spec);
      };
    };

    systemd.paths.local-llm-discover = lib.mkIf swap.autoDiscover {
      wantedBy = [ "multi-user.target" ];
      pathConfig = {
        PathChanged = cfg.modelsDir;
        Unit = "local-llm-discover.service";
      };
    };

    systemd.services.llama-swap = {
      after = [ "local-llm-discover.service" ];
      serviceConfig = {
        # The upstream unit bakes its settings into the store; ours are written at run time
        # and reloaded by -watch-config (a reload unloads running models, so discovery only
        # writes when the content changes).
        ExecStart = lib.mkForce (
          lib.escapeShellArgs ([ (lib.getExe upstream.package) ] ++ services.llamaSwapArgs listen upstream.port configFile)
        );
        # The GPU device nodes' groups; W+X memory for ROCm and RADV (hardening.gpu).
        inherit (hardening.gpu) SupplementaryGroups;
        MemoryDenyWriteExecute = lib.mkForce hardening.gpu.MemoryDenyWriteExecute;
        Environment = lib.mapAttrsToList (name: value: "${name}=${value}") cfg.spec.hardware.environment;
      };
    };
  };
}
