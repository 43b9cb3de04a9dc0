# Evaluate the local-llm modules for one host with nixpkgs' `lib` alone: upstream
# options are declared by ./upstream-options.nix and packages are ./fake-pkgs.nix.
# Returns what the tests inspect, as plain data (nix-instantiate --eval --strict --json).
{
  nixpkgsLib,
  host,
}:
let
  lib = import nixpkgsLib;
  evaluated = import ./evaluate.nix {
    inherit nixpkgsLib;
    modules = [ host ];
  };
  inherit (evaluated) config;
  failed = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
  units = lib.mapAttrs (
    _: unit:
    {
      inherit (unit)
        after
        before
        wantedBy
        requiredBy
        environment
        script
        ;
      serviceConfig = lib.mapAttrs (
        _: value: if lib.isAttrs value && value ? overrideArgs then value.overrideArgs.text or value.name else value
      ) unit.serviceConfig;
    }
  ) config.systemd.services;
  nameOf = drv: if drv == null then null else drv.name;
in
if failed != [ ] then
  { assertions = failed; }
else
  {
    assertions = [ ];
    inherit (config) warnings;
    kernelParams = config.boot.kernelParams;
    supportedFilesystems = config.boot.supportedFilesystems;
    firewall = config.networking.firewall;
    stackJson = builtins.fromJSON config.environment.etc."local-llm/stack.json".text;
    inherit units;
    paths = lib.mapAttrs (_: p: p.pathConfig) config.systemd.paths;
    tmpfiles = config.systemd.tmpfiles.rules;
    users = lib.mapAttrs (_: u: removeAttrs u [ ]) config.users.users;
    llamaSwap = {
      inherit (config.services.llama-swap) enable port;
      package = nameOf config.services.llama-swap.package;
    };
    ollama = removeAttrs config.services.ollama [ "package" ] // {
      package = nameOf config.services.ollama.package;
    };
    webui = removeAttrs config.services.open-webui [ "package" ];
    envoy = {
      inherit (config.services.envoy) enable settings requireValidConfig;
    };
    llamaCpp = {
      inherit (config.services.local-llm.llamaServer.package) name;
      overrideArgs = config.services.local-llm.llamaServer.package.overrideArgs or null;
    };
  }
