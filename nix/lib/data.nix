# The data files nix/lib shares with llmctl, kept once in the Python package. This is
# the one place that names their folder. In the repository it is the package's data/
# folder; in an installed llmctl, which ships nix/lib as llmctl/nixlib (package data),
# it is the data/ folder beside it.
let
  inRepository = ../../python/llmctl/src/llmctl/data;
  inPackage = ../data;
  dir = if builtins.pathExists inRepository then inRepository else inPackage;
  read = name: builtins.fromJSON (builtins.readFile (dir + "/${name}"));
in
{
  flagTable = read "llama-server-flags.json";
  gpuProfiles = read "gpu-profiles.json";
  healthPaths = (read "health-paths.json").paths;
  defaults = read "defaults.json";
}
