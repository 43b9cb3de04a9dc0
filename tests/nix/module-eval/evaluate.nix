# lib.evalModules over the local-llm modules and the real nixpkgs files they build on
# (../shared/data/nixpkgs: upstream service modules, core modules, nixos/lib), plus
# declarations of what that folder lacks (./missing) and a fake package set.
# `modules` adds a host (or nothing, for the option docs); `upstreamOverrides` replaces
# an upstream file by another revision ({ "services/misc/ollama.nix" = /path; }).
{
  nixpkgs,
  nixpkgsLib ? nixpkgs + "/lib",
  modules ? [ ],
  upstreamOverrides ? { },
}:
let
  lib = import nixpkgsLib;
  pkgs = import ./fake-pkgs.nix { inherit lib; };
  upstream = file: upstreamOverrides.${file} or (nixpkgs + "/nixos/modules/${file}");
  upstreamModules = import ./upstream-modules.nix;
in
lib.evalModules {
  modules =
    map upstream upstreamModules
    ++ [
      ./missing/core.nix
      ./missing/systemd.nix
      ./missing/initrd.nix
      ./missing/system.nix
      ./missing/monitoring.nix
      ./missing/litellm.nix
      (
        { config, ... }:
        {
          # As nixos/modules/misc/extra-arguments.nix passes them.
          _module.args = {
            inherit pkgs;
            utils = import (nixpkgs + "/nixos/lib/utils.nix") { inherit lib config pkgs; };
          };
        }
      )
      ../../../nix/modules
    ]
    ++ modules;
}
