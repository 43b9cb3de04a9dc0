# The stack spec's `monitoring` section with its defaults (stack.nix merges a host's
# values onto it; monitoring.nix reads it).
let
  inherit (import ./defaults.nix) ports;
in
{
  enable = false;
  scrapeInterval = "15s";
  evaluationInterval = "15s";
  # The window of every rate(): at least four scrapes.
  rateWindow = "1m";
  # llmctl's exporter (`llmctl exporter`): what the stack serves, per model.
  exporter = {
    enable = true;
    port = ports.exporter;
  };
  # GPU series: the node exporter's drm collector (amdgpu memory and busy percent),
  # nvidia_gpu_exporter for NVIDIA cards; without either, llama-swap's own /metrics.
  nodeExporter = {
    enable = false;
    port = ports.nodeExporter;
  };
  nvidiaExporter = {
    enable = false;
    port = ports.nvidiaExporter;
  };
  alerts = {
    # Share of a GPU's memory in use above which LocalLlmGpuMemoryHigh fires.
    gpuMemoryFraction = 0.95;
    # Loads of one model within an hour from which LocalLlmModelSwapping fires.
    swapsPerHour = 4;
    # How long each condition must hold before its alert fires.
    for = {
      targetDown = "2m";
      backendDown = "1m";
      backendErrors = "5m";
      routeUnavailable = "1m";
      gpuMemoryHigh = "5m";
      modelSwapping = "0s";
      modelOnCpu = "5m";
    };
  };
}
