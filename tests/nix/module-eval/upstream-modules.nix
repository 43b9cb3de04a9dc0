# The real nixpkgs modules the evaluation loads from the data folder (nixos/modules/...).
[
  "misc/assertions.nix"
  "misc/meta.nix"
  "system/build.nix"
  "system/etc/etc.nix"
  "system/boot/systemd/tmpfiles.nix"
  "config/users-groups.nix"
  "services/networking/firewall.nix"
  "services/networking/firewall-iptables.nix"
  "services/networking/llama-swap.nix"
  "services/networking/envoy.nix"
  "services/misc/ollama.nix"
  "services/misc/open-webui.nix"
]
