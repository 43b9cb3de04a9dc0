# nixos/modules/system/boot/systemd.nix is not in the data folder: its option
# declarations, with the element types from the real nixos/lib/systemd-types.nix, and
# systemd.units rendered from the services and paths by the real unit renderer of
# nixos/lib/systemd-lib.nix, as systemd.nix does.
{
  config,
  lib,
  pkgs,
  utils,
  ...
}:
let
  inherit (lib) mkOption types;
  inherit (utils) systemdUtils;
  cfg = config.systemd;
  withName = toUnit: unit: lib.nameValuePair unit.name (toUnit unit);
in
{
  options.systemd = {
    package = lib.mkPackageOption pkgs "systemd" { };
    units = mkOption {
      description = "Definition of systemd units.";
      default = { };
      type = systemdUtils.types.units;
    };
    services = mkOption {
      description = "Definition of systemd service units.";
      default = { };
      type = systemdUtils.types.services;
    };
    paths = mkOption {
      description = "Definition of systemd path units.";
      default = { };
      type = systemdUtils.types.paths;
    };
    targets = mkOption {
      description = "Definition of systemd target units.";
      default = { };
      type = systemdUtils.types.targets;
    };
    globalEnvironment = mkOption {
      type = types.attrsOf (
        types.nullOr (
          types.oneOf [
            types.str
            types.path
            types.package
          ]
        )
      );
      default = { };
      description = "Environment variables passed to all systemd units.";
    };
    enableStrictShellChecks = lib.mkEnableOption "running shellcheck on the generated scripts for systemd units";
    additionalUpstreamSystemUnits = mkOption {
      default = [ ];
      type = types.listOf types.str;
      description = "Additional units shipped with systemd that shall be enabled.";
    };
    additionalUpstreamUserUnits = mkOption {
      default = [ ];
      type = types.listOf types.str;
      description = "Additional units shipped with systemd that should be enabled for per-user systemd instances.";
    };
    # nixos/modules/system/boot/systemd/sysusers.nix
    sysusers.enable = lib.mkEnableOption "systemd-sysusers for creating users";
  };

  config.systemd.units =
    lib.mapAttrs' (_: withName systemdUtils.lib.pathToUnit) cfg.paths
    // lib.mapAttrs' (_: withName systemdUtils.lib.serviceToUnit) cfg.services
    // lib.mapAttrs' (_: withName systemdUtils.lib.targetToUnit) cfg.targets;
}
