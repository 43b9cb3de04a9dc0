# services.local-llm: one option tree per host. Each file holds one concern; every
# config decision is made by the builtins-only generators in nix/lib.
{
  imports = [
    ./core.nix
    ./gpu.nix
    ./models.nix
    ./zfs.nix
    ./llama-swap.nix
    ./dedicated.nix
    ./ollama.nix
    ./webui.nix
    ./gateway.nix
    ./firewall.nix
    ./monitoring.nix
  ];
}
