# Only the gateway faces the network: a second machine reaches it but not llama-swap.
{ self, tinyModels }:
{
  name = "local-llm-network";
  nodes.server = {
    imports = [ (import ./_host.nix { inherit self; }) ];
    services.local-llm = {
      models.tiny-chat = {
        source = "file:${tinyModels}/chat/tiny-llama-F16.gguf";
        serve = "dedicated";
      };
      llamaSwap.enable = true;
      gateway = {
        enable = true;
        openFirewall = true;
      };
    };
  };
  nodes.client =
    { pkgs, ... }:
    {
      environment.systemPackages = [ pkgs.curl ];
    };
  testScript = ''
    start_all()
    server.wait_for_unit("envoy.service")
    server.wait_for_unit("llama-swap.service")
    server.wait_for_unit("local-llm-chat.service")
    server.wait_for_open_port(4001)
    client.wait_for_unit("multi-user.target")
    client.wait_until_succeeds("curl -sf http://server:4001/health", timeout=60)
    client.succeed(
        "curl -sf http://server:4001/v1/chat/completions -H 'Content-Type: application/json' "
        "-d '{\"model\": \"gpt-4\", \"max_tokens\": 2, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}'"
    )
    client.fail("curl -sf --max-time 5 http://server:8090/health")
    client.fail("curl -sf --max-time 5 http://server:8000/health")
  '';
}
