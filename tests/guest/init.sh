#!/bin/busybox sh
# Seed hermetic test guest: /init of the initramfs (PID 1, busybox ash).
#
# Configured entirely by the kernel command line (seed.* keys, see
# tests/guest/README.md). Prints exactly one "SEED-GUEST-READY uptime=<s>"
# line when it is up, or "SEED-GUEST-FATAL <why>" and powers off.
#
# Busybox must be invoked under the name "busybox": /bin/busybox --install -s
# creates the applet links at boot.

BB=/bin/busybox
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root
umask 022
set -f # no globbing of command-line words; re-enabled where globs are wanted

STATE=/run/seed-guest
CR=$(printf '\r')

log() { echo "seed-guest: $*"; }
err() { echo "seed-guest: error: $*"; }

fatal() {
	echo "SEED-GUEST-FATAL $*"
	$BB sync
	$BB poweroff -f
	while :; do $BB sleep 3600; done
}

# ---------------------------------------------------------------- basics

setup_base() {
	$BB mkdir -p /proc /sys /dev /run /tmp /bin /sbin /usr/bin /usr/sbin /etc /root ||
		fatal "cannot create base directories"
	$BB mount -t proc -o nosuid,nodev,noexec proc /proc || fatal "cannot mount /proc"
	$BB --install -s || fatal "busybox --install -s failed"
	mount -t sysfs -o nosuid,nodev,noexec sysfs /sys || fatal "cannot mount /sys"
	if ! grep -q '^[^ ]* /dev devtmpfs ' /proc/mounts; then
		mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev || fatal "cannot mount devtmpfs on /dev"
	fi
	# The kernel could not give us a console if /dev/console was missing.
	[ -t 1 ] || exec </dev/console >/dev/console 2>&1
	mkdir -p /dev/pts /dev/shm
	mount -t devpts -o nosuid,noexec,gid=5,mode=620,ptmxmode=666 devpts /dev/pts ||
		err "cannot mount /dev/pts"
	mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run || fatal "cannot mount /run"
	mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /tmp || fatal "cannot mount /tmp"
	mkdir -p "$STATE" /var/log || fatal "cannot create $STATE"
	ln -sfn /run /var/run 2>/dev/null
	ln -sfn /proc/self/fd /dev/fd 2>/dev/null
	ERRF=$STATE/err
}

parse_cmdline() {
	opt_hostname='' opt_fs='' opt_net='' opt_ip='' opt_gw='' opt_httpd='' opt_tpmcheck='' opt_debug=''
	read -r cmdline </proc/cmdline || fatal "cannot read /proc/cmdline"
	for w in $cmdline; do
		case $w in
		seed.hostname=*) opt_hostname=${w#*=} ;;
		seed.fs=*) opt_fs=${opt_fs:+$opt_fs,}${w#*=} ;;
		seed.net=*) opt_net=${w#*=} ;;
		seed.ip=*) opt_ip=${w#*=} ;;
		seed.gw=*) opt_gw=${w#*=} ;;
		seed.httpd=*) opt_httpd=${opt_httpd:+$opt_httpd,}${w#*=} ;;
		seed.tpmcheck=*) opt_tpmcheck=${w#*=} ;;
		seed.debug=*) opt_debug=${w#*=} ;;
		esac
	done
}

load_modules() {
	[ -r /lib/modules/load-order ] || return 0
	while read -r m; do
		[ -n "$m" ] || continue
		[ -d "/sys/module/$m" ] && continue
		insmod "/lib/modules/$m.ko" 2>"$ERRF" || err "insmod $m failed: $(cat "$ERRF")"
	done </lib/modules/load-order
}

set_hostname() {
	[ -n "$1" ] || return 0
	hostname "$1" 2>"$ERRF" || { err "cannot set hostname '$1': $(cat "$ERRF")"; return 0; }
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t%s\n' "$1" >/etc/hosts
}

# ---------------------------------------------------------------- shares

