# Evaluates nixos-module/guest/options.nix with nixpkgs' `lib` alone (lib.evalModules), the
# way a NixOS evaluation would, for CI machines that have nixpkgs' lib but not nixpkgs:
#   nix-instantiate --eval --strict --json tests/nix/eval-module.nix \
#     --argstr nixpkgsLib /path/to/nixpkgs/lib --argstr template instance/web.nix
# The few NixOS options the guest module sets are declared here as plain options; everything
# else a template sets (services.*, systemd.*, sops.*) is accepted by a freeform type, and
# `pkgs` is a stub whose packages are fake store paths. Prints
#   { meta; firewall = { tcp; udp; }; etc = { path = text; }; }
# or fails with the assertion messages (the seed.* rules) or nixpkgs' type errors.
{ nixpkgsLib, name ? "web", system ? "x86_64-linux", template ? null, fixture ? null }:
let
  lib = import nixpkgsLib;

  stubs = import ./stubs.nix { inherit lib; };

  module =
    if template != null then ../../templates + "/${template}"
    else (import ./bad-modules.nix).${fixture}.module;

  evaluated = lib.evalModules {
    modules = [ stubs ../../nixos-module/guest/options.nix module { seed = { inherit name system; }; } ];
  };
  cfg = evaluated.config;
  failed = map (a: a.message) (builtins.filter (a: !a.assertion) cfg.assertions);
in
if failed != [ ] then throw ("failed assertions:\n" + lib.concatMapStrings (m: "- ${m}\n") failed)
else {
  inherit (cfg.seed) meta;
  firewall = { tcp = cfg.networking.firewall.allowedTCPPorts; udp = cfg.networking.firewall.allowedUDPPorts; };
  etc = lib.mapAttrs (_: v: v.text) cfg.environment.etc;
}
