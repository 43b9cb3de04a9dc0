# The data files nix/lib shares with llmctl, kept once in the Python package. This is
# the one place that names their folder: a copy of nix/lib shipped elsewhere (inside
# the llmctl package) changes only this path.
let
  dir = ../../python/llmctl/src/llmctl/data;
  read = name: builtins.fromJSON (builtins.readFile (dir + "/${name}"));
in
{
  flagTable = read "llama-server-flags.json";
  gpuProfiles = read "gpu-profiles.json";
  healthPaths = (read "health-paths.json").paths;
  defaults = read "defaults.json";
}
