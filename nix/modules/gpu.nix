# GPU profile: llama.cpp build, kernel parameters and runtime environment per machine.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.local-llm;
  generators = import ../lib;
  hardware = cfg.spec.hardware;
  targetAboveRam =
    hardware.unifiedMemory && cfg.gpu.ramGiB != null && cfg.gpu.memoryGiB != null && cfg.gpu.memoryGiB > cfg.gpu.ramGiB;
in
{
  options.services.local-llm = {
    gpu = {
      profile = lib.mkOption {
        type = lib.types.enum generators.profileNames;
        default = "cpu";
        example = "strix-halo";
        description = ''
          GPU profile. It sets the llama.cpp and Ollama builds, ROCm/CUDA variables,
          llama-server defaults and, on unified-memory APUs, the TTM kernel parameters.
        '';
      };
      ramGiB = lib.mkOption {
        type = lib.types.nullOr lib.types.ints.positive;
        default = null;
        example = 128;
        description = "System RAM in GiB; on unified-memory APUs it sizes the GPU's share (TTM pages limit).";
      };
      memoryGiB = lib.mkOption {
        type = lib.types.nullOr (lib.types.either lib.types.ints.positive lib.types.float);
        default = null;
        example = 120;
        description = "GPU memory budget per device in GiB; defaults to the profile's (on APUs: RAM minus 8 GiB).";
      };
      devices = lib.mkOption {
        type = lib.types.nullOr lib.types.ints.positive;
        default = null;
        example = 2;
        description = "Number of GPUs.";
      };
    };

    llamaServer = {
      package = lib.mkOption {
        type = lib.types.package;
        default = pkgs.${hardware.llamaCpp.package}.override hardware.llamaCpp.override;
        defaultText = lib.literalExpression "pkgs.llama-cpp.override { /* from the GPU profile */ }";
        example = lib.literalExpression "pkgs.llama-cpp.override { vulkanSupport = true; }";
        description = "llama.cpp build providing llama-server, for the GPU profile's backend and targets.";
      };
      capabilities = lib.mkOption {
        type = lib.types.attrsOf lib.types.bool;
        default = { };
        example = {
          loadMode = true;
        };
        description = ''
          Flags the llama.cpp package understands, when it differs from the one in the pinned
          nixpkgs (see llmctl's data/llama-server-flags.json): `loadMode` (`--load-mode` instead of
          `--no-mmap`), `flashAttnValue` (`-fa on|off|auto` instead of a bare `-fa`), `traceLog`
          (`-lv 4` is needed for the device and offload lines `llmctl verify` reads: builds after
          llama.cpp PR #23021).
        '';
      };
      contextSize = lib.mkOption {
        type = lib.types.nullOr lib.types.ints.unsigned;
        default = null;
        example = 32768;
        description = "Default context size (`-c`); null keeps llama.cpp's default.";
      };
      parallel = lib.mkOption {
        type = lib.types.nullOr lib.types.ints.positive;
        default = null;
        example = 4;
        description = "Parallel slots (`-np`); null keeps llama.cpp's automatic choice.";
      };
      extraArgs = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [
          "--cache-reuse"
          "256"
        ];
        description = "Arguments added to every llama-server command line.";
      };
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = !targetAboveRam;
        message = "services.local-llm.gpu.memoryGiB (${toString cfg.gpu.memoryGiB}) exceeds services.local-llm.gpu.ramGiB (${toString cfg.gpu.ramGiB}): on a unified-memory machine the GPU's share comes out of the RAM; lower memoryGiB, or leave it unset for RAM minus 8 GiB";
      }
    ];
    # nix/lib throws for a target above the RAM; the assertion above says it first.
    boot.kernelParams = lib.mkIf (!targetAboveRam) hardware.kernelParams;
  };
}
