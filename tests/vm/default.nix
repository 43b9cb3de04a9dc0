# NixOS VM tests, one per file (files starting with `_` are shared helpers), collected
# into the flake's checks as vm-NAME. They need KVM: `nix flake check` on x86_64-linux.
{ pkgs, self }:
let
  inherit (pkgs) lib;
  tinyModels = import ./_tiny-models.nix { inherit pkgs; };
  tests = lib.filterAttrs (
    name: type: type == "regular" && lib.hasSuffix ".nix" name && name != "default.nix" && !lib.hasPrefix "_" name
  ) (builtins.readDir ./.);
in
lib.mapAttrs' (
  name: _:
  lib.nameValuePair "vm-${lib.removeSuffix ".nix" name}" (
    pkgs.testers.runNixOSTest (import ./${name} { inherit self tinyModels; })
  )
) tests
