{
  description = "local-llm: a private LLM host on NixOS (llama.cpp, llama-swap, Ollama, Open WebUI, Envoy) and llmctl";

  inputs.nixpkgs.url = "github:nixos/nixpkgs/nixos-26.05";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: rec {
        llmctl = pkgs.callPackage ./nix/packages/llmctl { };
        default = llmctl;
      });

      apps = forAllSystems (
        pkgs:
        let
          llmctl = {
            type = "app";
            program = nixpkgs.lib.getExe self.packages.${pkgs.stdenv.hostPlatform.system}.llmctl;
          };
        in
        {
          inherit llmctl;
          default = llmctl;
        }
      );

      checks = forAllSystems (pkgs: {
        inherit (self.packages.${pkgs.stdenv.hostPlatform.system}) llmctl;
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt);
    };
}
