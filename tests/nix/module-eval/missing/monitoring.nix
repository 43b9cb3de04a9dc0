# services.prometheus (with the node and nvidia-gpu exporters) and services.grafana:
# the options the local-llm monitoring module sets or reads, declared with the types of
# nixpkgs' files (Swarsel/nixpkgs@4aa6836a, master after nixos-26.05; the flake.lock
# revision a0374025 is not stored: docs/upstream-options.md):
#   nixos/modules/services/monitoring/prometheus/default.nix
#   nixos/modules/services/monitoring/prometheus/exporters.nix (+ exporters/node.nix)
#   nixos/modules/services/monitoring/grafana.nix
# Submodules declare the keys we use with upstream's types; a key upstream lacks fails
# here as it would there. Upstream's units are not declared: nothing reads them here.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  yamlValue = pkgs.formats.yaml { };

  # prometheus/default.nix: optional keys default to null and are dropped from the YAML.
  mkOpt =
    type: description:
    mkOption {
      default = null;
      inherit description;
      type = types.nullOr type;
    };

  static_config = types.submodule {
    options = {
      labels = mkOption {
        default = { };
        description = "Labels assigned to all metrics scraped from the targets.";
        type = types.attrsOf types.str;
      };
      targets = mkOption {
        description = "The targets specified by the target group.";
        type = types.listOf types.str;
      };
    };
  };

  relabel_config = types.submodule {
    options = {
      action = mkOpt (types.enum [
        "replace"
        "lowercase"
        "uppercase"
        "keep"
        "drop"
        "hashmod"
        "labelmap"
        "labeldrop"
        "labelkeep"
      ]) "Action to perform based on regex matching.";
      modulus = mkOpt types.int "Modulus to take of the hash of the source label values.";
      regex = mkOpt types.str "Regular expression against which the extracted value is matched.";
      replacement = mkOpt types.str "Replacement value against which a regex replace is performed.";
      separator = mkOpt types.str "Separator placed between concatenated source label values.";
      source_labels = mkOpt (types.listOf types.str) "The source labels select values from existing labels.";
      target_label = mkOpt types.str "Label to which the resulting value is written in a replace action.";
    };
  };

  scrape_config = types.submodule {
    options = {
      job_name = mkOption {
        description = "The job name assigned to scraped metrics by default.";
        type = types.str;
      };
      honor_labels = mkOpt types.bool "Controls how Prometheus handles conflicts between labels.";
      metrics_path = mkOpt types.str "The HTTP resource path on which to fetch metrics from targets.";
      metric_relabel_configs = mkOpt (types.listOf relabel_config) "List of metric relabel configurations.";
      relabel_configs = mkOpt (types.listOf relabel_config) "List of relabel configurations.";
      scheme = mkOpt (types.enum [
        "http"
        "https"
      ]) "The URL scheme with which to fetch metrics from targets.";
      scrape_interval = mkOpt types.str "How frequently to scrape targets from this job.";
      scrape_timeout = mkOpt types.str "Per-target timeout when scraping this job.";
      static_configs = mkOpt (types.listOf static_config) "List of labeled target groups for this job.";
    };
  };

  globalConfig = types.submodule {
    options = {
      evaluation_interval = mkOpt types.str "How frequently to evaluate rules by default.";
      external_labels = mkOpt (types.attrsOf types.str) "The labels to add to any time series or alerts.";
      query_log_file = mkOpt types.str "Path to the file prometheus should write its query log to.";
      scrape_interval = mkOpt types.str "How frequently to scrape targets by default.";
      scrape_timeout = mkOpt types.str "How long until a scrape request times out.";
    };
  };

  # exporters.nix mkExporterOpts: every exporter has these, plus its own extraOpts.
  exporterOptions = name: port: extraOpts: {
    enable = lib.mkEnableOption "the prometheus ${name} exporter";
    extraFlags = mkOption {
      default = [ ];
      description = "Extra commandline options to pass to the ${name} exporter.";
      type = types.listOf types.str;
    };
    firewallFilter = mkOption {
      default = null;
      description = "Specify a filter for iptables to use when openFirewall is true.";
      type = types.nullOr types.str;
    };
    firewallRules = mkOption {
      default = null;
      description = "Specify rules for nftables to add to the input chain when openFirewall is true.";
      type = types.nullOr types.lines;
    };
    group = mkOption {
      default = "${name}-exporter";
      description = "Group under which the ${name} exporter shall be run.";
      type = types.str;
    };
    listenAddress = mkOption {
      default = "0.0.0.0";
      description = "Address to listen on.";
      type = types.str;
    };
    openFirewall = mkOption {
      default = false;
      description = "Open port in firewall for incoming connections.";
      type = types.bool;
    };
    port = mkOption {
      default = port;
      description = "Port to listen on.";
      type = types.port;
    };
    user = mkOption {
      default = "${name}-exporter";
      description = "User name under which the ${name} exporter shall be run.";
      type = types.str;
    };
  }
  // extraOpts;

  # grafana.nix grafanaTypes
  datasourceConfig = types.submodule {
    freeformType = yamlValue.type;
    options = {
      access = mkOption {
        default = "proxy";
        description = "Access mode. proxy or direct (Server or Browser in the UI). Required.";
        type = types.enum [
          "proxy"
          "direct"
        ];
      };
      editable = mkOption {
        default = false;
        description = "Allow users to edit datasources from the UI.";
        type = types.bool;
      };
      jsonData = mkOption {
        default = null;
        description = "Extra data for datasource plugins.";
        type = types.nullOr types.attrs;
      };
      name = mkOption {
        description = "Name of the datasource. Required.";
        type = types.str;
      };
      secureJsonData = mkOption {
        default = null;
        description = "Datasource specific secure configuration.";
        type = types.nullOr types.attrs;
      };
      type = mkOption {
        description = "Datasource type. Required.";
        type = types.str;
      };
      uid = mkOption {
        default = null;
        description = "Custom UID which can be used to reference this datasource in other parts of the configuration.";
        type = types.nullOr types.str;
      };
      url = mkOption {
        default = "";
        description = "Url of the datasource.";
        type = types.str;
      };
    };
  };

  dashboardConfig = types.submodule {
    freeformType = yamlValue.type;
    options = {
      options.path = mkOption {
        description = "Path grafana will watch for dashboards. Required when using the 'file' type.";
        type = types.path;
      };
      name = mkOption {
        default = "default";
        description = "A unique provider name.";
        type = types.str;
      };
      type = mkOption {
        default = "file";
        description = "Dashboard provider type.";
        type = types.str;
      };
    };
  };

  provisioned =
    what: elements:
    mkOption {
      default = { };
      description = "Declaratively provision Grafana's ${what}.";
      type = types.submodule {
        options.path = mkOption {
          default = null;
          description = "Path to YAML ${what} configuration.";
          type = types.nullOr types.path;
        };
        options.settings = mkOption {
          default = null;
          description = "Grafana ${what} configuration in Nix.";
          type = types.nullOr (
            types.submodule {
              options = {
                apiVersion = mkOption {
                  default = 1;
                  description = "Config file version.";
                  type = types.int;
                };
              }
              // elements;
            }
          );
        };
      };
    };
