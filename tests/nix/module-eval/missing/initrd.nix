# nixos/modules/system/boot/systemd/initrd.nix is not in the data folder: the parts of
# boot.initrd.systemd that the real tmpfiles.nix and users-groups.nix define, with
# the types of the real nixos/lib/systemd-types.nix. The initrd is off, as by default.
{ lib, utils, ... }:
let
  inherit (lib) mkOption;
  inherit (utils.systemdUtils) types;
in
{
  options.boot.initrd.systemd = {
    enable = lib.mkEnableOption "systemd in initrd";
    additionalUpstreamUnits = mkOption {
      default = [ ];
      type = lib.types.listOf lib.types.str;
      description = "Additional units shipped with systemd that shall be enabled.";
    };
    services = mkOption {
      default = { };
      type = types.initrdServices;
      description = "Definition of systemd service units in the initrd.";
    };
    contents = mkOption {
      default = { };
      type = types.initrdContents;
      description = "Set of files that have to be linked into the initrd.";
    };
    storePaths = mkOption {
      default = [ ];
      type = types.initrdStorePath;
      description = "Store paths to copy into the initrd as well.";
    };
  };
}
