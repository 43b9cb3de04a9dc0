# Test-only declarations of the NixOS and upstream service options the local-llm
# modules set, so they evaluate with nixpkgs' `lib` alone (no nixpkgs here).
# Each option carries the upstream name and type; docs/upstream-options.md names the
# nixpkgs file that declares it and the release it was checked against.
{ lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  freeform = types.attrsOf types.anything;
  option =
    type: default:
    mkOption {
      inherit type default;
    };
  service =
    extra:
    option (types.attrsOf (
      types.submodule {
        freeformType = freeform;
        options = extra;
      }
    )) { };
  unitOptions = {
    serviceConfig = option freeform { };
    environment = option (types.attrsOf (types.nullOr (types.oneOf [
      types.str
      types.path
      types.package
    ]))) { };
    path = option (types.listOf (types.either types.package types.str)) [ ];
    wantedBy = option (types.listOf types.str) [ ];
    requiredBy = option (types.listOf types.str) [ ];
    after = option (types.listOf types.str) [ ];
    before = option (types.listOf types.str) [ ];
    wants = option (types.listOf types.str) [ ];
    requires = option (types.listOf types.str) [ ];
    script = option types.lines "";
    preStart = option types.lines "";
  };
in
{
  options = {
    # nixos/modules/misc/assertions.nix
    assertions = option (types.listOf types.unspecified) [ ];
    warnings = option (types.listOf types.str) [ ];

    # nixos/modules/system/boot/kernel.nix
    boot.kernelParams = option (types.listOf types.str) [ ];
    # nixos/modules/tasks/filesystems.nix (attrsOf bool, coerced from a list)
    boot.supportedFilesystems = option (types.coercedTo (types.listOf types.str) (
      names: lib.genAttrs names (_: true)
    ) (types.attrsOf types.bool)) { };

    # nixos/modules/tasks/network-interfaces.nix
    networking.hostId = option (types.nullOr types.str) null;
    # nixos/modules/services/networking/firewall.nix
    networking.firewall.allowedTCPPorts = option (types.listOf types.port) [ ];
    networking.firewall.interfaces = option (types.attrsOf (
      types.submodule { options.allowedTCPPorts = option (types.listOf types.port) [ ]; }
    )) { };

    # nixos/modules/system/boot/systemd.nix, systemd/tmpfiles.nix
    systemd.services = service unitOptions;
    systemd.paths = service {
      wantedBy = option (types.listOf types.str) [ ];
      pathConfig = option freeform { };
    };
    systemd.tmpfiles.rules = option (types.listOf types.str) [ ];

    # nixos/modules/config/users-groups.nix
    users.users = service { };
    users.groups = service { };

    # nixos/modules/system/etc/etc.nix, config/system-path.nix
    environment.etc = service {
      text = option (types.nullOr types.lines) null;
      source = option (types.nullOr types.path) null;
      mode = option types.str "symlink";
    };
    environment.systemPackages = option (types.listOf types.package) [ ];

    # nixos/modules/services/networking/llama-swap.nix
    services.llama-swap = {
      enable = option types.bool false;
      package = option types.package pkgs.llama-swap;
      port = option types.port 8080;
      openFirewall = option types.bool false;
      settings = option freeform { };
    };

    # nixos/modules/services/misc/ollama.nix
    services.ollama = {
      enable = option types.bool false;
      package = option types.package pkgs.ollama;
      user = option (types.nullOr types.str) null;
      group = option (types.nullOr types.str) null;
      home = option types.str "/var/lib/ollama";
      models = option types.str "/var/lib/ollama/models";
      host = option types.str "127.0.0.1";
      port = option types.port 11434;
      rocmOverrideGfx = option (types.nullOr types.str) null;
      environmentVariables = option (types.attrsOf types.str) { };
      loadModels = option (types.listOf types.str) [ ];
      openFirewall = option types.bool false;
    };

    # nixos/modules/services/misc/open-webui.nix
    services.open-webui = {
      enable = option types.bool false;
      package = option types.package pkgs.open-webui;
      host = option types.str "127.0.0.1";
      port = option types.port 8080;
      environment = option (types.attrsOf types.str) { };
      environmentFile = option (types.nullOr types.path) null;
      openFirewall = option types.bool false;
      stateDir = option types.path "/var/lib/open-webui";
    };

    # nixos/modules/services/networking/envoy.nix
    services.envoy = {
      enable = option types.bool false;
      package = option types.package pkgs.envoy;
      requireValidConfig = option types.bool true;
      settings = option freeform { };
    };
  };
}
