# The LiteLLM proxy as the gateway (gateway.kind = "litellm"): the same model table and
# aliases the Envoy gateway routes (gateway.nix), as a LiteLLM config (services.litellm's
# `settings` on NixOS, litellm.yaml off it). LiteLLM routes by `model` only, not by path:
# a request for a name no backend declares goes to llama-swap (else the chat server),
# whatever its path. Fallback URLs are deployments of the same name with a higher
# `order`, which LiteLLM tries when the lower ones fail.
let
  stack = import ./stack.nix;
  facts = import ./defaults.nix;
  helpers = import ./helpers.nix;

  # LiteLLM's provider for each kind of backend: llama-server, llama-swap and Ollama speak
  # the OpenAI API under /v1; a llama-server's /rerank is what LiteLLM's hosted_vllm rerank calls.
  provider = name: if name == "rerank" then "hosted_vllm" else "openai";
  apiBase = name: url: if name == "rerank" then url else "${url}/v1";

  deployments =
    name: backend: modelName: served:
    let
      urls = [ backend.url ] ++ backend.fallbacks;
    in
    builtins.genList (
      i:
      {
        model_name = modelName;
        litellm_params = {
          model = "${provider name}/${served}";
          api_base = apiBase name (builtins.elemAt urls i);
          # The backends ask for no key; the OpenAI client LiteLLM uses needs one.
          api_key = "none";
        }
        // helpers.optionalAttrs (backend.fallbacks != [ ]) { order = i + 1; };
      }
    ) (builtins.length urls);

  # The names a backend answers, as the Envoy gateway matches them.
  routed = backend: helpers.optional (backend.model != null) backend.model ++ backend.aliases;

  modelList =
    spec:
    let
      inherit (spec) backends;
      named = builtins.filter (name: routed backends.${name} != [ ]) (builtins.attrNames backends);
      # A dedicated server answers as its model; Ollama by the name asked for.
      served = name: alias: if name == "ollama" || backends.${name}.model == null then alias else backends.${name}.model;
      fallbackName =
        if backends ? llamaSwap then
          "llamaSwap"
        else if backends ? chat then
          "chat"
        else
          null;
    in
    helpers.concatMap (
      name: helpers.concatMap (alias: deployments name backends.${name} alias (served name alias)) (routed backends.${name})
    ) named
    # Any other name: llama-swap serves whatever is in the models folder.
    ++ helpers.optionals (fallbackName != null) (deployments fallbackName backends.${fallbackName} "*" "*");

  litellmConfig =
    input:
    let
      spec = stack.normalize input;
    in
    if spec.backends == { } then
      throw "local-llm: the gateway has no backend: enable a dedicated chat/embedding/rerank server, llama-swap or Ollama"
    else
      {
        model_list = modelList spec;
        router_settings = {
          # As the Envoy routes: a failure before an answer is tried twice more.
          num_retries = 2;
        };
        litellm_settings = {
          # OpenAI parameters a llama-server does not know are dropped, not refused.
          drop_params = true;
          # Long generations: the Envoy gateway's idle timeout, in seconds.
          request_timeout = 3600;
          telemetry = false;
        };
        general_settings =
          if spec.gateway.apiKeyFile != null then
            # Read at start from the key file (the unit exports its first key).
            { master_key = "os.environ/LITELLM_MASTER_KEY"; }
          else
            # No key file: like the Envoy gateway without one, every request is let in;
            # the gateway listens on loopback unless the host opens it.
            { dangerously_permit_weak_or_unset_master_key = true; };
      };

  # LiteLLM's environment: no telemetry, the bundled model cost map (no fetch at start).
  litellmEnvironment = facts.telemetryOptOuts // {
    LITELLM_LOCAL_MODEL_COST_MAP = "True";
  };

  # The proxy's command; with a key file, its first key (comments skipped) becomes
  # LITELLM_MASTER_KEY at start, read from the credential, never written anywhere.
  litellmCommand =
    binary: bindOf: spec: config: keys:
    let
      argv = [
        binary
        "--host"
        (bindOf "gateway")
        "--port"
        (toString spec.gateway.port)
        "--config"
        config
      ];
    in
    if keys == null then
      argv
    else
      [
        "/bin/sh"
        "-ec"
        ''LITELLM_MASTER_KEY=$(grep -v '^#' "$CREDENTIALS_DIRECTORY/api-keys" | grep -m 1 .); export LITELLM_MASTER_KEY; exec "$0" "$@"''
      ]
      ++ argv;
in
{
  inherit litellmConfig litellmEnvironment litellmCommand;
}
