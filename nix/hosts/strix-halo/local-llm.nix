# Strix Halo workstation (Ryzen AI Max+ 395, 128 GB unified memory): one dedicated
# server per role behind the gateway on :4001.
{
  networking.hostName = "strix-halo";

  services.local-llm = {
    enable = true;
    description = ''
      A workstation with an AMD Ryzen AI Max+ 395 (Strix Halo, gfx1151) and 128 GB of unified LPDDR5X: one dedicated llama-server per role (Devstral-2 for chat, Qwen3-Embedding, BGE reranker) behind the gateway on :4001. The GPU may map 120 GiB of the 128 GiB; nothing faces the network.
    '';
    gpu = {
      profile = "strix-halo";
      ramGiB = 128;
    };
    models = {
      devstral = {
        source = "hf:unsloth/Devstral-2-123B-Instruct-2512-GGUF:Q4_K_M";
        role = "chat";
        serve = "dedicated";
        contextSize = 262144;
        aliases = [
          "devstral-2"
          "mistral-large"
        ];
      };
      qwen3-embedding = {
        source = "hf:Qwen/Qwen3-Embedding-8B-GGUF:Q8_0";
        role = "embedding";
        serve = "dedicated";
      };
      bge-reranker = {
        source = "hf:gpustack/bge-reranker-v2-m3-GGUF:Q8_0";
        role = "rerank";
        serve = "dedicated";
      };
    };
    gateway.enable = true;
  };
}
