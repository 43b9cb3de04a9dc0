# The services.local-llm option declarations as documentation data (for docs/options.md).
{ nixpkgsLib }:
let
  lib = import nixpkgsLib;
  pkgs = import ./fake-pkgs.nix { inherit lib; };
  evaluated = lib.evalModules {
    modules = [
      ./upstream-options.nix
      {
        options.networking.hostName = lib.mkOption {
          type = lib.types.str;
          default = "nixos";
        };
        config._module.args = { inherit pkgs; };
      }
      ../../../nix/modules
    ];
  };
  docs = lib.optionAttrSetToDocList evaluated.options.services.local-llm;
in
map (
  option:
  {
    inherit (option) name description type;
    default = option.default.text or null;
    example = option.example.text or null;
  }
) (lib.filter (option: option.visible && !option.internal) docs)
