# Firewall openings and the port plan: only what the host opens, optionally only on
# some interfaces (e.g. tailscale0); no two services on one port.
{
  config,
  lib,
  ...
}:
let
  cfg = config.services.local-llm;
  # Only the gateway and Open WebUI are opened by the global switch.
  openedServices = {
    gateway = cfg.gateway.enable && (cfg.gateway.openFirewall || cfg.openFirewall);
    webui = cfg.webui.enable && (cfg.webui.openFirewall || cfg.openFirewall);
    llamaSwap = cfg.llamaSwap.enable && cfg.llamaSwap.openFirewall;
    ollama = cfg.ollama.enable && cfg.ollama.openFirewall;
  };
  opened = lib.mapAttrsToList (name: _: cfg.${name}.port) (lib.filterAttrs (_: open: open) openedServices);

  ports =
    lib.optionals cfg.gateway.enable [
      {
        name = "gateway";
        inherit (cfg.gateway) port;
      }
      {
        name = "gateway admin";
        port = cfg.gateway.adminPort;
      }
      {
        name = "gateway metrics";
        port = cfg.gateway.metricsPort;
      }
    ]
    ++ lib.optional cfg.llamaSwap.enable {
      name = "llama-swap";
      inherit (cfg.llamaSwap) port;
    }
    ++ lib.optional cfg.ollama.enable {
      name = "ollama";
      inherit (cfg.ollama) port;
    }
    ++ lib.optional cfg.webui.enable {
      name = "webui";
      inherit (cfg.webui) port;
    }
    ++ lib.mapAttrsToList (role: d: {
      name = "dedicated ${role}";
      inherit (d) port;
    }) cfg.spec.dedicated
    ++ lib.optionals cfg.monitoring.enable (import ./monitoring-ports.nix { inherit config lib; });
  byPort = lib.groupBy (p: toString p.port) ports;
  clashes = lib.filterAttrs (_: users: lib.length users > 1) byPort;
in
{
  options.services.local-llm = {
    openFirewall = lib.mkOption {
      type = lib.types.bool;
      default = false;
      example = true;
      description = "Open the gateway and Open WebUI ports (the services meant to face the network).";
    };
    openedServices = lib.mkOption {
      type = lib.types.attrsOf lib.types.bool;
      internal = true;
      readOnly = true;
      default = openedServices;
      description = "Services whose port the firewall opens; they listen on all interfaces.";
    };
    firewallInterfaces = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [ "tailscale0" ];
      description = "Open the ports only on these interfaces (all interfaces when empty).";
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = lib.mapAttrsToList (port: users: {
      assertion = false;
      message = "services.local-llm: port ${port} is used by ${lib.concatMapStringsSep " and " (u: u.name) users}";
    }) clashes;

    networking.firewall =
      if cfg.firewallInterfaces == [ ] then
        { allowedTCPPorts = opened; }
      else
        { interfaces = lib.genAttrs cfg.firewallInterfaces (_: { allowedTCPPorts = opened; }); };
  };
}
