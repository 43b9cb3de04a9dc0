# Ollama: package and environment from the GPU profile and the stack spec.
let
  stack = import ./stack.nix;
  helpers = import ./helpers.nix;
in
{
  ollamaSettings =
    input:
    let
      spec = stack.normalize input;
      hw = spec.hardware;
    in
    {
      package = hw.ollamaPackage;
      # services.ollama.rocmOverrideGfx sets HSA_OVERRIDE_GFX_VERSION itself.
      inherit (hw) rocmOverrideGfx;
      host = spec.listenAddress;
      inherit (spec.ollama) port;
      loadModels = spec.ollama.models;
      environment = {
        OLLAMA_FLASH_ATTENTION = if hw.llamaServer.flashAttention == "on" then "1" else "0";
        OLLAMA_KEEP_ALIVE = "10m";
      }
      // removeAttrs hw.environment [ "HSA_OVERRIDE_GFX_VERSION" ]
      // helpers.optionalAttrs (hw.ollamaPackage == "ollama-vulkan") { OLLAMA_VULKAN = "1"; };
    };
}
