# Option constructors the service modules share (every service has a port and may face
# the network). Imported as a plain function set, not as a module.
{ lib }:
{
  port =
    default: description:
    lib.mkOption {
      type = lib.types.port;
      # Any free port: moved out of another service's way.
      example = default + 10000;
      inherit default description;
    };

  openFirewall =
    service:
    lib.mkOption {
      type = lib.types.bool;
      default = false;
      example = true;
      description = "Make ${service} listen on all interfaces and open its port (normally only the gateway and Open WebUI face the network).";
    };
}
