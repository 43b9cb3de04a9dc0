# A GGUF copied into the models folder is served by llama-swap without a restart.
{ self, tinyModels }:
{
  name = "local-llm-llama-swap";
  nodes.machine = {
    imports = [ (import ./_host.nix { inherit self; }) ];
    services.local-llm.llamaSwap.enable = true;
  };
  testScript = ''
    import json
    machine.wait_for_unit("llama-swap.service")
    machine.wait_for_open_port(8090)
    pid = machine.succeed("systemctl show -p MainPID --value llama-swap.service").strip()
    machine.succeed("curl -sf http://127.0.0.1:8090/v1/models | jq -e '.data == []'")

    machine.succeed(
        "install -m 0644 -o local-llm ${tinyModels}/chat/tiny-llama-F16.gguf "
        "/var/lib/local-llm/models/tiny-llama-F16.gguf"
    )
    machine.wait_until_succeeds(
        "curl -sf http://127.0.0.1:8090/v1/models | jq -e '.data[].id' | grep -q tiny-llama-f16", timeout=60
    )
    answer = json.loads(machine.succeed(
        "curl -sf http://127.0.0.1:8090/v1/chat/completions -H 'Content-Type: application/json' "
        "-d '{\"model\": \"tiny-llama-f16\", \"max_tokens\": 4, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}'"
    ))
    assert answer["object"] == "chat.completion", answer
    assert machine.succeed("systemctl show -p MainPID --value llama-swap.service").strip() == pid, "restarted"
  '';
}
