# The services.local-llm option declarations as documentation data (for docs/options.md).
{
  nixpkgs,
  nixpkgsLib ? nixpkgs + "/lib",
}:
let
  lib = import nixpkgsLib;
  evaluated = import ./evaluate.nix { inherit nixpkgs nixpkgsLib; };
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
