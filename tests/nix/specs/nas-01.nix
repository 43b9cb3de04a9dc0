# Seed host nas-01: two Radeon AI PRO R9700 (gfx1201); Ollama (ROCm), llama-swap
# (Vulkan llama.cpp) over /models, Open WebUI with login, all reached over the tailnet.
{
  host = "nas-01";
  modelsDir = "/models";
  gpu = {
    profile = "radeon-r9700";
    devices = 2;
  };
  llamaSwap = {
    enable = true;
    port = 8090;
    ttl = 600;
  };
  ollama = {
    enable = true;
    port = 11434;
    models = [
      "qwen3:8b"
      "llama3.2:3b"
    ];
  };
  webui = {
    enable = true;
    port = 3001;
    secretKeyFile = "/run/secrets/open-webui.env";
  };
  gateway = {
    enable = true;
    bind = "0.0.0.0";
    port = 4001;
    apiKeyFile = "/run/credentials/envoy.service/api-keys";
  };
}
