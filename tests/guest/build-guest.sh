#!/usr/bin/env bash
# Build the Seed hermetic test guest as a NixOS-style toplevel directory:
#
#   OUTDIR/kernel         vmlinuz of Debian's linux-image-cloud-amd64
#   OUTDIR/initrd         gzip'ed newc cpio: busybox-static, init.sh, virtio modules
#   OUTDIR/kernel-params  base kernel command line (caller appends tsc_early_khz= etc.)
#   OUTDIR/init           path of init inside the initrd ("/init")
#   OUTDIR/stamp          sha256 of the inputs (these scripts + exact package versions)
#
# Usage: build-guest.sh OUTDIR
#
# Only Debian packages are used (apt-get download, no installation). Downloaded
# .debs are cached in $SEED_GUEST_CACHE (default: OUTDIR/../guest-cache). The
# build is skipped when OUTDIR/stamp equals the hash of the inputs; when the
# packages cannot be resolved or downloaded but OUTDIR holds a complete build,
# that build is reused (with a warning).
#
# Given parts instead of Debian's (how nix/shoot-image.nix builds the NixOS node's
# shoot image from nixpkgs' kernel and static busybox; nothing is downloaded):
#   SEED_GUEST_KERNEL=<bzImage> SEED_GUEST_MODULES=<lib/modules/RELEASE, with modules.dep>
#   SEED_GUEST_BUSYBOX=<static busybox> build-guest.sh OUTDIR
set -euo pipefail

KERNEL_META=${SEED_GUEST_KERNEL_PACKAGE:-linux-image-cloud-amd64}
BUSYBOX_PKG=busybox-static
KERNEL_PARAMS="console=ttyS0 reboot=t panic=-1 quiet"
# Loaded in this order (dependencies from modules.dep are inserted first);
# modules that are built in or absent are skipped.
MODULES=(virtio_ring virtio virtio_mmio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
	failover net_failover virtio_net virtio_console fuse virtiofs tpm_tis tpm_crb button evdev)
# Files that go into the guest or decide how it is built; part of the stamp.
INPUTS=(build-guest.sh init.sh netjson.awk ../../nixos-module/guest/seed-agent-exec.c
	../../nixos-module/guest/seed-console-relay.c seed-clone-init.c)

msg() { echo "build-guest: $*" >&2; }
die() {
	msg "error: $*"
	exit 1
}

