# Core NixOS options the local-llm modules (and the real upstream modules loaded
# beside them) set or read, whose nixpkgs files are not in the data folder. Each is
# declared with the type of the nixpkgs file named above it (docs/upstream-options.md
# gives the revision checked); assertions the real files attach to them come along.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
in
{
  options = {
    # nixos/modules/tasks/network-interfaces.nix
    networking.hostName = mkOption {
      default = "nixos";
      # Only a DNS label: no FQDN.
      type = types.strMatching "^$|^[[:alnum:]]([[:alnum:]_-]{0,61}[[:alnum:]])?$";
      description = "The name of the machine.";
    };
    networking.hostId = mkOption {
      default = null;
      type = types.nullOr types.str;
      description = "The 32-bit host ID of the machine, formatted as 8 hexadecimal characters.";
    };
    networking.enableIPv6 = mkOption {
      default = true;
      type = types.bool;
      description = "Whether to enable support for IPv6.";
    };

    # nixos/modules/services/networking/nftables.nix
    networking.nftables.enable = lib.mkEnableOption "nftables and use nftables based firewall if enabled";

    # nixos/modules/system/boot/kernel.nix
    boot.kernelPackages = mkOption {
      default = pkgs.linuxPackages;
      type = types.raw;
      description = "The kernel package set.";
    };
    boot.kernelParams = mkOption {
      default = [ ];
      type = types.listOf (
        types.strMatching ''([^"[:space:]]|"[^"]*")+''
        // {
          name = "kernelParam";
          description = "string, with spaces inside double quotes";
        }
      );
      description = "Parameters added to the kernel command line.";
    };

    # nixos/modules/tasks/filesystems.nix
    boot.supportedFilesystems = mkOption {
      default = { };
      type = types.coercedTo (types.listOf types.str) (
        enabled: lib.listToAttrs (map (fs: lib.nameValuePair fs true) enabled)
      ) (types.attrsOf types.bool);
      description = "Names of supported filesystem types, or an attribute set of file system types and their state.";
    };

    # nixos/modules/config/nix.nix
    nix.enable = mkOption {
      type = types.bool;
      default = true;
      description = "Whether to enable Nix.";
    };

    # nixos/modules/programs/shadow.nix
    users.defaultUserShell = mkOption {
      default = "/bin/sh";
      type = types.either types.path types.shellPackage;
      description = "The default shell assigned to user accounts.";
    };

    # nixos/modules/misc/ids.nix
    ids.uids = mkOption {
      internal = true;
      type = types.attrsOf types.int;
      description = "The user IDs used in NixOS.";
    };
    ids.gids = mkOption {
      internal = true;
      type = types.attrsOf types.int;
      description = "The group IDs used in NixOS.";
    };
  };

  config = {
    # network-interfaces.nix
    assertions =
      let
        hexChars = lib.stringToCharacters "0123456789abcdef";
        isHexString = s: lib.all (c: lib.elem c hexChars) (lib.stringToCharacters (lib.toLower s));
      in
      [
        {
          assertion =
            config.networking.hostId == null
            || (lib.stringLength config.networking.hostId == 8 && isHexString config.networking.hostId);
          message = "Invalid value given to the networking.hostId option.";
        }
      ];

    # ids.nix: the ids users-groups.nix reads.
    ids.uids = {
      root = 0;
      nobody = 65534;
    };
    ids.gids = {
      root = 0;
      wheel = 1;
      kmem = 2;
      tty = 3;
      disk = 6;
      audio = 17;
      floppy = 18;
      uucp = 19;
      lp = 20;
      cdrom = 24;
      tape = 25;
      video = 26;
      dialout = 27;
      utmp = 29;
      adm = 55;
      keys = 96;
      users = 100;
      input = 174;
      kvm = 302;
      render = 303;
      sgx = 304;
      shadow = 318;
      nixbld = 30000;
      nogroup = 65534;
    };
  };
}
