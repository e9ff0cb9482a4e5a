# The guest boot profile: a microVM, not a container. seedd boots `toplevel` directly
# (kernel + initrd + kernel-params + init, docs/guest-contract.md), so there is no bootloader,
# no disk and no root filesystem image: `/` is a tmpfs, the closure comes read-only from the
# host's store over virtio-fs, and state lives only on the seed-tpm and storage-* shares.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkDefault mkIf;
  meta = config.seed.meta;

  # A lean kernel: the devices seedd gives a guest are built in, so the initrd needs no module
  # loading before it can mount the store (boot time is the point).
  guestKernel = pkgs.linuxPackages_6_6.kernel.override {
    structuredExtraConfig = with lib.kernel; {
      VIRTIO = yes;
      VIRTIO_PCI = yes;
      VIRTIO_MMIO = yes;
      VIRTIO_MMIO_CMDLINE_DEVICES = yes;
      VIRTIO_NET = yes;
      VIRTIO_CONSOLE = yes;
      VIRTIO_BALLOON = yes;
      HW_RANDOM_VIRTIO = yes;
      FUSE_FS = yes;
      VIRTIO_FS = yes;
      VSOCKETS = yes;
      VIRTIO_VSOCKETS = yes;
      TCG_TPM = yes;
      TCG_CRB = yes;
      TCG_TIS = yes;
      SERIAL_8250 = yes;
      SERIAL_8250_CONSOLE = yes;
    };
    ignoreConfigErrors = true;
  };
in
{
  boot.kernelPackages = mkDefault (pkgs.linuxPackagesFor guestKernel);
  boot.kernelParams = [ "console=ttyS0" "panic=-1" "reboot=t" "quiet" "loglevel=4" ];
  boot.loader.grub.enable = false;
  boot.initrd.kernelModules = [ ];
  boot.initrd.availableKernelModules = [ ];
  boot.initrd.includeDefaultModules = false;
  # The initrd mounts the store share read-only and a tmpfs root, then starts the toplevel's
  # init (systemd) as PID 1.
  fileSystems."/" = {
    device = "none";
    fsType = "tmpfs";
    options = [ "mode=0755" "size=50%" ];
  };
  fileSystems."/nix/store" = {
    device = "nix-store";
    fsType = "virtiofs";
    options = [ "ro" ];
    neededForBoot = true;
  };
  # Per-instance data from seedd (env, network.json, instance.json, connect/); runtime.nix
  # copies what services read from it before sysinit.target.
  fileSystems."/run/seed/host" = {
    device = "seed";
    fsType = "virtiofs";
    options = [ "ro" "nofail" ];
  };
  # The TPM state's companion: the age identity must exist before activation decrypts secrets.
  fileSystems."/seed/tpm" = {
    device = "seed-tpm";
    fsType = "virtiofs";
    options = [ "nofail" ];
    neededForBoot = true;
  };
  boot.initrd.supportedFilesystems = [ "virtiofs" ];

  # The root is a fresh tmpfs on every boot: NixOS must not try to keep a store database or a
  # /nix/var profile on it; the closure is complete on the share.
  nix.enable = mkDefault false;
  boot.nixStoreMountOpts = [ "ro" ];

  # Fast boot: nothing that only a desktop, a laptop or a bare-metal machine needs.
  documentation.enable = mkDefault false;
  documentation.man.enable = mkDefault false;
  documentation.nixos.enable = mkDefault false;
  programs.command-not-found.enable = mkDefault false;
  environment.defaultPackages = mkDefault [ ];
  fonts.fontconfig.enable = mkDefault false;
  xdg.mime.enable = mkDefault false;
  xdg.icons.enable = mkDefault false;
  services.udisks2.enable = mkDefault false;
  services.timesyncd.enable = mkDefault false; # the guest clock is the host's (kvm-clock)
  security.polkit.enable = mkDefault false;
  systemd.services.systemd-udev-settle.enable = false;
  systemd.services.systemd-journal-flush.enable = false;
  services.journald.extraConfig = "Storage=volatile\n";
  hardware.enableRedistributableFirmware = false;
  powerManagement.enable = false;
  networking.useDHCP = false;
  networking.firewall.enable = mkDefault true;
  networking.hostName = mkDefault meta.name;
  system.stateVersion = mkDefault "24.11";

  # seedd's power button (ACPI) must power the guest off, not be ignored.
  services.logind.powerKey = "poweroff";

  # Volumes: one virtio-fs share each, mounted before local-fs.target so every service sees
  # them (systemd creates the mount point).
  systemd.mounts = lib.mapAttrsToList (n: v: {
    what = v.share;
    where = v.mount_point;
    type = "virtiofs";
    wantedBy = [ "local-fs.target" ];
    before = [ "local-fs.target" ];
    unitConfig.DefaultDependencies = false;
  }) meta.storage;

  assertions = mkIf (config.boot.isContainer) [{
    assertion = false;
    message = "seed instances boot as microVMs; do not set boot.isContainer";
  }];
}