# seed.fs=TAG:MOUNTPOINT[:ro],TAG2:MP2,...
mount_shares() {
	[ -n "$opt_fs" ] || return 0
	for spec in $(echo "$opt_fs" | tr ',' ' '); do
		[ -n "$spec" ] || continue
		tag=${spec%%:*}
		rest=${spec#*:}
		mp=${rest%%:*}
		flags=
		[ "$mp" != "$rest" ] && flags=${rest#*:}
		if [ "$tag" = "$spec" ] || [ -z "$tag" ] || [ -z "$mp" ]; then
			err "seed.fs: '$spec' is not TAG:MOUNTPOINT[:ro]"
			continue
		fi
		case $mp in /*) ;; *)
			err "seed.fs: mount point '$mp' of share '$tag' is not absolute"
			continue ;;
		esac
		case $flags in
		"" | rw) mopts=rw ;;
		ro) mopts=ro ;;
		*) err "seed.fs: unknown flag '$flags' for share '$tag' (want ro)"; continue ;;
		esac
		if ! mkdir -p "$mp" 2>"$ERRF"; then
			err "cannot create mount point $mp for share '$tag': $(cat "$ERRF")"
			continue
		fi
		if ! mount -t virtiofs -o "$mopts" "$tag" "$mp" 2>"$ERRF"; then
			err "cannot mount virtio-fs share '$tag' on $mp: $(cat "$ERRF")"
			continue
		fi
	done
}

# ---------------------------------------------------------------- network

# Network interfaces backed by a device (skips lo, sit0, ...), in name order.
phys_ifaces() {
	set +f
	for d in /sys/class/net/*; do
		[ -e "$d/device" ] && echo "${d##*/}"
	done
	set -f
}

nth_iface() {
	phys_ifaces | sed -n "$(($1 + 1))p"
}

iface_by_mac() {
	want=$(echo "$1" | tr 'A-F' 'a-f')
	tries=0
	while :; do
		set +f
		for d in /sys/class/net/*; do
			[ -r "$d/address" ] || continue
			read -r a <"$d/address" || continue
			if [ "$a" = "$want" ]; then
				set -f
				echo "${d##*/}"
				return 0
			fi
		done
		set -f
		tries=$((tries + 1))
		[ $tries -ge 10 ] && return 1
		sleep 0.1
	done
}

iface_up() {
	if [ -d "/proc/sys/net/ipv6/conf/$1" ]; then
		# No duplicate address detection: addresses are usable at once.
		echo 0 2>/dev/null >"/proc/sys/net/ipv6/conf/$1/accept_dad"
	fi
	ip link set dev "$1" up 2>"$ERRF" || { err "cannot bring up $1: $(cat "$ERRF")"; return 1; }
}

add_addr() { # IFACE ADDR/PREFIX
	case $2 in
	*:*) ip -6 addr add "$2" dev "$1" 2>"$ERRF" ;;
	*) ip addr add "$2" dev "$1" 2>"$ERRF" ;;
	esac || err "cannot add address $2 to $1: $(cat "$ERRF")"
}

add_default_route() { # IFACE GATEWAY
	fam=-4
	case $2 in *:*) fam=-6 ;; esac
	ip $fam route add default via "$2" dev "$1" 2>/dev/null && return 0
	# Gateway outside the prefix: add a host route to it first.
	ip $fam route add "$2" dev "$1" 2>/dev/null
	ip $fam route add default via "$2" dev "$1" 2>"$ERRF" ||
		err "cannot add default route via $2 on $1: $(cat "$ERRF")"
}

# Query the flattened JSON (see netjson.awk).
jget() {
	awk -v k="$1=" 'index($0, k) == 1 { print substr($0, length(k) + 1); exit }' "$FLAT"
}
jlist() {
	awk -v p="$1." 'index($0, p) == 1 {
		r = substr($0, length(p) + 1); i = index(r, "=")
		if (substr(r, 1, i - 1) ~ /^[0-9]+$/) print substr(r, i + 1)
	}' "$FLAT"
}

