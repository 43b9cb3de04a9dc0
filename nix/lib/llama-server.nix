# llama-server argv from model + role + options, driven by llama-server-flags.json,
# the table llmctl's discovery and planner read too (llmctl/flags.py; see data.nix).
let
  helpers = import ./helpers.nix;
  table = (import ./data.nix).flagTable;

  # What the llama.cpp of the pinned nixpkgs (nixos-26.05) understands.
  defaultCapabilities = builtins.mapAttrs (_: capability: capability.default) table.capabilities;

  present = value: value != null && value != false && value != "" && value != [ ];

  substitute = value: map (arg: if arg == "{}" then helpers.showValue value else arg);

  optionArgs =
    capabilities: role: options: option:
    let
      value = options.${option.name} or null;
      supported = !(option ? capability) || capabilities.${option.capability};
      forRole = !(option ? roles) || builtins.elem role option.roles;
    in
    if !present value || !forRole then
      [ ]
    else if supported then
      substitute value option.args
    else
      option.legacy.${helpers.showValue value} or [ ];
in
{
  inherit defaultCapabilities;
  flagTable = table;

  # argv = [ binary ... ]. `options`: model (path), host, port, alias (list), mmproj (chat only), contextSize,
  # gpuLayers, parallel, cacheTypeK, cacheTypeV, flashAttention ("on"|"off"|"auto"), noMmap (bool), metrics (bool); `role`: chat,
  # embedding or rerank; `capabilities` default to the pinned nixpkgs' llama.cpp.
  llamaServerArgv =
    {
      binary ? "llama-server",
      role,
      options,
      extraArgs ? [ ],
      capabilities ? { },
    }:
    let
      caps = defaultCapabilities // capabilities;
    in
    if !(table.roles ? ${role}) then
      throw "local-llm: unknown llama-server role '${role}' (chat, embedding, rerank)"
    else
      [ binary ]
      ++ helpers.concatMap (optionArgs caps role options) table.options
      ++ table.roles.${role}
      ++ extraArgs;
}
