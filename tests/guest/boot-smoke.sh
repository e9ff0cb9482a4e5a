#!/usr/bin/env bash
# Manual smoke test of the hermetic guest: boot OUTDIR (built by build-guest.sh)
# under QEMU/TCG, wait for SEED-GUEST-READY, and (with python3) talk to the
# agent: ping, read a file through a virtio-fs share, power off via the agent.
#
# Usage: boot-smoke.sh OUTDIR [microvm|q35]
#
# Exit status 0 when every check passed. Everything it starts is killed and
# its temporary directory removed on exit. The real tests are the C++ ones.
set -euo pipefail

[[ $# -ge 1 && $# -le 2 ]] || {
	echo "usage: $0 OUTDIR [microvm|q35]" >&2
	exit 2
}
G=$(cd "$1" && pwd)
MACHINE=${2:-microvm}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
TIMEOUT=${SMOKE_TIMEOUT:-60}

for f in kernel initrd kernel-params init; do
	[[ -s $G/$f ]] || {
		echo "boot-smoke: $G/$f missing; run $HERE/build-guest.sh $G first" >&2
		exit 1
	}
done

T=$(mktemp -d /tmp/seed-guest-smoke.XXXXXX)
QEMU_PID='' FSD_PID=''
cleanup() {
	if [[ -n $QEMU_PID ]]; then kill "$QEMU_PID" 2>/dev/null || true; fi
	if [[ -n $FSD_PID ]]; then kill "$FSD_PID" 2>/dev/null || true; fi
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "boot-smoke: FAIL: $*" >&2
	echo "---- serial console ($T/serial) ----" >&2
	tail -n 40 "$T/serial" >&2 || true
	exit 1
}

APPEND="$(<"$G/kernel-params") init=$(<"$G/init") tsc_early_khz=$("$HERE/tsc-khz.sh") seed.hostname=smoke seed.tpmcheck=1"
case $MACHINE in
microvm)
	# shellcheck disable=SC2054 # commas belong to the QEMU option
	MACH=(-M microvm,acpi=on,memory-backend=mem -global virtio-mmio.force-legacy=false)
	FSDEV=vhost-user-fs-device SERDEV=virtio-serial-device
	;;
q35)
	# shellcheck disable=SC2054
	MACH=(-M q35,memory-backend=mem)
	FSDEV=vhost-user-fs-pci SERDEV=virtio-serial-pci
	;;
*) echo "boot-smoke: unknown machine '$MACHINE' (microvm or q35)" >&2; exit 2 ;;
esac

EXTRA=()
if [[ -x $VIRTIOFSD ]]; then
	mkdir -p "$T/share"
	echo "hello from the host" >"$T/share/hello.txt"
	"$VIRTIOFSD" --socket-path="$T/fs.sock" -o source="$T/share" -o cache=always \
		-o sandbox=namespace >"$T/virtiofsd.log" 2>&1 &
	FSD_PID=$!
	for _ in $(seq 100); do [[ -S $T/fs.sock ]] && break; sleep 0.05; done
	[[ -S $T/fs.sock ]] || fail "virtiofsd did not create its socket (see $T/virtiofsd.log)"
	EXTRA+=(-chardev "socket,id=fs0,path=$T/fs.sock" -device "$FSDEV,chardev=fs0,tag=data")
	APPEND+=" seed.fs=data:/mnt/data"
else
	echo "boot-smoke: $VIRTIOFSD not found: skipping the virtio-fs check" >&2
fi

START=$(date +%s.%N)
qemu-system-x86_64 "${MACH[@]}" -accel tcg -cpu max -m 256 \
	-object memory-backend-memfd,id=mem,size=256M,share=on \
	-nodefaults -no-user-config -display none -no-reboot \
	-kernel "$G/kernel" -initrd "$G/initrd" -append "$APPEND" \
	-serial "file:$T/serial" \
	-device "$SERDEV" -chardev "socket,id=agent,path=$T/agent.sock,server=on,wait=off" \
	-device virtconsole,chardev=agent \
	"${EXTRA[@]}" &
QEMU_PID=$!

deadline=$((SECONDS + TIMEOUT))
until grep -q '^SEED-GUEST-READY' "$T/serial" 2>/dev/null; do
	kill -0 "$QEMU_PID" 2>/dev/null || fail "qemu exited before the guest was ready"
	grep -q '^SEED-GUEST-FATAL' "$T/serial" 2>/dev/null && fail "guest reported a fatal error"
	((SECONDS < deadline)) || fail "no SEED-GUEST-READY within ${TIMEOUT}s"
	sleep 0.02
done
ELAPSED=$(awk -v a="$START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "boot-smoke: $(grep '^SEED-GUEST-READY' "$T/serial") after ${ELAPSED}s on $MACHINE (host view)"
grep -E '^(SEED-GUEST-TPM|seed-guest: error)' "$T/serial" || true
grep -q '^seed-guest: error' "$T/serial" && fail "guest reported errors"

if ! command -v python3 >/dev/null; then
	echo "boot-smoke: no python3: skipping the agent checks"
	exit 0
fi

python3 - "$T/agent.sock" "${FSD_PID:+/mnt/data/hello.txt}" <<'EOF' || fail "agent checks failed"
import socket, sys
sock, shared = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
s.settimeout(30)
buf = b""
def req(line):
    global buf
    s.sendall(line.encode() + b"\n")
    out = []
    while True:
        while b"\n" not in buf:
            d = s.recv(4096)
            if not d:
                raise SystemExit("agent closed the connection after %r" % out)
            buf += d
        l, buf = buf.split(b"\n", 1)
        if l == b".":
            return out
        out.append(l.decode(errors="replace"))
def check(line, want):
    got = req(line)
    ok = got == want
    print("boot-smoke: agent %-40r -> %r%s" % (line, got, "" if ok else "   (want %r)" % want))
    if not ok:
        raise SystemExit(1)
check("ping", ["pong"])
check("sh hostname", ["| smoke", "rc 0"])
check("sh exit 3", ["rc 3"])
check("nonsense", ["err unknown command"])
if shared:
    check("sh cat " + shared, ["| hello from the host", "rc 0"])
check("poweroff", ["bye"])
EOF

for _ in $(seq 200); do
	kill -0 "$QEMU_PID" 2>/dev/null || break
	sleep 0.05
done
kill -0 "$QEMU_PID" 2>/dev/null && fail "qemu still running 10 s after the agent's poweroff"
wait "$QEMU_PID" || true
QEMU_PID=''
echo "boot-smoke: PASS"
