# The systemd sandbox of every local-llm unit, written once (systemd.exec(5)).
# A plain attrset: the NixOS modules and the rendered units off NixOS (units.nix) share it.
rec {
  # Safe for any unit, the dataset oneshot (root, runs zfs) included: nothing that gives
  # the unit its own mount namespace, which would hide the mount it makes.
  base = {
    LockPersonality = true;
    NoNewPrivileges = true;
    ProtectHostname = true;
    RemoveIPC = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    SystemCallArchitectures = "native";
  };

  # An unprivileged service: read-only system, its own /tmp, no devices or capabilities,
  # only its own processes in /proc.
  service = base // {
    CapabilityBoundingSet = [ "" ];
    MemoryDenyWriteExecute = true;
    PrivateDevices = true;
    PrivateTmp = true;
    ProcSubset = "pid";
    ProtectClock = true;
    ProtectControlGroups = true;
    ProtectHome = true;
    ProtectKernelLogs = true;
    ProtectKernelModules = true;
    ProtectKernelTunables = true;
    ProtectProc = "invisible";
    ProtectSystem = "strict";
    RestrictAddressFamilies = [
      "AF_INET"
      "AF_INET6"
      "AF_UNIX"
    ];
    RestrictNamespaces = true;
    SystemCallFilter = [
      "@system-service"
      "~@privileged"
    ];
  };

  # The groups owning the GPU device nodes (/dev/kfd, /dev/dri/renderD*).
  gpuGroups = [
    "render"
    "video"
  ];

  # A llama-server: the GPU device nodes by class (DRM render nodes, AMD KFD, NVIDIA),
  # the groups that own them, W+X memory and all of /proc.
  gpu = service // {
    PrivateDevices = false;
    DevicePolicy = "closed";
    DeviceAllow = [
      "char-drm rw"
      "char-kfd rw"
      "char-nvidiactl rw"
      "char-nvidia-caps rw"
      "char-nvidia-frontend rw"
      "char-nvidia-uvm rw"
    ];
    SupplementaryGroups = gpuGroups;
    # ROCm and RADV compile GPU code at run time: W^X memory breaks them.
    MemoryDenyWriteExecute = false;
    # ggml and the ROCm runtime read /proc/cpuinfo and /proc/meminfo.
    ProcSubset = "all";
  };
}
