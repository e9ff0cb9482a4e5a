# The stand-ins eval-module.nix needs to evaluate the guest option module without NixOS:
# the NixOS options it sets, as plain options; a freeform type for everything else an instance
# module sets (services.*, systemd.*, sops.*); and a `pkgs` whose packages are fake store paths.
{ lib }:
let
  inherit (lib) mkOption types;
  fakePath = n: "/nix/store/00000000000000000000000000000000-${n}";
  pkgs = {
    writeText = n: _: fakePath n;
    writeShellScript = n: _: fakePath n;
    writeShellApplication = a: fakePath a.name;
  } // lib.genAttrs [ "busybox" "python3" "nodejs" "caddy" "nginx" "curl" "jq" ] fakePath;
in
{
  freeformType = types.attrsOf types.anything;
  options = {
    assertions = mkOption { type = types.listOf types.unspecified; default = [ ]; };
    networking.firewall.allowedTCPPorts = mkOption { type = types.listOf types.port; default = [ ]; };
    networking.firewall.allowedUDPPorts = mkOption { type = types.listOf types.port; default = [ ]; };
    environment.etc = mkOption {
      type = types.attrsOf (types.submodule { options.text = mkOption { type = types.lines; }; });
      default = { };
    };
  };
  config._module.args.pkgs = pkgs;
}
