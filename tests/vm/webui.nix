# Open WebUI answers /health and lists llama-swap's models (after the first sign-up).
{ self, tinyModels }:
{
  name = "local-llm-webui";
  nodes.machine = {
    imports = [ (import ./_host.nix { inherit self; }) ];
    virtualisation.memorySize = 4096;
    services.local-llm = {
      llamaSwap.enable = true;
      webui.enable = true;
    };
    # The test signs up the first (admin) user; sign-up is otherwise off.
    services.open-webui.environment.ENABLE_INITIAL_ADMIN_SIGNUP = "True";
    systemd.tmpfiles.rules = [
      "C /var/lib/local-llm/models/tiny-llama-F16.gguf 0644 local-llm local-llm - ${tinyModels}/chat/tiny-llama-F16.gguf"
    ];
  };
  testScript = ''
    import json
    machine.wait_for_unit("open-webui.service")
    machine.wait_for_open_port(3001, timeout=600)
    machine.wait_until_succeeds("curl -sf http://127.0.0.1:3001/health | grep -q true", timeout=600)
    signup = json.loads(machine.succeed(
        "curl -sf http://127.0.0.1:3001/api/v1/auths/signup -H 'Content-Type: application/json' "
        "-d '{\"name\": \"admin\", \"email\": \"admin@example.org\", \"password\": \"correct horse\"}'"
    ))
    token = signup["token"]
    machine.wait_until_succeeds(
        f"curl -sf http://127.0.0.1:3001/api/models -H 'Authorization: Bearer {token}' "
        "| grep -q tiny-llama-f16",
        timeout=120,
    )
  '';
}
