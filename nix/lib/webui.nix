# Open WebUI settings (services.open-webui): pointed at the gateway (one model list for
# every backend), else llama-swap, else the chat server, plus Ollama when there is no
# gateway; configured by environment only, login required, nothing fetched from the
# internet. WEBUI_SECRET_KEY comes from `environmentFile` and the gateway's key from
# `gatewayKey` (files read at start), never from this attrset: it lands in the store.
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
      viaGateway = spec.gateway.enable;
      openai =
        if viaGateway then
          "http://127.0.0.1:${toString spec.gateway.port}"
        else if backends ? llamaSwap then
          backends.llamaSwap.url
        else
          backends.chat.url or null;
      keyed = viaGateway && spec.gateway.apiKeyFile != null;
      # The gateway lists Ollama's models too; asking Ollama as well would list them twice.
      ollama = backends ? ollama && !viaGateway;
      envFile = "/run/open-webui/gateway-key.env";
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
        ENABLE_OLLAMA_API = if ollama then "True" else "False";
        # Offline hosts: no embedding model download at start, no version check against
        # GitHub on every admin page (OFFLINE_MODE implies it; both say so).
        RAG_EMBEDDING_MODEL = "";
        OFFLINE_MODE = "True";
        ENABLE_VERSION_UPDATE_CHECK = "False";
        # Older upstream units set STATIC_DIR=., the working directory, where Open WebUI
        # deletes the database it has just created and exits ("no such table: config").
        STATIC_DIR = "${spec.webui.stateDir}/static";
      }
      // helpers.optionalAttrs (openai != null) { OPENAI_API_BASE_URLS = "${openai}/v1"; }
      # With keys, OPENAI_API_KEYS comes from `gatewayKey.envFile`; an empty one would
      # override it and get 401 from the gateway.
      // helpers.optionalAttrs (openai != null && !keyed) { OPENAI_API_KEYS = ""; }
      // helpers.optionalAttrs ollama { OLLAMA_BASE_URL = backends.ollama.url; };
      # With keys: run `script KEY_FILE envFile` before Open WebUI starts (KEY_FILE: the
      # gateway's key file, e.g. as a credential of the unit); it writes `envFile`, which the
      # unit reads as an optional EnvironmentFile (it does not exist before the first start).
      gatewayKey =
        if keyed then
          {
            inherit envFile;
            script = builtins.readFile ./webui-gateway-key.sh;
          }
        else
          null;
    };
}
