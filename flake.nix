{
  description = "local-llm: a private LLM host on NixOS (llama.cpp, llama-swap, Ollama, Open WebUI, Envoy) and llmctl";

  inputs.nixpkgs.url = "github:nixos/nixpkgs/nixos-26.05";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      hosts = [
        "strix-halo"
        "nas-01"
        "atlas"
      ];
    in
    {
      # Builtins-only generators (stack spec -> Envoy, llama-server, Open WebUI, Ollama configs).
      lib = import ./nix/lib;

      nixosModules = {
        local-llm = ./nix/modules;
        default = self.nixosModules.local-llm;
      };

      nixosConfigurations = lib.genAttrs hosts (
        host:
        lib.nixosSystem {
          modules = [
            self.nixosModules.default
            ./nix/hosts/${host}/configuration.nix
          ];
        }
      );

      packages = forAllSystems (pkgs: rec {
        llmctl = pkgs.callPackage ./nix/packages/llmctl { };
        default = llmctl;
      });

      apps = forAllSystems (
        pkgs:
        let
          llmctl = {
            type = "app";
            program = lib.getExe self.packages.${pkgs.stdenv.hostPlatform.system}.llmctl;
          };
        in
        {
          inherit llmctl;
          default = llmctl;
          # nix run .#render -- HOST [llmctl render options]: the host's stack input, rendered.
          render = {
            type = "app";
            program = lib.getExe (
              pkgs.writeShellScriptBin "local-llm-render" ''
                host=''${1:?usage: nix run .#render -- HOST [llmctl render options]}; shift
                input=$(mktemp --suffix .json); trap 'rm -f "$input"' EXIT
                ${lib.getExe pkgs.nix} --extra-experimental-features 'nix-command flakes' eval --json \
                  "${self}#nixosConfigurations.\"$host\".config.services.local-llm.stackInput" > "$input"
                PATH=${lib.makeBinPath [ pkgs.nix ]}:$PATH \
                  ${lib.getExe self.packages.${pkgs.stdenv.hostPlatform.system}.llmctl} render "$input" "$@"
              ''
            );
          };
        }
      );

      checks = forAllSystems (
        pkgs:
        let
          system = pkgs.stdenv.hostPlatform.system;
        in
        {
          inherit (self.packages.${system}) llmctl;
        }
        # The seed hosts evaluate to a system (instantiated, not built: ROCm builds take hours).
        // lib.optionalAttrs (system == "x86_64-linux") (
          lib.mapAttrs' (
            host: config:
            lib.nameValuePair "host-${host}" (
              pkgs.writeText "host-${host}.drv-path" (
                builtins.unsafeDiscardStringContext config.config.system.build.toplevel.drvPath
              )
            )
          ) self.nixosConfigurations
          // import ./tests/vm { inherit pkgs self; }
        )
      );

      formatter = forAllSystems (pkgs: pkgs.nixfmt);
    };
}
