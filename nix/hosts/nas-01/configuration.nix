{
  imports = [
    ../minimal-hardware.nix
    ./local-llm.nix
  ];
  boot.zfs.extraPools = [ "ssdpool" ];
  services.tailscale.enable = true;
  system.stateVersion = "26.05";
}
