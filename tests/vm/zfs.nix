# The models dataset is created on an empty disk with the declared properties.
{ self, ... }:
{
  name = "local-llm-zfs";
  nodes.machine =
    { pkgs, ... }:
    {
      imports = [ (import ./_host.nix { inherit self; }) ];
      virtualisation.emptyDiskImages = [ 1024 ];
      networking.hostId = "deadbeef";
      # /dev/disk/by-id is not populated in the test VMs.
      boot.zfs.devNodes = "/dev/disk/by-uuid";
      services.local-llm = {
        modelsDir = "/models";
        zfs = {
          dataset = "ssdpool/local/models";
          quota = "500M";
        };
      };
      environment.systemPackages = [ pkgs.parted ];
    };
  testScript = ''
    machine.wait_for_unit("multi-user.target")
    machine.succeed("zpool create -f ssdpool /dev/vdb")
    machine.succeed("systemctl restart local-llm-dataset.service")
    machine.succeed("zfs list -H -o name ssdpool/local/models")
    props = machine.succeed(
        "zfs get -H -o value quota,compression,recordsize,mountpoint ssdpool/local/models"
    ).split()
    assert props == ["500M", "lz4", "1M", "/models"], props
    assert machine.succeed("stat -c %U /models").strip() == "local-llm"
    # An existing dataset is reconciled, not recreated, on the next start.
    machine.succeed("touch /models/keep && systemctl restart local-llm-dataset.service && test -f /models/keep")
  '';
}