apply_network_json() {
	file=$1
	if [ ! -r "$file" ]; then
		err "seed.net: cannot read $file"
		return 0
	fi
	FLAT=$STATE/network.flat
	if ! awk -f /lib/seed-guest/netjson.awk "$file" >"$FLAT" 2>"$ERRF"; then
		err "seed.net: $file: $(cat "$ERRF")"
		return 0
	fi
	i=0
	while grep -q "^interfaces\.$i\." "$FLAT"; do
		mac=$(jget "interfaces.$i.mac")
		if [ -n "$mac" ]; then
			ifc=$(iface_by_mac "$mac") || ifc=
			[ -n "$ifc" ] || err "seed.net: no network interface has MAC $mac"
		else
			ifc=$(nth_iface "$i")
			[ -n "$ifc" ] || err "seed.net: interfaces[$i] has no mac and there is no interface number $i"
		fi
		if [ -n "$ifc" ]; then
			mtu=$(jget "interfaces.$i.mtu")
			[ -n "$mtu" ] && { ip link set dev "$ifc" mtu "$mtu" 2>"$ERRF" ||
				err "cannot set mtu $mtu on $ifc: $(cat "$ERRF")"; }
			if iface_up "$ifc"; then
				for a in $(jlist "interfaces.$i.addresses"); do add_addr "$ifc" "$a"; done
				gw=$(jget "interfaces.$i.gateway")
				[ -n "$gw" ] && add_default_route "$ifc" "$gw"
				gw=$(jget "interfaces.$i.gateway6")
				[ -n "$gw" ] && add_default_route "$ifc" "$gw"
			fi
		fi
		i=$((i + 1))
	done
	dns=$(jlist dns)
	if [ -n "$dns" ]; then
		: >/etc/resolv.conf
		for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
	fi
	if [ -z "$opt_hostname" ]; then
		h=$(jget hostname)
		[ -n "$h" ] && set_hostname "$h"
	fi
}

setup_network() {
	ip link set dev lo up 2>"$ERRF" || err "cannot bring up lo: $(cat "$ERRF")"
	[ -n "$opt_net" ] && apply_network_json "$opt_net"
	if [ -n "$opt_ip" ] || [ -n "$opt_gw" ]; then
		ifc=$(nth_iface 0)
		if [ -z "$ifc" ]; then
			err "seed.ip/seed.gw given but there is no network interface"
			return 0
		fi
		iface_up "$ifc" || return 0
		[ -n "$opt_ip" ] && add_addr "$ifc" "$opt_ip"
		[ -n "$opt_gw" ] && add_default_route "$ifc" "$opt_gw"
	fi
}

# ---------------------------------------------------------------- services

# seed.httpd=PORT:DIR[,PORT2:DIR2...]
start_httpd() {
	[ -n "$opt_httpd" ] || return 0
	ports=''
	for spec in $(echo "$opt_httpd" | tr ',' ' '); do
		[ -n "$spec" ] || continue
		port=${spec%%:*}
		dir=${spec#*:}
		case $port in "" | *[!0-9]*)
			err "seed.httpd: '$spec' is not PORT:DIR"
			continue ;;
		esac
		if [ "$dir" = "$spec" ] || [ -z "$dir" ]; then
			err "seed.httpd: '$spec' is not PORT:DIR"
			continue
		fi
		if [ ! -d "$dir" ]; then
			if ! { mkdir -p "$dir" && hostname >"$dir/index.html"; } 2>"$ERRF"; then
				err "seed.httpd: cannot create $dir: $(cat "$ERRF")"
				continue
			fi
		fi
		busybox httpd -f -p "$port" -h "$dir" </dev/null >/dev/null &
		ports="$ports $port"
	done
	# Ready means serving: wait (up to ~2 s) until every port listens.
	tries=0
	for port in $ports; do
		until netstat -ltn 2>/dev/null | grep -q ":$port "; do
			tries=$((tries + 1))
			if [ $tries -gt 40 ]; then
				err "seed.httpd: nothing listens on port $port"
				break
			fi
			sleep 0.05
		done
	done
}

start_acpid() {
	busybox --list | grep -qx acpid || { log "no acpid applet: power button ignored"; return 0; }
	if [ ! -e /dev/input/event0 ]; then
		log "no input event device: power button ignored (use the agent's poweroff)"
		return 0
	fi
	acpid -c /etc/acpi -a /etc/acpid.conf -M /etc/acpi.map -l /run/acpid.log -p /run/acpid.pid ||
		err "acpid failed to start"
}