in
{
  options.services.prometheus = {
    enable = lib.mkEnableOption "Prometheus monitoring daemon";
    listenAddress = mkOption {
      default = "0.0.0.0";
      description = "Address to listen on for the web interface, API, and telemetry.";
      type = types.str;
    };
    port = mkOption {
      default = 9090;
      description = "Port to listen on.";
      type = types.port;
    };
    globalConfig = mkOption {
      default = { };
      description = "Parameters that are valid in all configuration contexts.";
      type = globalConfig;
    };
    scrapeConfigs = mkOption {
      default = [ ];
      description = "A list of scrape configurations.";
      type = types.listOf scrape_config;
    };
    ruleFiles = mkOption {
      default = [ ];
      description = "Any additional rules files to include in this configuration.";
      type = types.listOf types.path;
    };
    rules = mkOption {
      default = [ ];
      description = "Alerting and/or Recording rules to evaluate at runtime.";
      type = types.listOf types.str;
    };
    checkConfig = mkOption {
      default = true;
      description = "Check configuration with `promtool check`.";
      type = types.either types.bool (types.enum [ "syntax-only" ]);
    };
    retentionTime = mkOption {
      default = null;
      description = "How long to retain samples in storage.";
      type = types.nullOr types.str;
    };

    exporters = mkOption {
      default = { };
      description = "Prometheus exporter configuration";
      type = types.submodule {
        options = {
          node = mkOption {
            default = { };
            internal = true;
            type = types.submodule {
              options = exporterOptions "node" 9100 {
                disabledCollectors = mkOption {
                  default = [ ];
                  description = "Collectors to disable which are enabled by default.";
                  type = types.listOf types.str;
                };
                enabledCollectors = mkOption {
                  default = [ ];
                  description = "Collectors to enable, in addition to the default ones.";
                  type = types.listOf types.str;
                };
              };
            };
          };
          nvidia-gpu = mkOption {
            default = { };
            internal = true;
            type = types.submodule { options = exporterOptions "nvidia-gpu" 9835 { }; };
          };
        };
      };
    };
  };

  options.services.grafana = {
    enable = lib.mkEnableOption "grafana";
    openFirewall = mkOption {
      default = false;
      description = "Open the ports in the firewall for the server.";
      type = types.bool;
    };
    provision = {
      enable = lib.mkEnableOption "provision";
      dashboards = provisioned "dashboards" {
        providers = mkOption {
          default = [ ];
          description = "List of dashboards to insert/update.";
          type = types.listOf dashboardConfig;
        };
      };
      datasources = provisioned "datasources" {
        datasources = mkOption {
          default = [ ];
          description = "List of datasources to insert/update.";
          type = types.listOf datasourceConfig;
        };
        deleteDatasources = mkOption {
          default = [ ];
          description = "List of datasources that should be deleted from the database.";
          type = types.listOf (
            types.submodule {
              options.name = mkOption {
                description = "Name of the datasource to delete.";
                type = types.str;
              };
              options.orgId = mkOption {
                description = "Organization ID of the datasource to delete.";
                type = types.int;
              };
            }
          );
        };
        prune = mkOption {
          default = false;
          description = "When true, provisioned datasources removed from this file are deleted.";
          type = types.bool;
        };
      };
    };
    settings = mkOption {
      default = { };
      description = "Grafana settings (INI).";
      type = types.submodule {
        # Upstream: pkgs.formats.ini's type (sections of key = value).
        freeformType = types.attrsOf (types.attrsOf types.anything);
        options = {
          security.secret_key = mkOption {
            default = null;
            description = "Secret key used for signing data source settings like secrets and passwords.";
            type = types.nullOr types.str;
          };
          server = {
            http_addr = mkOption {
              default = "127.0.0.1";
              description = "Listening address.";
              type = types.str;
            };
            http_port = mkOption {
              default = 3000;
              description = "Listening port.";
              type = types.port;
            };
          };
        };
      };
    };
  };

  config = {
    # grafana.nix: the secret key has no default since 26.05.
    assertions = lib.optional config.services.grafana.enable {
      assertion = config.services.grafana.settings.security.secret_key != null;
      message = "Grafana's secret key (services.grafana.settings.security.secret_key) doesn't have a default value anymore. Please generate your own and use a file-provider on this option!";
    };
  };
}
