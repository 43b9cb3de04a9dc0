# Desktop with a Radeon RX 7900 XTX (gfx1100) as the primary chat server and a
# Radeon RX 7600 box as the gateway's fallback for chat.
{
  networking.hostName = "atlas";

  services.local-llm = {
    enable = true;
    description = ''
      A desktop with a Radeon RX 7900 XTX (gfx1100) as the primary chat server (Qwen3-Coder) behind a keyed gateway open to the LAN, failing over to an RX 7600 machine; llama-swap serves every other model.
    '';
    gpu.profile = "rx-7900xtx";
    models.qwen3-coder = {
      source = "hf:unsloth/Qwen3-Coder-30B-A3B-Instruct-GGUF:Q4_K_M";
      role = "chat";
      serve = "dedicated";
      contextSize = 65536;
    };
    # The RX 7600 machine runs the same chat role with a smaller model.
    dedicated.chat.fallbacks = [ "http://192.168.1.60:8000" ];
    llamaSwap.enable = true;
    gateway = {
      enable = true;
      openFirewall = true;
      apiKeyFile = "/run/secrets/gateway-api-keys";
    };
    # Prometheus, the node exporter, llmctl's exporter and Grafana, all on loopback.
    monitoring = {
      enable = true;
      grafana.secretKeyFile = "/run/secrets/grafana-secret-key";
    };
  };
}
