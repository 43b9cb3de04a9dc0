# Open WebUI settings (services.open-webui): pointed at llama-swap (OpenAI API) and
# Ollama, configured by environment only, login required. WEBUI_SECRET_KEY comes from
# `environmentFile`, read at start, never from this attrset (it would land in the store).
let
  stack = import ./stack.nix;
  helpers = import ./helpers.nix;
in
{
  webuiSettings =
    input:
    let
      spec = stack.normalize input;
      inherit (spec) backends;
      # llama-swap lists every model; without it the gateway or the chat server does.
      openai =
        if backends ? llamaSwap then
          backends.llamaSwap.url
        else if spec.gateway.enable then
          "http://127.0.0.1:${toString spec.gateway.port}"
        else
          backends.chat.url or null;
    in
    {
      host = spec.listenAddress;
      inherit (spec.webui) port;
      environmentFile = spec.webui.secretKeyFile;
      environment = {
        # The environment is the configuration; nothing edited in the UI survives a restart.
        ENABLE_PERSISTENT_CONFIG = "False";
        WEBUI_AUTH = "True";
        ENABLE_SIGNUP = "False";
        ENABLE_OPENAI_API = if openai == null then "False" else "True";
        ENABLE_OLLAMA_API = if backends ? ollama then "True" else "False";
        # Offline hosts: no embedding model download at start.
        RAG_EMBEDDING_MODEL = "";
      }
      // helpers.optionalAttrs (openai != null) {
        OPENAI_API_BASE_URLS = "${openai}/v1";
        OPENAI_API_KEYS = "";
      }
      // helpers.optionalAttrs (backends ? ollama) { OLLAMA_BASE_URL = backends.ollama.url; };
    };
}
