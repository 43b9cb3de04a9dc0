# Facts the NixOS modules and the stack spec share, written once: default ports, the
# paths of the stack's files, the roles of a dedicated llama-server, and where a
# service listens (loopback, or every interface once its port is opened).
rec {
  roles = [
    "chat"
    "embedding"
    "rerank"
  ];

  # Every port set explicitly: upstream defaults collide on 8080.
  ports = {
    chat = 8000;
    embedding = 8001;
    rerank = 8002;
    llamaSwap = 8090;
    ollama = 11434;
    webui = 3001;
    gateway = 4001;
    gatewayAdmin = 9901;
    gatewayMetrics = 9902;
  };

  paths = {
    stateDir = "/var/lib/local-llm";
    modelsDir = "/var/lib/local-llm/models";
    stackFile = "/etc/local-llm/stack.json";
    # A readable copy of the gateway's config, for `llmctl verify`.
    envoyConfig = "/etc/local-llm/envoy.json";
    # Written by `llmctl discover`, read by llama-swap -watch-config.
    llamaSwapConfig = "/var/lib/local-llm/llama-swap/config.yaml";
    # The API key file as the gateway's systemd credential (LoadCredential=api-keys:...).
    gatewayApiKeys = "/run/credentials/envoy.service/api-keys";
  };

  loopback = "127.0.0.1";
  # A service whose port is opened listens on all interfaces; any other on loopback.
  bindAddress = opened: if opened then "0.0.0.0" else loopback;
}
