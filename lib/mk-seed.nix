# lib.mkSeed { name; module; system ? "x86_64-linux"; modules ? [ ]; } -> { meta; toplevel; config; }
#
# Evaluates one instance as a NixOS system (nixosModules.guest + the tenant's module). `meta`
# is what `nix eval .#seeds.<name>.meta --json` prints: forcing it checks the instance name,
# every assertion (the seed.* rules among them) and instantiates the toplevel derivation, so
# a type error anywhere in the instance fails here, before anything is built.
{ nixpkgs, guestModule }:
{ name, module, system ? "x86_64-linux", modules ? [ ] }:
let
  rules = import ./meta.nix;
  nameProblems = rules.problems { inherit name system; };
  nixos = nixpkgs.lib.nixosSystem {
    modules = [
      guestModule
      module
      {
        seed.name = name;
        seed.system = system;
        nixpkgs.hostPlatform = nixpkgs.lib.mkDefault system;
      }
    ] ++ modules;
  };
  config = nixos.config;
  failed = map (a: a.message) (builtins.filter (a: !a.assertion) config.assertions);
  toplevel = config.system.build.toplevel;
  checked =
    if nameProblems != [ ] then throw (rules.formatProblems name nameProblems)
    else if failed != [ ] then throw
      ("seed instance ${builtins.toJSON name} fails evaluation:\n"
        + builtins.concatStringsSep "\n" (map (m: "  - ${m}") failed))
    else true;
in
{
  meta = builtins.seq checked (builtins.seq toplevel.drvPath config.seed.meta);
  toplevel = builtins.seq checked toplevel;
  inherit config;
}
