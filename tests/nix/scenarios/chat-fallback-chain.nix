# A dedicated chat server with two fallbacks: a second server on this machine, then
# another host's gateway by name (atlas has only one fallback).
{
  gpu.profile = "rx-7900xtx";
  models.qwen3-coder = {
    file = "Qwen3-Coder-30B-A3B-Instruct-Q4_K_M.gguf";
    serve = "dedicated";
  };
  dedicated.chat = {
    model = "qwen3-coder";
    fallbacks = [
      "http://127.0.0.1:8010"
      "http://strix-halo:4001"
    ];
  };
  gateway.enable = true;
}
