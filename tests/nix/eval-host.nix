# Evaluates nixos-module/host with nixpkgs' `lib` alone (like eval-module.nix for the guest):
# the NixOS options the host module sets or reads are stand-ins, packages are fake store
# paths. Prints { settings; unit; firewall; assertions; registry; nixRegistry; extraDependencies; }
# for `services.seed` = `config`.
#   nix-instantiate --eval --strict --json tests/nix/eval-host.nix --argstr nixpkgsLib $SEED_NIXPKGS_LIB
{ nixpkgsLib, config ? { domain = "seed.test"; } }:
let
  lib = import nixpkgsLib;
  inherit (lib) mkOption types;
  fakePackage = name: {
    type = "derivation";
    inherit name;
    pname = name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
    meta.mainProgram = name;
  };
  pkgs = lib.genAttrs [ "cloud-hypervisor" "virtiofsd" "swtpm" "qemu_kvm" "lvm2" "e2fsprogs"
    "util-linux" "iproute2" "nftables" "git" "kmod" "coreutils" "nix" "seedd" ] fakePackage // {
    # As nix/shoot-image.nix's passthru has it.
    seed-shoot-image = fakePackage "seed-shoot-image" // { kernelParams = "console=ttyS0 quiet"; };
    formats.json = { }: {
      type = types.attrsOf types.anything;
      # Keeps what was rendered, so tests can read generated files (the flake registry).
      generate = name: value: fakePackage name // { inherit value; };
    };
  };
  open = mkOption { type = types.lazyAttrsOf types.anything; default = { }; };
  stubs = {
    options = {
      assertions = mkOption { type = types.listOf types.unspecified; default = [ ]; };
      users = open; nix = open; boot = open; networking = open; environment = open; systemd = open;
      system = open;
      services.lvm.enable = mkOption { type = types.bool; default = false; };
      services.openssh.enable = mkOption { type = types.bool; default = false; };
      services.openssh.ports = mkOption { type = types.listOf types.port; default = [ 22 ]; };
    };
    config = {
      _module.args.pkgs = pkgs;
      nix.package = pkgs.nix;
    };
  };
  evaluated = lib.evalModules {
    modules = [
      stubs
      ../../nixos-module/host
      # The shoot image as seed's nixosModules.default sets it (flake.nix).
      { services.seed.shoot.image = lib.mkDefault pkgs.seed-shoot-image; }
      { services.seed = { enable = true; package = pkgs.seedd; } // config; }
    ];
  };
  cfg = evaluated.config;
in
{
  inherit (cfg.services.seed) settings;
  unit = cfg.systemd.services.seedd.serviceConfig;
  firewall = cfg.networking.firewall;
  assertions = map (a: a.message) (builtins.filter (a: !a.assertion) cfg.assertions);
  # seedd's flake registry file (eval.flake_registry), the system one, and what stays in the store.
  registry = cfg.environment.etc."seed/flake-registry.json".source.value or null;
  nixRegistry = builtins.mapAttrs (_: e: e.flake.outPath) (cfg.nix.registry or { });
  extraDependencies = cfg.system.extraDependencies or [ ];
}
