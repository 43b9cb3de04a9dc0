# Seed host atlas: RX 7900 XTX serves chat; a second llama-server on the RX 7600
# is its fallback, then the strix-halo gateway over the tailnet.
{
  host = "atlas";
  gpu.profile = "rx-7900xtx";
  models.qwen3-coder = {
    source = "hf:unsloth/Qwen3-Coder-30B-A3B-Instruct-GGUF:Q4_K_M";
    file = "Qwen3-Coder-30B-A3B-Instruct-Q4_K_M.gguf";
    role = "chat";
    serve = "dedicated";
    contextSize = 65536;
    aliases = [ "qwen3-coder-30b" ];
  };
  dedicated.chat = {
    port = 8000;
    model = "qwen3-coder";
    fallbacks = [
      "http://127.0.0.1:8010"
      "http://strix-halo:4001"
    ];
  };
  llamaSwap = {
    enable = true;
    port = 8090;
  };
  gateway = {
    enable = true;
    port = 4001;
  };
}
