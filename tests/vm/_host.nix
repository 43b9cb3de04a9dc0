# What every VM node running local-llm shares: the module, a CPU profile and curl/jq.
{ self }:
{ pkgs, ... }:
{
  imports = [ self.nixosModules.default ];
  services.local-llm = {
    enable = true;
    gpu.profile = "cpu";
    llamaServer.contextSize = 512;
  };
  environment.systemPackages = [
    pkgs.curl
    pkgs.jq
  ];
  virtualisation.memorySize = 2048;
  systemd.enableStrictShellChecks = true;
}
