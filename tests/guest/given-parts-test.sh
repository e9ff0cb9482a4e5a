#!/usr/bin/env bash
# build-guest.sh from given parts (SEED_GUEST_KERNEL/_MODULES/_BUSYBOX: how
# nix/shoot-image.nix builds the NixOS node's shoot image from nixpkgs) makes the
# same guest as from Debian's packages: the parts of the Debian build are laid out
# as nixpkgs lays out a kernel (bzImage, lib/modules/RELEASE read-only with its
# modules.dep) and a static busybox, and the two images must have the same kernel
# and the same initrd files byte for byte, but for the stamp file. Every shoot and
# VM test boots the Debian build, so that is what a NixOS node's shoot image runs.
# What this cannot catch: nixpkgs' own kernel (which modules it builds in) and
# busybox configuration; nix/vm-test.nix's shoot check runs that where nixpkgs is.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
G=${SEED_GUEST_DIR:?SEED_GUEST_DIR must name the built test guest}
T=$(mktemp -d /tmp/seed-given-parts-XXXXXX)
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "given-parts: FAIL: $*" >&2; exit 1; }

# The Debian build, into a directory of its own (the debs come from the shared cache).
export SEED_GUEST_CACHE=$(dirname "$G")/guest-cache
"$HERE/build-guest.sh" "$T/debian"
krel=$(zcat "$T/debian/initrd" | cpio -i --quiet --to-stdout lib/modules/kernel-release)
kdeb=$(ls "$SEED_GUEST_CACHE"/debs/linux-image-"$krel"_*.deb | tail -n1)
bdeb=$(ls "$SEED_GUEST_CACHE"/debs/busybox-static_*.deb | sort -V | tail -n1)

# The same parts, laid out as nixpkgs has them.
mkdir -p "$T/x" "$T/nixkernel/lib/modules" "$T/nixbusybox/bin"
dpkg-deb -x "$kdeb" "$T/x/k"
dpkg-deb -x "$bdeb" "$T/x/bb"
cp "$T/x/k/boot/vmlinuz-$krel" "$T/nixkernel/bzImage"
cp -a "$T/x/k/lib/modules/$krel" "$T/nixkernel/lib/modules/"
depmod -b "$T/nixkernel" "$krel"
cp "$T/x/bb/bin/busybox" "$T/nixbusybox/bin/busybox"
chmod -R a-w "$T/nixkernel" "$T/nixbusybox"

SEED_GUEST_KERNEL=$T/nixkernel/bzImage SEED_GUEST_MODULES=$T/nixkernel/lib/modules/$krel/ \
	SEED_GUEST_BUSYBOX=$T/nixbusybox/bin/busybox "$HERE/build-guest.sh" "$T/given"

# Bad parts: one clear error each, and nothing written.
for bad in "SEED_GUEST_KERNEL=$T/none SEED_GUEST_MODULES=$T/nixkernel/lib/modules/$krel SEED_GUEST_BUSYBOX=$T/nixbusybox/bin/busybox|no kernel at" \
	"SEED_GUEST_KERNEL=$T/nixkernel/bzImage SEED_GUEST_MODULES=$T/nixkernel SEED_GUEST_BUSYBOX=$T/nixbusybox/bin/busybox|no modules.dep" \
	"SEED_GUEST_KERNEL=$T/nixkernel/bzImage SEED_GUEST_MODULES=$T/nixkernel/lib/modules/$krel|SEED_GUEST_BUSYBOX must name"; do
	if out=$(env ${bad%%|*} "$HERE/build-guest.sh" "$T/bad" 2>&1); then fail "bad parts were accepted: ${bad%%|*}"; fi
	grep -q "${bad#*|}" <<<"$out" || fail "expected '${bad#*|}' for ${bad%%|*}, got: $out"
	[ ! -e "$T/bad/initrd" ] || fail "bad parts left an initrd"
done

cmp "$T/debian/kernel" "$T/given/kernel" || fail "the kernels differ"
cmp "$T/debian/kernel-params" "$T/given/kernel-params" || fail "the kernel parameters differ"
listing() { # OUTDIR: path, mode and content hash of every initrd entry but the stamp
	mkdir -p "$1/unpacked"
	(cd "$1/unpacked" && zcat ../initrd | cpio -i --quiet --make-directories --no-absolute-filenames 2>/dev/null)
	(cd "$1/unpacked" && find . -mindepth 1 ! -path ./etc/seed-guest-stamp -printf '%P %m %y\n' | LC_ALL=C sort |
		while read -r p m y; do
			if [ "$y" = f ]; then echo "$p $m $(sha256sum <"$p" | cut -d' ' -f1)"; else echo "$p $m $y"; fi
		done)
}
listing "$T/debian" >"$T/debian.list"
listing "$T/given" >"$T/given.list"
[ "$(wc -l <"$T/debian.list")" -gt 20 ] || fail "the initrd has too few files: $(cat "$T/debian.list")"
grep -q '^init ' "$T/given.list" || fail "no /init in the given-parts initrd"
grep -q '^lib/modules/virtiofs.ko \|^lib/modules/load-order ' "$T/given.list" || fail "no modules in the given-parts initrd"
diff -u "$T/debian.list" "$T/given.list" || fail "the initrds differ (above)"
# nix/shoot-image.nix repeats the kernel parameters for the host module: they must agree.
nixparams=$(sed -n 's/^ *kernelParams = "\(.*\)";$/\1/p' "$HERE/../../nix/shoot-image.nix")
[ "$nixparams" = "$(cat "$T/given/kernel-params")" ] ||
	fail "nix/shoot-image.nix kernelParams '$nixparams' is not build-guest.sh's '$(cat "$T/given/kernel-params")'"
echo "given-parts: OK ($(wc -l <"$T/given.list") initrd entries identical, kernel $krel)"
