# The units of local-llm's own services (a dedicated llama-server, discovery, llmctl's
# exporter) without what differs by host kind: their command lines and [Service]
# settings, in the shared sandbox (hardening.nix). The NixOS modules and the units
# rendered off NixOS (units.nix) both take them from here; `spec` is the normalised
# stack spec.
let
  hardening = import ./hardening.nix;
  inherit (import ./defaults.nix) loopback;

  owner = spec: {
    User = spec.user;
    Group = spec.group;
  };
in
rec {
  # A long-running service comes back after a crash.
  restarting = {
    Restart = "on-failure";
    RestartSec = 5;
  };

  dedicatedServer =
    spec: role:
    hardening.gpu
    // restarting
    // owner spec
    // {
      StateDirectory = "local-llm/${role}";
      CacheDirectory = "local-llm/${role}";
      UMask = "0077";
    };

  # llama-swap on the config discovery writes, reloaded when it changes.
  llamaSwapArgs = address: port: configFile: [
    "-listen"
    "${address}:${toString port}"
    "-config"
    configFile
    "-watch-config"
  ];

  discoverArgv = llmctl: stackFile: spec: [
    llmctl
    "discover"
    "--stack"
    stackFile
    "--output"
    spec.llamaSwap.configFile
  ];

  discover =
    spec:
    hardening.service
    // owner spec
    // {
      Type = "oneshot";
      # GGUF header summaries, so a rerun only reads new or changed files.
      CacheDirectory = "local-llm/discover";
      Environment = [ "LLMCTL_CACHE_DIR=%C/local-llm/discover" ];
      ReadWritePaths = [ (dirOf spec.llamaSwap.configFile) ];
      PrivateNetwork = true;
      # llama-swap runs under another user and reads the config.
      UMask = "0022";
    };

  exporterArgv = llmctl: stackFile: spec: [
    llmctl
    "exporter"
    "--stack"
    stackFile
    "--listen"
    "${loopback}:${toString spec.monitoring.exporter.port}"
  ];

  exporter =
    spec:
    hardening.service
    // restarting
    // owner spec
    // {
      # The GPU-use check reads the llama-servers' startup logs from the journal.
      SupplementaryGroups = [ "systemd-journal" ];
      UMask = "0077";
    };
}
