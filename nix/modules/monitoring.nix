# Monitoring: upstream services.prometheus scrapes every service of the stack and
# evaluates our alert and recording rules, services.grafana shows our dashboard, and
# llmctl's exporter joins what no service exports itself (which model is loaded where,
# llama-swap's llama-servers). The scrape jobs, rules and dashboard come from nix/lib
# (monitoring.nix, dashboard.nix); `llmctl render` writes the same files off NixOS.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.local-llm;
  m = cfg.monitoring;
  shared = import ./shared-options.nix { inherit lib; };
  services = import ../lib/services.nix;
  generators = import ../lib;
  inherit (generators) loopback ports;
  # The stack spec's defaults (nix/lib/monitoring-defaults.nix): the same off NixOS.
  defaults = generators.monitoring.defaults;
  prometheus = config.services.prometheus;
  dashboardDir = "local-llm/grafana-dashboards";
  rulesFile = pkgs.writeText "local-llm.rules.yml" (builtins.toJSON (generators.monitoring.rules cfg.stackInput));
in
{
  options.services.local-llm.monitoring = {
    enable = lib.mkEnableOption ''
      monitoring of the stack: Prometheus with scrape jobs for the gateway, every
      llama-server (all started with `--metrics`), llama-swap and the exporters, alert and
      recording rules, and a Grafana dashboard'';
    scrapeInterval = lib.mkOption {
      type = lib.types.str;
      default = defaults.scrapeInterval;
      example = "30s";
      description = "How often Prometheus scrapes the stack (`services.prometheus.globalConfig.scrape_interval`).";
    };
    evaluationInterval = lib.mkOption {
      type = lib.types.str;
      default = defaults.evaluationInterval;
      example = "30s";
      description = "How often the alert and recording rules are evaluated.";
    };
    rateWindow = lib.mkOption {
      type = lib.types.str;
      default = defaults.rateWindow;
      example = "5m";
      description = "Window of the rates the rules and the dashboard compute (at least four scrape intervals).";
    };
    alerts = {
      gpuMemoryFraction = lib.mkOption {
        type = lib.types.numbers.between 0 1;
        default = defaults.alerts.gpuMemoryFraction;
        example = 0.9;
        description = "Share of a GPU's memory in use from which `LocalLlmGpuMemoryHigh` fires.";
      };
      swapsPerHour = lib.mkOption {
        type = lib.types.ints.positive;
        default = defaults.alerts.swapsPerHour;
        example = 10;
        description = "Loads of one model within an hour from which `LocalLlmModelSwapping` fires.";
      };
    };
    exporter = {
      enable = lib.mkOption {
        type = lib.types.bool;
        default = defaults.exporter.enable;
        example = false;
        description = "Run `llmctl exporter`: loaded models per service, and the token counters of the llama-servers llama-swap starts.";
      };
      port = shared.port ports.exporter "Port of `llmctl exporter` (loopback only).";
    };
    nodeExporter.enable = lib.mkOption {
      type = lib.types.bool;
      default = true;
      example = false;
      description = "Run the Prometheus node exporter with its drm collector (amdgpu memory and utilisation) and scrape it.";
    };
    nvidiaExporter.enable = lib.mkOption {
      type = lib.types.bool;
      default = cfg.gpu.profile == "nvidia";
      defaultText = lib.literalExpression ''config.services.local-llm.gpu.profile == "nvidia"'';
      example = true;
      description = "Run the Prometheus nvidia-gpu exporter (nvidia-smi's memory and utilisation) and scrape it.";
    };
    grafana = {
      enable = lib.mkOption {
        type = lib.types.bool;
        default = true;
        example = false;
        description = "Run Grafana with the Prometheus datasource and the local-llm dashboard provisioned.";
      };
      secretKeyFile = lib.mkOption {
        type = lib.types.nullOr lib.types.path;
        default = null;
        example = "/run/secrets/grafana-secret-key";
        description = ''
          File holding Grafana's secret key (`openssl rand -hex 32`); Grafana reads it at start
          (`$__file{...}`), it never enters the Nix store. Required with Grafana since 26.05.
        '';
      };
    };
  };

  config = lib.mkIf (cfg.enable && m.enable) (
    lib.mkMerge [
      {
        assertions = [
          {
            assertion = !m.grafana.enable || m.grafana.secretKeyFile != null;
            message = "services.local-llm.monitoring.grafana.secretKeyFile is not set: Grafana (26.05) needs a secret key; point it at a file holding one (`openssl rand -hex 32`), or set services.local-llm.monitoring.grafana.enable = false";
          }
        ];

        services.prometheus = {
          enable = true;
          # Upstream listens on every interface; the stack's figures stay on the host.
          listenAddress = lib.mkDefault loopback;
          globalConfig = {
            scrape_interval = lib.mkDefault m.scrapeInterval;
            evaluation_interval = lib.mkDefault m.evaluationInterval;
          };
          scrapeConfigs = generators.monitoring.scrapeConfigs cfg.stackInput;
          ruleFiles = [ rulesFile ];
          exporters.node = lib.mkIf m.nodeExporter.enable {
            enable = true;
            listenAddress = lib.mkDefault loopback;
            enabledCollectors = [ "drm" ];
          };
          exporters.nvidia-gpu = lib.mkIf m.nvidiaExporter.enable {
            enable = true;
            listenAddress = lib.mkDefault loopback;
          };
        };
      }

      (lib.mkIf m.exporter.enable {
        systemd.services.local-llm-exporter = {
          description = "llmctl exporter: the stack's services and models as Prometheus metrics";
          wantedBy = [ "multi-user.target" ];
          after = [ "network.target" ];
          serviceConfig = services.exporter cfg.spec // {
            ExecStart = lib.escapeShellArgs (services.exporterArgv (lib.getExe cfg.package) cfg.stackFile cfg.spec);
          };
        };
      })

      (lib.mkIf m.grafana.enable {
        services.grafana = {
          enable = true;
          settings.security.secret_key = lib.mkIf (m.grafana.secretKeyFile != null) (
            lib.mkDefault "$__file{${toString m.grafana.secretKeyFile}}"
          );
          provision = {
            enable = true;
            datasources.settings.datasources = [
              {
                name = "local-llm Prometheus";
                type = "prometheus";
                uid = "local-llm-prometheus";
                url = "http://${loopback}:${toString prometheus.port}";
                isDefault = true;
              }
            ];
            dashboards.settings.providers = [
              {
                name = "local-llm";
                options.path = "/etc/${dashboardDir}";
              }
            ];
          };
        };
        environment.etc."${dashboardDir}/local-llm.json".text = builtins.toJSON (
          generators.monitoring.grafanaDashboard cfg.stackInput
        );
      })
    ]
  );
}
