# The ports monitoring adds to the stack's port plan (firewall.nix refuses two services
# on one port): Prometheus, Grafana, the exporters, where upstream's options put them.
{ config, lib }:
let
  m = config.services.local-llm.monitoring;
  exporters = config.services.prometheus.exporters;
in
[
  {
    name = "prometheus";
    inherit (config.services.prometheus) port;
  }
]
++ lib.optional m.exporter.enable {
  name = "llmctl exporter";
  inherit (m.exporter) port;
}
++ lib.optional m.nodeExporter.enable {
  name = "node exporter";
  inherit (exporters.node) port;
}
++ lib.optional m.nvidiaExporter.enable {
  name = "nvidia-gpu exporter";
  inherit (exporters.nvidia-gpu) port;
}
++ lib.optional m.grafana.enable {
  name = "grafana";
  port = config.services.grafana.settings.server.http_port;
}
