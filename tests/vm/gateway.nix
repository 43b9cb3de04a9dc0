# Chat, embedding and rerank through the gateway, from models declared with a local
# source (the declared-model oneshot copies them), and llmctl verify's host checks.
{ self, tinyModels }:
{
  name = "local-llm-gateway";
  nodes.machine = {
    imports = [ (import ./_host.nix { inherit self; }) ];
    services.local-llm = {
      models = {
        tiny-chat = {
          source = "file:${tinyModels}/chat/tiny-llama-F16.gguf";
          serve = "dedicated";
        };
        tiny-embed = {
          source = "file:${tinyModels}/embedding/tiny-embed-F16.gguf";
          role = "embedding";
          serve = "dedicated";
        };
        tiny-rerank = {
          source = "file:${tinyModels}/reranker/tiny-rerank-F16.gguf";
          role = "rerank";
          serve = "dedicated";
        };
      };
      gateway.enable = true;
    };
  };
  testScript = ''
    import json
    machine.wait_for_unit("local-llm-models.service")
    for role, port in (("chat", 8000), ("embedding", 8001), ("rerank", 8002)):
        machine.wait_for_unit(f"local-llm-{role}.service")
        machine.wait_for_open_port(port)
    machine.wait_for_unit("envoy.service")
    machine.wait_for_open_port(4001)
    machine.succeed("test -f /var/lib/local-llm/models/tiny-chat/tiny-llama-F16.gguf")

    def post(path, body):
        out = machine.succeed(
            f"curl -sf http://127.0.0.1:4001{path} -H 'Content-Type: application/json' -d '{json.dumps(body)}'"
        )
        return json.loads(out)

    chat = post("/v1/chat/completions", {"model": "gpt-4", "max_tokens": 4,
                                         "messages": [{"role": "user", "content": "hi"}]})
    assert chat["object"] == "chat.completion", chat
    embedding = post("/v1/embeddings", {"model": "text-embedding-ada-002", "input": "hello"})
    assert len(embedding["data"][0]["embedding"]) == 128, embedding
    rerank = post("/v1/rerank", {"query": "hello", "documents": ["a b", "the world"]})
    assert len(rerank["results"]) == 2, rerank

    machine.succeed("llmctl status")  # exits non-zero when an enabled service is down
    machine.succeed("llmctl verify")
  '';
}
