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

  # The same choice as optionArgs, spelled as llama-server's LLAMA_ARG_* variables.
  optionEnv =
    capabilities: role: options: option:
    let
      value = options.${option.name} or null;
      supported = !(option ? capability) || capabilities.${option.capability};
      forRole = !(option ? roles) || builtins.elem role option.roles;
      fill = builtins.mapAttrs (_: v: if v == "{}" then helpers.showValue value else v);
    in
    if !present value || !forRole then
      { }
    else if supported then
      fill option.env
    else
      option.legacyEnv.${helpers.showValue value} or { };

  checkRole =
    role: result:
    if table.roles ? ${role} then result else throw "local-llm: unknown llama-server role '${role}' (chat, embedding, rerank)";
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
    checkRole role (
      [ binary ]
      ++ helpers.concatMap (optionArgs caps role options) table.options
      ++ table.roles.${role}
      ++ extraArgs
    );

  # The same server as llamaServerArgv, for an env file: `environment` holds every option
  # of the table and the role's flags as LLAMA_ARG_* (llama-server reads them itself);
  # `args` is what has no variable: the binary and the extra arguments.
  llamaServerEnv =
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
    checkRole role {
      environment = builtins.foldl' (acc: option: acc // optionEnv caps role options option) table.roleEnv.${role} table.options;
      args = [ binary ] ++ extraArgs;
    };
}
