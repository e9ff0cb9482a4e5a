# The NixOS node's shoot image (docs/shoots.md): the generic guest every shoot template boots.
# It is built by the same tests/guest/build-guest.sh as the hermetic test guest that every
# shoot test here boots, from nixpkgs' parts instead of Debian's packages: nixpkgs' kernel and
# a static busybox, with the agent's helpers compiled static from the same sources
# (tests/guest/given-parts-test.sh checks that path makes the same image from the same parts).
# Output: kernel, initrd, kernel-params, init (build-guest.sh's OUTDIR); the host module points
# seedd's shoot.image at it.
{ lib, runCommandCC, linuxPackages, pkgsStatic, glibc, cpio, xz, zstd, kmod }:
let
  kernel = linuxPackages.kernel;
  # build-guest.sh reads its inputs relative to itself: keep both directories in place.
  src = lib.cleanSourceWith {
    src = ../.;
    filter = path: type:
      let rel = lib.removePrefix (toString ../. + "/") (toString path);
      in lib.elem rel [ "tests" "nixos-module" ]
        || lib.hasPrefix "tests/guest" rel || lib.hasPrefix "nixos-module/guest" rel;
  };
in
runCommandCC "seed-shoot-image" {
  nativeBuildInputs = [ cpio xz zstd kmod ];
  buildInputs = [ glibc.static ];
  passthru = {
    inherit kernel;
    # build-guest.sh's KERNEL_PARAMS, also written to $out/kernel-params (given-parts-test.sh
    # checks the two agree); here so the host module needs no import from a derivation.
    kernelParams = "console=ttyS0 reboot=t panic=-1 quiet";
  };
} ''
  # A writable copy of the modules with a fresh modules.dep (build-guest.sh reads it).
  mkdir -p k/lib/modules
  cp -r ${kernel}/lib/modules/${kernel.modDirVersion} k/lib/modules/
  chmod -R u+w k
  depmod -b "$PWD/k" ${kernel.modDirVersion}
  SEED_GUEST_CACHE=$TMPDIR/cache \
  SEED_GUEST_KERNEL=${kernel}/bzImage \
  SEED_GUEST_MODULES=$PWD/k/lib/modules/${kernel.modDirVersion} \
  SEED_GUEST_BUSYBOX=${pkgsStatic.busybox}/bin/busybox \
    bash ${src}/tests/guest/build-guest.sh $out
''
