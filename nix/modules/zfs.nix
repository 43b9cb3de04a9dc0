# A ZFS dataset for the models folder, created if missing and reconciled on every boot
# (NixOS never creates datasets itself).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.local-llm;
  zfs = cfg.zfs;
  properties = lib.filterAttrs (_: value: value != null) {
    inherit (zfs) quota recordsize compression;
    mountpoint = cfg.modelsDir;
  };
  setArgs = lib.concatStringsSep " " (lib.mapAttrsToList (name: value: "-o ${name}=${lib.escapeShellArg value}") properties);
  hardening = import ../lib/hardening.nix;
  # Units that read or write the models folder: they start once it is mounted.
  usesModels = [
    "local-llm-models.service"
    "local-llm-discover.service"
    "llama-swap.service"
    "ollama.service"
  ]
  ++ map (role: "local-llm-${role}.service") (import ../lib).roles;
  makeFolders = lib.concatStrings (
    lib.mapAttrsToList (
      path: f: "install -d -m ${f.mode} -o ${f.user} -g ${f.group} ${lib.escapeShellArg path}\n"
    ) cfg.folders
  );
in
{
  options.services.local-llm.zfs = {
    dataset = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "ssdpool/local/models";
      description = "ZFS dataset mounted on the models folder; created (with its parents) when missing.";
    };
    quota = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "500G";
      description = "Dataset quota; `llmctl status` and downloads see it through statvfs.";
    };
    recordsize = lib.mkOption {
      type = lib.types.str;
      default = "1M";
      example = "128K";
      description = "Record size: model files are large and read sequentially.";
    };
    compression = lib.mkOption {
      type = lib.types.str;
      default = "lz4";
      example = "zstd";
      description = "Compression: cheap, and it still saves space on F16 weights.";
    };
  };

  config = lib.mkIf (cfg.enable && zfs.dataset != null) {
    assertions = [
      {
        assertion = config.networking.hostId != null;
        message = "services.local-llm.zfs.dataset needs networking.hostId (8 hex digits, e.g. from `head -c4 /dev/urandom | od -A none -t x4`): ZFS refuses to import pools without it";
      }
    ];
    boot.supportedFilesystems.zfs = true;

    systemd.services.local-llm-dataset = {
      description = "Create or reconcile the ZFS dataset for local-llm models";
      wantedBy = [ "multi-user.target" ];
      requires = [ "zfs-import.target" ];
      after = [
        "zfs-import.target"
        "zfs-mount.service"
      ];
      before = usesModels;
      path = [ pkgs.zfs ];
      script = ''
        dataset=${lib.escapeShellArg zfs.dataset}
        if zfs list -H -o name "$dataset" >/dev/null 2>&1; then
          # Reconcile: set only what differs (setting the mountpoint again would remount
          # the folder under running model servers).
          ${lib.concatStringsSep "\n  " (
            lib.mapAttrsToList (
              name: value:
              "[ \"$(zfs get -H -o value ${name} \"$dataset\")\" = ${lib.escapeShellArg value} ] "
              + "|| zfs set ${name}=${lib.escapeShellArg value} \"$dataset\""
            ) properties
          )}
        else
          zfs create -p ${setArgs} "$dataset"
        fi
        zfs mount "$dataset" 2>/dev/null || true
        chown ${cfg.user}:${cfg.group} ${lib.escapeShellArg cfg.modelsDir}
        chmod 0755 ${lib.escapeShellArg cfg.modelsDir}
        ${makeFolders}
      '';
      # Root and no mount namespace of its own: the mount is for the whole system.
      serviceConfig = hardening.base // {
        Type = "oneshot";
        RemainAfterExit = true;
      };
    };

    # The path unit watches the folder once the dataset is mounted on it; a watch set
    # before would stay on the folder underneath. Path units are ordered before
    # paths.target and basic.target, ahead of every service, so it drops those defaults.
    systemd.paths.local-llm-discover = lib.mkIf (cfg.llamaSwap.enable && cfg.llamaSwap.autoDiscover) {
      after = [
        "sysinit.target"
        "local-llm-dataset.service"
      ];
      requires = [ "sysinit.target" ];
      before = [ "shutdown.target" ];
      conflicts = [ "shutdown.target" ];
      unitConfig.DefaultDependencies = false;
    };
  };
}
