"""`llmctl render`: the files a host off NixOS needs (units, env files, compose, gateway
configs, CONFIGURATION.md), from the same stack input the NixOS module builds, by
evaluating nix/lib (shipped inside this package as `llmctl/nixlib`) with nix-instantiate.
nix/lib decides every file's content (`render.nix`, one table of outputs); this package
finds the input (`source`), evaluates (`evaluate`), turns each entry into text
(`outputs`), writes the folder and installs units (`files`)."""