# ---------------------------------------------------------------- agent

# One request per line on stdin, one response block (ending in ".") on stdout.
# Command output goes through the file $AGENT_OUT.
agent_serve() {
	stty raw -echo 2>/dev/null
	while IFS= read -r line; do
		line=${line%"$CR"}
		case $line in
		"") continue ;;
		ping) echo pong ;;
		uptime)
			read -r up _ </proc/uptime
			echo "$up"
			;;
		sh | "sh "*)
			cmd=${line#sh}
			cmd=${cmd# }
			sh -c "$cmd" </dev/null >"$AGENT_OUT" 2>&1 9>&-
			rc=$?
			awk '{ print "| " $0 }' "$AGENT_OUT"
			echo "rc $rc"
			;;
		"rng "* | "clock "*)
			# A shoot clone's first requests after its restore (seed-clone-init.c).
			if seed-clone-init ${line%% *} "${line#* }" </dev/null >"$AGENT_OUT" 2>&1 9>&-; then
				echo ok
			else
				echo "err $(cat "$AGENT_OUT")"
			fi
			;;
		exec | "exec window="[0-9]*)
			# Frames from here on (tests/guest/README.md, "Exec frames"): the helper reads the
			# argv frame from the port, and its exit frame ends the response (no "."). Then
			# the next request line, or EOF once the host has hung up. `window=N` (on hvc0,
			# a console port that drops what the host cannot take at once) bounds what is
			# in flight; the helper then also waits for the host's end frame.
			seed-agent-exec ${line#exec} 9>&- 8>&- 2>/dev/console
			continue
			;;
		poweroff)
			echo bye
			echo .
			sync
			sleep 0.1
			poweroff -f
			sleep 3600
			;;
		*) echo "err unknown command" ;;
		esac
		echo .
	done
}

agent_loop() { # DEVICE PAUSE
	cd /
	while :; do
		if [ -e "$1" ]; then
			# One read-write descriptor: a virtio-serial port admits one opener.
			AGENT_OUT=$STATE/agent-${1##*/}.out agent_serve 0<>"$1" 1>&0
		fi
		# EOF: for a named port, the host side is not connected.
		sleep "$2"
	done
}

have_virtio_console() {
	set +f
	for d in /sys/bus/virtio/devices/*; do
		[ -r "$d/device" ] || continue
		read -r id <"$d/device" || continue
		if [ "$id" = 0x0003 ]; then
			set -f
			return 0
		fi
	done
	set -f
	return 1
}

# virtio-serial ports named org.seed.agent (QEMU virtserialport), as /dev paths.
named_agent_ports() {
	set +f
	for d in /sys/class/virtio-ports/*; do
		[ -r "$d/name" ] || continue
		read -r n <"$d/name" || continue
		[ "$n" = org.seed.agent ] && echo "/dev/${d##*/}"
	done
	set -f
}

# The ports named org.seed.exec.N: one per concurrent `ssh <node> exec`, each served by its own
# agent loop, so a long exec never holds hvc0's health checks. Called after the console relay
# waited for seed.console: the host announces all its ports at once, so they are here by then.
start_exec_agents() {
	have_virtio_console || return 0
	set +f
	n=0
	for d in /sys/class/virtio-ports/*; do
		[ -r "$d/name" ] || continue
		read -r name <"$d/name" || continue
		case $name in
		org.seed.exec.[0-9]*)
			# 0.2 s: while no host is connected a read ends at once; this is how long an exec
			# waits at most for its port's agent to open it again.
			agent_loop "/dev/${d##*/}" 0.2 8>&- 9>&- 2>/dev/console &
			n=$((n + 1))
			;;
		esac
	done
	set -f
	[ $n -gt 0 ] || log "no org.seed.exec ports: no exec"
}

