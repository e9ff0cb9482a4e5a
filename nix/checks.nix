# checks.x86_64-linux: run with `nix flake check` on a NixOS machine with KVM and internet
# (they need nixpkgs, so CI here runs their pure halves through tests/nix instead):
#   meta-<template>-<name>  the template instance's meta equals tests/nix/expected/template-*.json
#   bad-<fixture>           each tests/nix/bad-modules.nix fixture fails evaluation
#   pure-meta               lib/meta.nix's own cases (tests/nix/good.nix) against expected JSON
#   vm-instance             a NixOS host with services.seed boots the `instance` template and
#                           runs a shoot from it (seed-shoot, the shoot image of nix/shoot-image.nix)
{ self, pkgs }:
let
  inherit (pkgs) lib;
  tests = ../tests/nix;
  mkSeed = self.lib.mkSeed;
  expected = file: builtins.fromJSON (builtins.readFile (tests + "/expected/${file}"));

  # A derivation that succeeds only when `actual` equals `wanted` (shows a diff otherwise).
  sameJson = name: actual: wanted: pkgs.runCommand name {
    nativeBuildInputs = [ pkgs.jq ];
    actual = builtins.toJSON actual;
    wanted = builtins.toJSON wanted;
    passAsFile = [ "actual" "wanted" ];
  } ''
    jq -S . "$actualPath" > actual.json
    jq -S . "$wantedPath" > wanted.json
    diff -u wanted.json actual.json
    touch $out
  '';

  templateChecks = map (t: lib.nameValuePair "meta-${t.dir}-${t.name}"
    (sameJson "seed-meta-${t.dir}-${t.name}"
      (mkSeed { inherit (t) name; module = ../templates + "/${t.dir}/${t.file}"; }).meta
      (expected "template-${t.dir}-${t.name}.json")))
    (import (tests + "/templates.nix"));

  # tryEval catches the type errors and assertion failures these must raise; the readable
  # messages themselves are checked by tests/nix/nix_module_test.cpp.
  badChecks = lib.mapAttrsToList (fixture: f:
    let r = builtins.tryEval (builtins.deepSeq (mkSeed { name = "bad"; inherit (f) module; }).meta true);
    in lib.nameValuePair "bad-${fixture}" (
      if r.success then throw "checks: fixture ${fixture} of tests/nix/bad-modules.nix evaluated, but must fail"
      else pkgs.runCommand "seed-bad-${fixture}" { } "touch $out"))
    (import (tests + "/bad-modules.nix"));

  pureCases = import (tests + "/good.nix");
  pure = sameJson "seed-pure-meta"
    (lib.mapAttrs (_: self.lib.meta.mkMeta) pureCases)
    (lib.mapAttrs (n: _: expected "${n}.json") pureCases);
in
lib.listToAttrs (templateChecks ++ badChecks) // {
  pure-meta = pure;
  vm-instance = import ./vm-test.nix { inherit self pkgs; };
}
