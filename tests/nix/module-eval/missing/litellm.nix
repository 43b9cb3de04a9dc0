# services.litellm, which the nixpkgs data folder lacks: its option declarations with the
# types of nixos/modules/services/misc/litellm.nix (NixOS/nixpkgs 15162cff, the stored
# revision nearest the flake.lock's a0374025; docs/upstream-options.md). Only the options:
# the unit upstream builds from them is not reproduced here, so the tier sees what
# local-llm sets (settings, host, port, environment) and its own unit additions.
{ lib, pkgs, ... }:
let
  inherit (lib) types;
  settingsFormat = pkgs.formats.yaml { };
  setting =
    default: description:
    lib.mkOption {
      type = settingsFormat.type;
      inherit default description;
    };
in
{
  options.services.litellm = {
    enable = lib.mkEnableOption "LiteLLM server";
    package = lib.mkPackageOption pkgs "litellm" { };
    stateDir = lib.mkOption {
      type = types.path;
      default = "/var/lib/litellm";
      description = "State directory of LiteLLM.";
    };
    host = lib.mkOption {
      type = types.str;
      default = "127.0.0.1";
      description = "The host address which the LiteLLM server HTTP interface listens to.";
    };
    port = lib.mkOption {
      type = types.port;
      default = 8080;
      description = "Which port the LiteLLM server listens to.";
    };
    settings = lib.mkOption {
      type = types.submodule {
        freeformType = settingsFormat.type;
        options = {
          model_list = setting [ ] "List of supported models on the server, with model-specific configs.";
          router_settings = setting { } "LiteLLM Router settings";
          litellm_settings = setting { } "LiteLLM Module settings";
          general_settings = setting { } "LiteLLM Server settings";
          environment_variables = setting { } "Environment variables to pass to the Lite";
        };
      };
      default = { };
      description = "Configuration for LiteLLM.";
    };
    environment = lib.mkOption {
      type = types.attrsOf types.str;
      default = {
        SCARF_NO_ANALYTICS = "True";
        DO_NOT_TRACK = "True";
        ANONYMIZED_TELEMETRY = "False";
      };
      description = "Extra environment variables for LiteLLM.";
    };
    # Upstream declares no default: a host enabling LiteLLM must define it (null is fine).
    environmentFile = lib.mkOption {
      type = types.nullOr types.path;
      description = "Environment file to be passed to the systemd service.";
    };
    openFirewall = lib.mkOption {
      type = types.bool;
      default = false;
      description = "Whether to open the firewall for LiteLLM.";
    };
  };
}
