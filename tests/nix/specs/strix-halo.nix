# Seed host strix-halo: Ryzen AI Max+ 395, 128 GB unified memory; dedicated chat,
# embedding and rerank servers behind the gateway on 4001 with the alias table.
{
  host = "strix-halo";
  gpu = {
    profile = "strix-halo";
    ramGiB = 128;
  };
  models = {
    devstral = {
      source = "hf:unsloth/Devstral-2-123B-Instruct-2512-GGUF:Q4_K_M";
      file = "Devstral-2-123B-Instruct-2512-Q4_K_M-00001-of-00002.gguf";
      role = "chat";
      serve = "dedicated";
      contextSize = 262144;
    };
    qwen3-embedding = {
      source = "hf:Qwen/Qwen3-Embedding-8B-GGUF:Q8_0";
      file = "Qwen3-Embedding-8B-Q8_0.gguf";
      role = "embedding";
      serve = "dedicated";
    };
    bge-reranker-v2-m3 = {
      source = "hf:gpustack/bge-reranker-v2-m3-GGUF:Q8_0";
      file = "bge-reranker-v2-m3-Q8_0.gguf";
      role = "rerank";
      serve = "dedicated";
    };
  };
  dedicated = {
    chat = {
      port = 8000;
      model = "devstral";
    };
    embedding = {
      port = 8001;
      model = "qwen3-embedding";
    };
    rerank = {
      port = 8002;
      model = "bge-reranker-v2-m3";
    };
  };
  gateway = {
    enable = true;
    port = 4001;
  };
}
