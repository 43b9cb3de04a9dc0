# lib.evalModules over the local-llm modules, the test-only upstream declarations and
# the fake package set; `modules` adds a host (or nothing, for the option docs).
{
  nixpkgsLib,
  modules ? [ ],
}:
let
  lib = import nixpkgsLib;
  pkgs = import ./fake-pkgs.nix { inherit lib; };
in
lib.evalModules {
  modules = [
    ./upstream-options.nix
    {
      # nixos/modules/tasks/network-interfaces.nix
      options.networking.hostName = lib.mkOption {
        type = lib.types.str;
        default = "nixos";
      };
      config._module.args = { inherit pkgs; };
    }
    ../../../nix/modules
  ]
  ++ modules;
}
