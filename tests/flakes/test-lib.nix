# A nixpkgs-free stand-in for lib.mkSeed, for tests of everything downstream of evaluation
# (the reconcile engine's eval, build, generation and boot steps) on machines without nixpkgs.
#
#   seed = import ./seed/test-lib.nix { busybox = ./bin; guest = ./guest; };
#   seeds.web = seed.mkSeed { name = "web"; seed = { expose.http.enable = true; }; };
#
# `meta` is computed by the real rules (lib/meta.nix), so a bad seed.* value fails
# `nix eval` exactly as it does for a real instance. `toplevel` is a real derivation, built by
# a static busybox, with the layout seedd boots (kernel, initrd, kernel-params, init) taken
# from the hermetic test guest (tests/guest). `busybox` is a directory holding a file named
# `busybox` (it must be invoked under that name); `guest` a build-guest.sh output directory.
{ busybox, guest }:
let
  rules = import ./lib/meta.nix;
  baseParams = builtins.replaceStrings [ "\n" ] [ "" ] (builtins.readFile (guest + "/kernel-params"));
in
{
  mkSeed = { name, seed ? { }, system ? "x86_64-linux", kernelParams ? "" }:
    let
      meta = rules.mkMeta { inherit name system seed; };
    in
    {
      inherit meta;
      toplevel = builtins.seq meta (derivation {
        name = "seed-test-toplevel-${name}";
        inherit system;
        builder = "${busybox}/busybox";
        # The instance's own kernel parameters, as NixOS's boot.kernelParams would give them.
        params = "${baseParams} seed.hostname=${name}${if kernelParams == "" then "" else " " + kernelParams}";
        kernel = "${guest}/kernel";
        initrd = "${guest}/initrd";
        init = "${guest}/init";
        args = [
          "sh"
          "-euc"
          ''
            bb=${busybox}/busybox
            $bb mkdir "$out"
            $bb cp "$kernel" "$out/kernel"
            $bb cp "$initrd" "$out/initrd"
            $bb cp "$init" "$out/init"
            $bb printf '%s\n' "$params" > "$out/kernel-params"
          ''
        ];
      });
      # The part of a NixOS config that tests look at.
      config.seed = meta;
    };
}
