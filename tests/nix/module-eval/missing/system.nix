# Options the real core modules (firewall, users-groups) set for parts of NixOS the
# tests do not evaluate (kernel modules, the system path, activation), declared with
# the types of their nixpkgs files. Nothing reads them back.
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options = {
    # nixos/modules/system/boot/kernel.nix
    boot.kernelModules = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "The set of kernel modules to be loaded in the second stage of the boot process.";
    };

    # nixos/modules/system/boot/modprobe.nix
    boot.extraModprobeConfig = mkOption {
      type = types.lines;
      default = "";
      description = "Any additional configuration to be appended to the generated modprobe.conf.";
    };

    # nixos/modules/config/system-path.nix
    environment.systemPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      description = "The set of packages that appear in /run/current-system/sw.";
    };

    # nixos/modules/config/shells-environment.nix
    environment.profiles = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "A list of profiles used to setup the global environment.";
    };

    # nixos/modules/system/activation/activation-script.nix
    system.activationScripts = mkOption {
      default = { };
      type = types.attrsOf (
        types.either types.str (
          types.submodule {
            options = {
              deps = mkOption {
                type = types.listOf types.str;
                default = [ ];
                description = "List of dependencies. The script will run after these.";
              };
              text = mkOption {
                type = types.lines;
                description = "The content of the script.";
              };
              supportsDryActivation = mkOption {
                type = types.bool;
                default = false;
                description = "Whether this activation script supports being dry-activated.";
              };
            };
          }
        )
      );
      description = "Shell script fragments executed when a system configuration is activated.";
    };
  };
}
