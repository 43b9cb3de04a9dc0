# NAS with two Radeon AI PRO R9700 (gfx1201): Ollama (ROCm) and llama-swap (Vulkan
# llama.cpp) over a ZFS models dataset, Open WebUI with login, reachable on the tailnet.
{
  networking.hostName = "nas-01";
  networking.hostId = "4e415301";

  services.local-llm = {
    enable = true;
    description = ''
      A NAS with two Radeon AI PRO R9700 (gfx1201): Ollama (ROCm) and llama-swap (Vulkan llama.cpp) over a ZFS models dataset, and Open WebUI with login, reachable on the tailnet only.
    '';
    modelsDir = "/models";
    gpu = {
      profile = "radeon-r9700";
      devices = 2;
    };
    zfs = {
      dataset = "ssdpool/local/models";
      quota = "500G";
    };
    llamaSwap.enable = true;
    ollama = {
      enable = true;
      models = [ "llama3.2:3b" ];
    };
    webui = {
      enable = true;
      environmentFile = "/run/secrets/open-webui.env";
      openFirewall = true;
    };
    firewallInterfaces = [ "tailscale0" ];
  };
}
