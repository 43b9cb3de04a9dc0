# Declared models, and the oneshot that fetches them (idempotent, like Ollama's loadModels).
{
  config,
  lib,
  ...
}:
let
  cfg = config.services.local-llm;
  hfModels = lib.filterAttrs (_: m: m.source != null && lib.hasPrefix "hf:" m.source) cfg.models;
  fileModels = lib.filterAttrs (_: m: m.source != null && lib.hasPrefix "file:" m.source) cfg.models;
  llmctl = lib.getExe cfg.package;

  fetchHf =
    name: m:
    "${llmctl} download ${lib.escapeShellArg (lib.removePrefix "hf:" m.source)} --models-dir ${lib.escapeShellArg "${cfg.modelsDir}/${name}"}"
    + lib.optionalString (cfg.huggingFace.tokenFile != null) " --token-file \"$CREDENTIALS_DIRECTORY/hf-token\"";

  copyFile =
    name: m:
    let
      target = "${cfg.modelsDir}/${name}";
      from = lib.removePrefix "file:" m.source;
    in
    ''
      if ! compgen -G ${lib.escapeShellArg target}'/*.gguf' >/dev/null; then
        install -d -m 0755 ${lib.escapeShellArg target}
        cp --reflink=auto ${lib.escapeShellArg from} ${lib.escapeShellArg target}/.incoming.part
        mv ${lib.escapeShellArg "${target}/.incoming.part"} ${lib.escapeShellArg "${target}/${baseNameOf from}"}
      fi
    '';

  modelOptions = {
    options = {
      source = lib.mkOption {
        type = lib.types.nullOr (lib.types.strMatching "(hf:[^/: ]+/[^/: ]+(:[^ ]+)?|file:/.+)");
        default = null;
        example = "hf:unsloth/Devstral-2-123B-Instruct-2512-GGUF:Q4_K_M";
        description = ''
          Where the model comes from: `hf:ORG/REPO[:QUANT]` (fetched with `llmctl download`
          into {option}`services.local-llm.modelsDir`/NAME) or `file:/absolute/path.gguf`
          (copied there).
        '';
      };
      file = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "Qwen3-Embedding-8B-Q8_0.gguf";
        description = ''
          The GGUF to serve, relative to the models folder (or absolute). Without it, the
          first GGUF in modelsDir/NAME (where the source is fetched to) is served.
        '';
      };
      role = lib.mkOption {
        type = lib.types.enum [
          "chat"
          "embedding"
          "rerank"
        ];
        default = "chat";
        description = "What the model answers: chat/completions, embeddings or reranking.";
      };
      serve = lib.mkOption {
        type = lib.types.enum [
          "swap"
          "dedicated"
        ];
        default = "swap";
        description = "Behind llama-swap (loaded on demand) or as the role's dedicated llama-server.";
      };
      aliases = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [ "gpt-4" ];
        description = "Other model names clients may use for this model.";
      };
      contextSize = lib.mkOption {
        type = lib.types.nullOr lib.types.ints.unsigned;
        default = null;
        example = 262144;
        description = "Context size (`-c`) for this model.";
      };
      gpuLayers = lib.mkOption {
        type = lib.types.nullOr (lib.types.either lib.types.ints.unsigned lib.types.str);
        default = null;
        description = "Layers offloaded to the GPU (`-ngl`); null keeps the profile's default.";
      };
      extraArgs = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        description = "Arguments added to this model's llama-server command line.";
      };
      ttl = lib.mkOption {
        type = lib.types.nullOr lib.types.ints.unsigned;
        default = null;
        description = "Seconds of idleness after which llama-swap unloads the model.";
      };
      unlisted = lib.mkOption {
        type = lib.types.bool;
        default = false;
        description = "Hide the model from llama-swap's model list.";
      };
      group = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        description = "llama-swap group the model belongs to.";
      };
    };
  };
in
{
  options.services.local-llm.models = lib.mkOption {
    type = lib.types.attrsOf (lib.types.submodule modelOptions);
    default = { };
    example = lib.literalExpression ''
      {
        devstral = { source = "hf:unsloth/Devstral-2-123B-Instruct-2512-GGUF:Q4_K_M"; serve = "dedicated"; };
        qwen3-embedding = { source = "hf:Qwen/Qwen3-Embedding-8B-GGUF:Q8_0"; role = "embedding"; };
      }
    '';
    description = "Models this host serves, fetched at boot when they have a source.";
  };

  config = lib.mkIf (cfg.enable && (hfModels != { } || fileModels != { })) {
    systemd.services.local-llm-models = {
      description = "Fetch the declared local-llm models";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [
        "network-online.target"
        "local-llm-dataset.service"
      ];
      # Fetching is idempotent: present, verified files are not downloaded again.
      script = lib.concatStringsSep "\n" (lib.mapAttrsToList fetchHf hfModels ++ lib.mapAttrsToList copyFile fileModels);
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        User = cfg.user;
        Group = cfg.group;
        LoadCredential = lib.optional (cfg.huggingFace.tokenFile != null) "hf-token:${cfg.huggingFace.tokenFile}";
        # A download interrupted by a reboot resumes on the next start.
        Restart = "on-failure";
        RestartSec = 30;
        ProtectSystem = "strict";
        ReadWritePaths = [ cfg.modelsDir ];
        ProtectHome = true;
        PrivateTmp = true;
        NoNewPrivileges = true;
      };
    };
  };
}
