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
      description = "Record size: model files are large and read sequentially.";
    };
    compression = lib.mkOption {
      type = lib.types.str;
      default = "lz4";
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
      before = [
        "local-llm-models.service"
        "llama-swap.service"
        "ollama.service"
        "local-llm-chat.service"
        "local-llm-embedding.service"
        "local-llm-rerank.service"
      ];
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
      '';
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
      };
    };
  };
}
