# A gateway facing the network with API keys, in front of llama-swap and Ollama with
# two Ollama models and no dedicated server (no seed host has this combination).
{
  modelsDir = "/models";
  gpu.profile = "radeon-r9700";
  llamaSwap = {
    enable = true;
    ttl = 600;
  };
  ollama = {
    enable = true;
    models = [
      "qwen3:8b"
      "llama3.2:3b"
    ];
  };
  gateway = {
    enable = true;
    bind = "0.0.0.0";
    apiKeyFile = "/run/credentials/envoy.service/api-keys";
  };
}