start_agent() {
	have_virtio_console || return 0
	# Ports are announced by the host shortly after the driver loads.
	tries=0
	while [ ! -e /dev/hvc0 ] && [ -z "$(named_agent_ports)" ]; do
		tries=$((tries + 1))
		if [ $tries -gt 50 ]; then
			err "virtio console present but neither /dev/hvc0 nor an org.seed.agent port appeared: no agent"
			return 0
		fi
		sleep 0.1
	done
	for port in $(named_agent_ports); do
		agent_loop "$port" 0.5 9>&- 2>/dev/console &
	done
	[ -e /dev/hvc0 ] || return 0
	# Keep hvc0 open in PID 1 so its raw mode persists across agent restarts
	# (the hvc driver resets termios on last close).
	exec 9<>/dev/hvc0
	stty raw -echo <&9 2>"$ERRF" || err "stty raw -echo on /dev/hvc0 failed: $(cat "$ERRF")"
	agent_loop /dev/hvc0 1 9>&- 2>/dev/console &
}

# ---------------------------------------------------------------- log channel

# The virtio-serial port named seed.log (docs/guest-contract.md): journal entries, one JSON
# object per line. This guest has no journald; it writes its own boot messages and those of a
# fake "nginx" unit, plus one line that is not JSON (seedd keeps such lines as raw text).
LOGFD_OPEN=0

named_port() { # NAME
	set +f
	for d in /sys/class/virtio-ports/*; do
		[ -r "$d/name" ] || continue
		read -r n <"$d/name" || continue
		[ "$n" = "$1" ] && echo "/dev/${d##*/}"
	done
	set -f
}

journal() { # UNIT PRIORITY MESSAGE (no quotes or backslashes in MESSAGE)
	[ "$LOGFD_OPEN" = 1 ] || return 0
	printf '{"unit":"%s","priority":%s,"timestamp":%s000000,"message":"%s","boot_id":"%s"}\n' \
		"$1" "$2" "$(date +%s)" "$3" "$BOOT_ID" >&8
}

start_log_channel() {
	have_virtio_console || return 0
	tries=0
	port=$(named_port seed.log)
	while [ -z "$port" ]; do
		tries=$((tries + 1))
		if [ $tries -gt 30 ]; then
			log "no seed.log port: journal entries go nowhere"
			return 0
		fi
		sleep 0.1
		port=$(named_port seed.log)
	done
	exec 8>"$port" || { err "cannot open the log channel $port"; return 0; }
	LOGFD_OPEN=1
	read -r BOOT_ID </proc/sys/kernel/random/boot_id
	journal seed-guest.service 6 "log channel open on $port"
}

start_fake_nginx() {
	[ "$LOGFD_OPEN" = 1 ] || return 0
	journal nginx.service 6 "nginx: starting worker processes"
	journal nginx.service 4 "nginx: using the fake configuration of the test guest"
	echo "this line is not json" >&8
	journal app.service 6 "app: ready"
}

# ---------------------------------------------------------------- console channel

# The virtio-serial port named seed.console (docs/guest-contract.md): seed-console-relay gives
# each of seedd's console sessions a fresh login shell on a pty.
start_console_relay() {
	have_virtio_console || return 0
	tries=0
	port=$(named_port seed.console)
	while [ -z "$port" ]; do
		tries=$((tries + 1))
		if [ $tries -gt 30 ]; then
			log "no seed.console port: no interactive console"
			return 0
		fi
		sleep 0.1
		port=$(named_port seed.console)
	done
	(cd /root && exec seed-console-relay "$port" /bin/sh -l) </dev/null >/dev/console 2>&1 8>&- 9>&- &
}

# ---------------------------------------------------------------- main

setup_base
parse_cmdline
[ "$opt_debug" = 1 ] && set -x
load_modules
set_hostname "${opt_hostname:-seed-guest}"
mount_shares
setup_network
start_httpd
start_acpid
start_agent
start_log_channel
start_console_relay
start_exec_agents
start_fake_nginx
if [ "$opt_tpmcheck" = 1 ]; then
	if [ -e /dev/tpm0 ]; then echo "SEED-GUEST-TPM present"; else echo "SEED-GUEST-TPM absent"; fi
fi
read -r up _ </proc/uptime
echo "SEED-GUEST-READY uptime=$up"
journal seed-guest.service 6 "ready after $up s"
set +x
while :; do sleep 3600; done
