# A dedicated llama-server (chat, embedding, rerank) from the stack spec: the model's
# file, the role's port, the GPU profile's defaults, the model's overrides; as argv
# (`dedicatedServerArgv`) or as LLAMA_ARG_* variables plus the rest (`dedicatedServerEnv`).
let
  stack = import ./stack.nix;
  llamaServer = import ./llama-server.nix;

  # The arguments llamaServerArgv and llamaServerEnv take, for one role.
  serverArgs =
    input: role:
    let
      spec = stack.normalize input;
      d = spec.dedicated.${role} or (throw "local-llm: no dedicated ${role} server in this stack spec");
      model =
        spec.models.${d.model} or (throw "local-llm: dedicated ${role} server: model '${toString d.model}' is not declared");
      file =
        if (model.file or null) != null then
          (if builtins.substring 0 1 model.file == "/" then model.file else "${spec.modelsDir}/${model.file}")
        else
          throw "local-llm: model '${d.model}' has no file (set models.${d.model}.file)";
      profile = spec.hardware.llamaServer;
    in
    {
      inherit role;
      inherit (spec.llamaServer) binary capabilities;
      options = {
        model = file;
        # Device and offload lines in the journal, for `llmctl verify` (new builds: -lv 4).
        loadLog = true;
        host = spec.listenAddress;
        inherit (d) port;
        alias = [ d.model ];
        contextSize = model.contextSize or spec.llamaServer.contextSize;
        gpuLayers = model.gpuLayers or profile.gpuLayers;
        inherit (spec.llamaServer) parallel;
        inherit (profile) flashAttention noMmap;
        # Prometheus scrapes /metrics (services.local-llm.monitoring).
        metrics = spec.monitoring.enable;
      };
      extraArgs = spec.llamaServer.extraArgs ++ (model.extraArgs or [ ]);
    };
in
{
  dedicatedServerArgv = input: role: llamaServer.llamaServerArgv (serverArgs input role);
  dedicatedServerEnv = input: role: llamaServer.llamaServerEnv (serverArgs input role);
}
