# The options of one declared model (services.local-llm.models.<name>), a submodule.
# Imported as a plain function by models.nix.
{ lib }:
let
  generators = import ../lib;
in
{
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
      type = lib.types.enum generators.roles;
      default = "chat";
      example = "embedding";
      description = "What the model answers: chat/completions, embeddings or reranking.";
    };
    serve = lib.mkOption {
      type = lib.types.enum [
        "swap"
        "dedicated"
      ];
      default = "swap";
      example = "dedicated";
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
      example = 99;
      description = "Layers offloaded to the GPU (`-ngl`); null keeps the profile's default.";
    };
    extraArgs = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [
        "--jinja"
      ];
      description = "Arguments added to this model's llama-server command line.";
    };
    ttl = lib.mkOption {
      type = lib.types.nullOr lib.types.ints.unsigned;
      default = null;
      example = 300;
      description = "Seconds of idleness after which llama-swap unloads the model.";
    };
    unlisted = lib.mkOption {
      type = lib.types.bool;
      default = false;
      example = true;
      description = "Hide the model from llama-swap's model list.";
    };
    group = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "embeddings";
      description = "llama-swap group the model belongs to.";
    };
  };
}