[[ $# -eq 1 && -n $1 ]] || {
	echo "usage: $0 OUTDIR" >&2
	exit 2
}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1"
OUTDIR=$(cd "$1" && pwd)
CACHE=${SEED_GUEST_CACHE:-$(dirname "$OUTDIR")/guest-cache}
mkdir -p "$CACHE/debs"
CACHE=$(cd "$CACHE" && pwd)

# One build at a time per cache (parallel test runs share it).
exec {lockfd}>"$CACHE/lock"
flock "$lockfd"

have_build() {
	local f
	for f in stamp kernel initrd kernel-params init; do
		[[ -s $OUTDIR/$f ]] || return 1
	done
}

reuse_or_die() { # WHY
	if have_build; then
		msg "warning: $1; reusing the existing build in $OUTDIR (stamp $(<"$OUTDIR/stamp"))"
		exit 0
	fi
	die "$1, and there is no previous build in $OUTDIR to fall back to"
}

# ---------------------------------------------------------------- resolve versions

# One apt-cache call (it costs ~0.4 s) gives the candidate of the kernel
# metapackage (whose Depends names the versioned image) and of busybox-static.
KPKG='' KVER='' BVER=''
resolve_versions() {
	local out
	out=$(LC_ALL=C apt-cache show --no-all-versions "$KERNEL_META" "$BUSYBOX_PKG" 2>/dev/null) || return 1
	read -r KPKG KVER BVER < <(awk -v meta="$KERNEL_META" -v bb="$BUSYBOX_PKG" '
		/^Package: / { pkg = $2 }
		pkg == meta && /^Depends: / {
			if (match($0, /linux-image-[^ ,(]+ \(= [^)]+\)/)) {
				split(substr($0, RSTART, RLENGTH), a, /[ ()=]+/)
				kpkg = a[1]; kver = a[2]
			}
		}
		pkg == bb && /^Version: / { bver = $2 }
		END { if (kpkg != "" && kver != "" && bver != "") print kpkg, kver, bver }
	' <<<"$out") || return 1
	[[ -n $KPKG && -n $KVER && -n $BVER ]]
}

# Offline fallback: newest cached debs.
resolve_from_cache() {
	local k b
	k=$(cd "$CACHE/debs" && printf '%s\n' linux-image-*-cloud-amd64_*.deb | grep -v '\*' | sort -V | tail -n1) || true
	b=$(cd "$CACHE/debs" && printf '%s\n' "${BUSYBOX_PKG}"_*.deb | grep -v '\*' | sort -V | tail -n1) || true
	[[ -n $k && -n $b ]] || return 1
	KPKG=$(dpkg-deb -f "$CACHE/debs/$k" Package)
	KVER=$(dpkg-deb -f "$CACHE/debs/$k" Version)
	BVER=$(dpkg-deb -f "$CACHE/debs/$b" Version)
}

# Hash of this directory's inputs plus the lines given as arguments (what else decides the build).
input_stamp() {
	{
		cd "$HERE"
		for f in "${INPUTS[@]}"; do
			printf 'file %s %s\n' "$f" "$(sha256sum <"$f" | cut -d' ' -f1)"
		done
		printf '%s\n' "$@"
	} | sha256sum | cut -d' ' -f1
}

exit_if_built() {
	if have_build && [[ $(<"$OUTDIR/stamp") == "$STAMP" ]]; then
		msg "reused cached guest in $OUTDIR ($WHAT, stamp $STAMP)"
		exit 0
	fi
}

# ---------------------------------------------------------------- download

# Cached deb for PKG=VER, downloading it if needed; prints its path.
fetch_deb() { # PKG VER
	local pkg=$1 ver=$2 f tmp
	for f in "$CACHE/debs/${pkg}"_*.deb; do
		[[ -e $f ]] || continue
		if [[ $(dpkg-deb -f "$f" Package Version 2>/dev/null | tr '\n' ' ') == "Package: $pkg Version: $ver " ]]; then
			echo "$f"
			return 0
		fi
	done
	tmp=$(mktemp -d "$CACHE/dl.XXXXXX")
	local opts=()
	[[ $(id -u) == 0 ]] && opts=(-o APT::Sandbox::User=root)
	if ! (cd "$tmp" && apt-get download -q "${opts[@]}" "$pkg=$ver" >&2); then
		rm -rf "$tmp"
		return 1
	fi
	f=$(printf '%s\n' "$tmp"/*.deb | head -n1)
	[[ -e $f ]] || {
		rm -rf "$tmp"
		return 1
	}
	mv "$f" "$CACHE/debs/"
	rm -rf "$tmp"
	echo "$CACHE/debs/${f##*/}"
}

WORK=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Sets VMLINUZ, MODDIR (lib/modules/<release>, with modules.dep), KREL and BUSYBOX.
if [[ -n ${SEED_GUEST_KERNEL:-} ]]; then
	# Given parts (nix/shoot-image.nix: nixpkgs' kernel and static busybox, the NixOS
	# node's shoot image): nothing is resolved or downloaded. The modules directory may be
	# read-only, so it must come with its modules.dep.
	VMLINUZ=$SEED_GUEST_KERNEL
	MODDIR=${SEED_GUEST_MODULES:?SEED_GUEST_MODULES must name the lib/modules/RELEASE directory of that kernel}
	BUSYBOX=${SEED_GUEST_BUSYBOX:?SEED_GUEST_BUSYBOX must name a static busybox binary}
	[[ -s $VMLINUZ ]] || die "SEED_GUEST_KERNEL: no kernel at $VMLINUZ"
	[[ -s $MODDIR/modules.dep ]] || die "SEED_GUEST_MODULES: no modules.dep in $MODDIR"
	[[ -x $BUSYBOX ]] || die "SEED_GUEST_BUSYBOX: $BUSYBOX is not executable"
	MODDIR=${MODDIR%/}
	KREL=${MODDIR##*/}
	WHAT="given kernel $KREL"
	STAMP=$(input_stamp "kernel $(sha256sum <"$VMLINUZ" | cut -d' ' -f1)" \
		"modules $(sha256sum <"$MODDIR/modules.dep" | cut -d' ' -f1)" \
		"busybox $(sha256sum <"$BUSYBOX" | cut -d' ' -f1)") || die "cannot hash the inputs in $HERE"
	exit_if_built
else
	if ! resolve_versions; then
		if resolve_from_cache; then
			msg "warning: apt-cache cannot resolve $KERNEL_META/$BUSYBOX_PKG; using cached $KPKG $KVER"
		else
			reuse_or_die "apt-cache cannot resolve $KERNEL_META and $BUSYBOX_PKG"
		fi
	fi

	WHAT="$KPKG $KVER"
	STAMP=$(input_stamp "package $KPKG $KVER" "package $BUSYBOX_PKG $BVER") || die "cannot hash the inputs in $HERE"
	exit_if_built

	msg "building guest: $KPKG $KVER, $BUSYBOX_PKG $BVER"
	KDEB=$(fetch_deb "$KPKG" "$KVER") || reuse_or_die "cannot download $KPKG=$KVER"
	BDEB=$(fetch_deb "$BUSYBOX_PKG" "$BVER") || reuse_or_die "cannot download $BUSYBOX_PKG=$BVER"
	dpkg-deb -x "$KDEB" "$WORK/k"
	dpkg-deb -x "$BDEB" "$WORK/bb"
	BUSYBOX=$WORK/bb/bin/busybox
	[[ -x $BUSYBOX ]] || die "$BDEB has no /bin/busybox"
	kvers=("$WORK"/k/lib/modules/*)
	[[ ${#kvers[@]} -eq 1 && -d ${kvers[0]} ]] || die "expected exactly one lib/modules/<version> in $KDEB"
	KREL=${kvers[0]##*/}
	MODDIR=${kvers[0]}
	VMLINUZ=$WORK/k/boot/vmlinuz-$KREL
	[[ -s $VMLINUZ ]] || die "no boot/vmlinuz-$KREL in $KDEB"
	# The package ships no modules.dep (its postinst runs depmod): generate it.
	if [[ ! -s $MODDIR/modules.dep ]]; then
		DEPMOD=$(PATH=$PATH:/usr/sbin:/sbin command -v depmod) || die "depmod not found (install kmod)"
		"$DEPMOD" -b "$WORK/k" "$KREL" || die "depmod failed"
	fi
fi

# ---------------------------------------------------------------- build

# name -> path (relative to MODDIR) of every loadable module; built-in names.
declare -A MODPATH=() MODDEPS=() BUILTIN=()
while IFS= read -r line; do
	path=${line%%:*}
	deps=${line#*:}
	name=${path##*/}
	name=${name%%.ko*}
	name=${name//-/_}
	MODPATH[$name]=$path
	MODDEPS[$name]=$deps
done <"$MODDIR/modules.dep"
if [[ -f $MODDIR/modules.builtin ]]; then
	while IFS= read -r path; do
		name=${path##*/}
		name=${name%%.ko*}
		BUILTIN[${name//-/_}]=1
	done <"$MODDIR/modules.builtin"
fi

ORDER=()
declare -A SEEN=()
visit() { # NAME
	local name=$1 dep dname
	[[ -z ${SEEN[$name]:-} ]] || return 0
	SEEN[$name]=1
	if [[ -z ${MODPATH[$name]:-} ]]; then
		if [[ -n ${BUILTIN[$name]:-} ]]; then
			msg "module $name: built in"
		else
			msg "module $name: not in this kernel, skipped"
		fi
		return 0
	fi
	for dep in ${MODDEPS[$name]}; do
		dname=${dep##*/}
		dname=${dname%%.ko*}
		visit "${dname//-/_}"
	done
	ORDER+=("$name")
}
for m in "${MODULES[@]}"; do visit "$m"; done
msg "modules (load order): ${ORDER[*]}"

ROOT=$WORK/root
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,mnt,root,srv,var,etc/acpi,lib/modules,lib/seed-guest}
chmod 1777 "$ROOT/tmp"
chmod 0700 "$ROOT/root"
install -m 0755 "$BUSYBOX" "$ROOT/bin/busybox"
install -m 0755 "$HERE/init.sh" "$ROOT/init"
install -m 0644 "$HERE/netjson.awk" "$ROOT/lib/seed-guest/netjson.awk"
# The console relay (ssh -t <node> console): busybox has nothing that gives a pty its window
# size from a byte stream, so a small static C program does it (the NixOS guest module builds
# the same source).
gcc -static -Os -Wall -Wextra -Werror -o "$ROOT/bin/seed-console-relay" \
	"$HERE/../../nixos-module/guest/seed-console-relay.c" || die "cannot build seed-console-relay (needs gcc and a static libc)"
strip "$ROOT/bin/seed-console-relay"
# A shoot clone's RNG reseed and clock set (the agent's rng/clock requests): busybox cannot
# issue the random ioctls.
gcc -static -Os -Wall -Wextra -Werror -o "$ROOT/bin/seed-clone-init" "$HERE/seed-clone-init.c" ||
	die "cannot build seed-clone-init (needs gcc and a static libc)"
strip "$ROOT/bin/seed-clone-init"
# The exec helper (ssh <node> exec): the agent hands an `exec` connection to it; busybox sh
# cannot read or write length-prefixed binary frames (the NixOS guest module builds the same source).
gcc -static -Os -Wall -Wextra -Werror -o "$ROOT/bin/seed-agent-exec" "$HERE/../../nixos-module/guest/seed-agent-exec.c" ||
	die "cannot build seed-agent-exec (needs gcc and a static libc)"
strip "$ROOT/bin/seed-agent-exec"

for name in "${ORDER[@]}"; do
	src=$MODDIR/${MODPATH[$name]}
	dst=$ROOT/lib/modules/$name.ko
	case $src in
	*.ko) install -m 0644 "$src" "$dst" ;;
	*.ko.xz) xz -dc "$src" >"$dst" ;;
	*.ko.zst) zstd -qdc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	*) die "unknown module format: $src" ;;
	esac
	echo "$name" >>"$ROOT/lib/modules/load-order"
done
: >>"$ROOT/lib/modules/load-order"
echo "$KREL" >"$ROOT/lib/modules/kernel-release"

# busybox acpid: power button (KEY_POWER) -> /etc/acpi/power.
printf 'PWRF power\nPWRB power\n' >"$ROOT/etc/acpid.conf"
cat >"$ROOT/etc/acpi/power" <<'EOF'
#!/bin/sh
echo "seed-guest: power button pressed, powering off" >/dev/console
sync
poweroff -f
EOF
chmod 0755 "$ROOT/etc/acpi/power"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$ROOT/etc/group"
echo "$STAMP" >"$ROOT/etc/seed-guest-stamp"

# newc header for one entry: NAME MODE(octal) RDEVMAJOR RDEVMINOR (no data).
newc_entry() {
	local name=$1 mode=$((8#$2)) namesize=$((${#1} + 1)) ino=$5
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$ino" "$mode" 0 0 1 1 0 0 0 "$3" "$4" "$namesize" 0
	printf '%s\0' "$name"
	# header (110) + name + NUL, padded to a multiple of 4
	local pad=$(((4 - (110 + namesize) % 4) % 4))
	head -c "$pad" /dev/zero
}

# Reproducible archive: fixed mtimes, sorted names, root-owned. /dev/console
# (needed before devtmpfs is mounted) is a hand-made second archive so that
# no mknod (root) is needed at build time; the kernel unpacks both.
find "$ROOT" -exec touch -h -d @1 {} +
{
	(cd "$ROOT" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --reproducible --quiet)
	newc_entry dev/console 020600 5 1 900001
	newc_entry 'TRAILER!!!' 0 0 0 0
} >"$WORK/initrd.cpio"
gzip -n -6 <"$WORK/initrd.cpio" >"$WORK/initrd"

# ---------------------------------------------------------------- install

rm -f "$OUTDIR/stamp"
cp "$VMLINUZ" "$OUTDIR/.kernel.tmp"
mv -f "$OUTDIR/.kernel.tmp" "$OUTDIR/kernel"
mv -f "$WORK/initrd" "$OUTDIR/initrd"
echo "$KERNEL_PARAMS" >"$OUTDIR/kernel-params"
echo /init >"$OUTDIR/init"
echo "$STAMP" >"$OUTDIR/.stamp.tmp"
mv -f "$OUTDIR/.stamp.tmp" "$OUTDIR/stamp"
msg "built $OUTDIR ($WHAT, initrd $(stat -c %s "$OUTDIR/initrd") bytes, stamp $STAMP)"
