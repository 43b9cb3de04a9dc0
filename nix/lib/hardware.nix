# GPU profiles: kernel parameters, ROCm/CUDA environment, package choice and the
# llama-server defaults each kind of machine needs. The memory figures (memoryGiB,
# unifiedMemory, the OS reserve) come from gpu-profiles.json, which llmctl's planner
# reads too (see data.nix).
let
  helpers = import ./helpers.nix;
  figures = (import ./data.nix).gpuProfiles;

  # The seed's formula: pages = GiB * 1024 * 1024 / 4.096, truncated. Computed in
  # integers (x 1000 / 4096) so 120 GiB gives exactly 30,720,000.
  ttmPages = gib: (if builtins.isFloat gib then builtins.floor (gib * 1048576000) else gib * 1048576000) / 4096;

  # GiB left to the OS on a unified-memory machine when no target is given.
  inherit (figures) osReserveGiB;

  # A profile's memory figures as the shared file gives them.
  memory = name: { inherit (figures.profiles.${name}) memoryGiB unifiedMemory; };

  rocm = targets: {
    backend = "rocm";
    inherit targets;
    llamaCpp = {
      package = "llama-cpp";
      override = {
        rocmSupport = true;
        rocmGpuTargets = targets;
      };
    };
    ollamaPackage = "ollama-rocm";
  };

  vulkan = {
    backend = "vulkan";
    targets = [ ];
    llamaCpp = {
      package = "llama-cpp";
      override.vulkanSupport = true;
    };
    ollamaPackage = "ollama-vulkan";
  };

  base = {
    environment = { };
    rocmOverrideGfx = null;
    llamaServer = {
      flashAttention = "on";
      gpuLayers = 999;
      noMmap = false;
    };
  };

  profiles = {
    # Ryzen AI Max+ 395 (gfx1151): one pool of LPDDR5X shared through GTT/TTM.
    strix-halo = base // memory "strix-halo" // rocm [ "gfx1151" ] // {
      # ROCm Ollama silently falls back to CPU on gfx1151 (ollama#13589); Vulkan works.
      ollamaPackage = "ollama-vulkan";
      environment = {
        # Let HIP allocate from system memory beyond the BIOS carve-out.
        GGML_CUDA_ENABLE_UNIFIED_MEMORY = "1";
        # hipBLASLt kernels are the fast path on gfx1151.
        ROCBLAS_USE_HIPBLASLT = "1";
      };
      # Reading weights through mmap doubles page-cache use on unified memory.
      llamaServer = base.llamaServer // {
        noMmap = true;
      };
    };
    # Radeon AI PRO R9700 (RDNA4, gfx1201, 32 GB): Vulkan llama.cpp, ROCm Ollama.
    radeon-r9700 = base // memory "radeon-r9700" // vulkan // {
      targets = [ "gfx1201" ];
      ollamaPackage = "ollama-rocm";
    };
    # Radeon RX 7900 XTX (gfx1100, 24 GB): officially supported by ROCm.
    rx-7900xtx = base // memory "rx-7900xtx" // rocm [ "gfx1100" ];
    # Radeon RX 7600 (gfx1102, 8 GB): ROCm ships no kernels for it; map it to gfx1100.
    rx-7600 = base // memory "rx-7600" // rocm [ "gfx1102" ] // {
      rocmOverrideGfx = "11.0.0";
      environment.HSA_OVERRIDE_GFX_VERSION = "11.0.0";
    };
    nvidia = base // memory "nvidia" // {
      backend = "cuda";
      targets = [ ];
      llamaCpp = {
        package = "llama-cpp";
        override.cudaSupport = true;
      };
      ollamaPackage = "ollama-cuda";
    };
    cpu = base // memory "cpu" // {
      backend = "cpu";
      targets = [ ];
      llamaCpp = {
        package = "llama-cpp";
        override = { };
      };
      ollamaPackage = "ollama";
      llamaServer = base.llamaServer // {
        flashAttention = "auto";
        gpuLayers = 0;
      };
    };
  };

  # Kernel parameters for a unified-memory APU: let the GPU map `targetGiB` of RAM
  # (default: RAM minus osReserveGiB).
  kernelParams =
    {
      ramGiB,
      targetGiB ? ramGiB - osReserveGiB,
    }:
    let
      pages = toString (ttmPages targetGiB);
    in
    if targetGiB > ramGiB then
      throw "local-llm: GPU memory target ${toString targetGiB} GiB exceeds RAM ${toString ramGiB} GiB"
    else
      [
        "ttm.pages_limit=${pages}"
        "ttm.page_pool_size=${pages}"
      ];
in
{
  inherit ttmPages profiles kernelParams;
  profileNames = builtins.attrNames profiles;

  # A profile resolved for one machine: `ramGiB` matters on unified memory.
  hardware =
    {
      profile,
      ramGiB ? null,
      memoryGiB ? null,
    }:
    let
      p =
        profiles.${profile}
          or (throw "local-llm: unknown GPU profile '${profile}' (known: ${builtins.concatStringsSep ", " (builtins.attrNames profiles)})");
      uma = p.unifiedMemory && ramGiB != null;
      budget =
        if memoryGiB != null then
          memoryGiB
        else if uma then
          ramGiB - osReserveGiB
        else
          p.memoryGiB;
    in
    p
    // {
      inherit profile;
      memoryGiB = budget;
      kernelParams = helpers.optionals uma (
        kernelParams {
          inherit ramGiB;
          targetGiB = budget;
        }
      );
    };
}
