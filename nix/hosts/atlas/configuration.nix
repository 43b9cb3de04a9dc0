{
  imports = [
    ../minimal-hardware.nix
    ./local-llm.nix
  ];
  system.stateVersion = "26.05";
}
