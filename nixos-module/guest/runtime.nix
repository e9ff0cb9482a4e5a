# What a running instance gets from the node at boot, read from the `seed` share
# (/run/seed/host, docs/guest-contract.md): the environment file, the network, the agent on the
# virtio console, and the seed-shoot command.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkIf;
  cfg = config.seed;
  host = "/run/seed/host";

  # Early units: before sysinit.target, so every ordinary service (EnvironmentFile=/run/seed/env)
  # starts after them.
  early = {
    wantedBy = [ "sysinit.target" ];
    before = [ "sysinit.target" "network-pre.target" ];
    wants = [ "network-pre.target" ];
    unitConfig = {
      DefaultDependencies = false;
      RequiresMountsFor = host;
    };
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
    };
  };

  # network.json: { interfaces: [ { mac, addresses, gateway, gateway6, mtu } ], dns: [ ... ], search: [ ... ] }.
  seedNetwork = pkgs.writeShellApplication {
    name = "seed-network";
    runtimeInputs = [ pkgs.jq pkgs.iproute2 pkgs.coreutils ];
    text = ''
      net=${host}/network.json
      [ -s "$net" ] || { echo "seed-network: no $net; leaving the network unconfigured" >&2; exit 0; }
      ip link set lo up
      count=$(jq '.interfaces | length' "$net")
      for ((i = 0; i < count; i++)); do
        mac=$(jq -r ".interfaces[$i].mac // empty" "$net" | tr 'A-F' 'a-f')
        dev=""
        for d in /sys/class/net/*; do
          [ -e "$d/device" ] || continue
          if [ -z "$mac" ] || [ "$(cat "$d/address")" = "$mac" ]; then dev=''${d##*/}; break; fi
        done
        [ -n "$dev" ] || { echo "seed-network: no interface with MAC $mac" >&2; exit 1; }
        mtu=$(jq -r ".interfaces[$i].mtu // empty" "$net")
        [ -z "$mtu" ] || ip link set "$dev" mtu "$mtu"
        # Addresses are unique on the node's bridge: skip duplicate address detection.
        echo 0 > "/proc/sys/net/ipv6/conf/$dev/accept_dad" || true
        ip link set "$dev" up
        jq -r ".interfaces[$i].addresses[]?" "$net" | while read -r a; do ip addr replace "$a" dev "$dev"; done
        gw=$(jq -r ".interfaces[$i].gateway // empty" "$net")
        [ -z "$gw" ] || ip route replace default via "$gw" dev "$dev" onlink
        gw6=$(jq -r ".interfaces[$i].gateway6 // empty" "$net")
        [ -z "$gw6" ] || ip -6 route replace default via "$gw6" dev "$dev" onlink
      done
      # dns: resolvers; search: the namespace's domain, so "api" names the instance api of
      # the same flake (seed.connect).
      if jq -e '(.dns // []) | length > 0' "$net" >/dev/null; then
        {
          jq -r '.dns[] | "nameserver " + .' "$net"
          jq -r 'if (.search // []) | length > 0 then "search " + (.search | join(" ")) else empty end' "$net"
        } > /etc/resolv.conf
      fi
    '';
  };

  # The agent on the virtio console (hvc0): the line protocol of tests/guest/README.md (ping,
  # uptime, sh CMD, poweroff; every answer ends with a "." line), which seedd uses for health
  # commands and shutdown.
  seedAgent = pkgs.writeShellApplication {
    name = "seed-agent";
    runtimeInputs = [ pkgs.coreutils pkgs.gnused pkgs.bash pkgs.systemd ];
    text = ''
      port=''${1:-/dev/hvc0}
      stty -F "$port" raw -echo
      exec 3<>"$port"
      while IFS= read -r line <&3; do
        line=''${line%$'\r'}
        case "$line" in
          "") continue ;;
          ping) printf 'pong\n.\n' >&3 ;;
          uptime) read -r up _ </proc/uptime; printf '%s\n.\n' "$up" >&3 ;;
          "sh "*)
            rc=0
            out=$(cd / && bash -c "''${line#sh }" </dev/null 2>&1) || rc=$?
            [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/| /' >&3
            printf 'rc %d\n.\n' "$rc" >&3 ;;
          poweroff) printf 'bye\n.\n' >&3; systemctl poweroff ;;
          *) printf 'err unknown command\n.\n' >&3 ;;
        esac
      done
    '';
  };

  # Forwards the journal to the node's log channel (the virtio-serial port seed.log,
  # docs/guest-contract.md): one JSON object per entry with the fields `logs` shows. journald's
  # own ForwardToConsole= writes formatted text to a tty, which loses the unit, the priority and
  # the exact time; `journalctl -o json` keeps them, and jq cuts each entry down to the five
  # fields (a full journal entry carries dozens). The cursor file makes a restarted forwarder
  # continue where it stopped instead of sending the boot's entries again.
  seedLogForward = pkgs.writeShellApplication {
    name = "seed-log-forward";
    runtimeInputs = [ pkgs.systemd pkgs.jq pkgs.coreutils ];
    text = ''
      port=''${1:-/dev/virtio-ports/seed.log}
      # udev names the port shortly after boot; a hypervisor without the channel has none.
      for _ in $(seq 50); do [ -e "$port" ] && break; sleep 0.2; done
      [ -e "$port" ] || { echo "seed-log-forward: no $port; the journal stays in the guest" >&2; exit 0; }
      exec 3>"$port"
      journalctl --boot --follow --lines=all --output=json --cursor-file=/run/seed/log-forward.cursor |
        jq -c --unbuffered '{
          unit: (._SYSTEMD_UNIT // .SYSLOG_IDENTIFIER // ""),
          priority: ((.PRIORITY // "6") | tonumber),
          timestamp: (.__REALTIME_TIMESTAMP | tonumber),
          message: (.MESSAGE | if type == "array" then implode elif type == "string" then . else tostring end),
          boot_id: (._BOOT_ID // "")
        }' >&3
    '';
  };

  # The guest end of `ssh -t <node> console` (docs/guest-contract.md, "The console channel"):
  # a small C program (the same source the hermetic test guest is built with) that gives each
  # of seedd's console sessions on the seed.console port a fresh login shell on a pty, passes
  # window sizes on and ends the shell when the session ends. Not built or run on the
  # development machines (no nixpkgs there); the test guest runs the same source.
  seedConsoleRelay = pkgs.runCommandCC "seed-console-relay" { src = ./seed-console-relay.c; } ''
    mkdir -p $out/bin
    $CC -O2 -Wall -Wextra -Werror -o $out/bin/seed-console-relay $src
  '';

  # The guest end of `ssh <node> exec` (docs/guest-contract.md, "The exec channels"): the same
  # C source the hermetic test guest runs (length-prefixed binary frames are beyond a shell).
  # Not built or run on the development machines (no nixpkgs there).
  seedAgentExec = pkgs.runCommandCC "seed-agent-exec" { src = ./seed-agent-exec.c; } ''
    mkdir -p $out/bin
    $CC -O2 -Wall -Wextra -Werror -o $out/bin/seed-agent-exec $src
  '';

  # Serves each org.seed.exec.N port: the agent's line protocol (ping, so seedd knows the guest
  # answers) and `exec`, which hands the port to seed-agent-exec for one command. bash reads a
  # character device a byte at a time, so the frames after the `exec` line stay for the helper.
  # When seedd hangs up the read ends; the port is opened again for the next session.
  seedExecAgent = pkgs.writeShellApplication {
    name = "seed-exec-agent";
    runtimeInputs = [ pkgs.coreutils seedAgentExec ];
    text = ''
      serve() { # PORT
        while :; do
          exec 3<>"$1"
          while IFS= read -r line <&3; do
            case "''${line%$'\r'}" in
              "") ;;
              ping) printf 'pong\n.\n' >&3 ;;
              exec) (cd / && seed-agent-exec <&3 >&3 3>&-) || true ;;
              *) printf 'err unknown command\n.\n' >&3 ;;
            esac
          done
          exec 3<&-
          sleep 0.2
        done
      }
      for port in /dev/virtio-ports/org.seed.exec.*; do
        [ -e "$port" ] && serve "$port" &
      done
      wait
    '';
  };

  # seed-shoot [--timeout MS] CMD ARGS...: runs CMD in an ephemeral VM through the node's
  # shoot endpoint, printing its output as it comes (seed-shoot.sh, tested by src/api/shoot's
  # ShootScriptTest with real curl and jq).
  seedShoot = pkgs.writeShellApplication {
    name = "seed-shoot";
    runtimeInputs = [ pkgs.curl pkgs.jq pkgs.coreutils pkgs.gnused ];
    text = builtins.readFile ./seed-shoot.sh;
  };
in
{
  systemd.services.seed-env = early // {
    description = "Seed: install /run/seed/env from the node";
    script = ''
      install -d -m 0755 /run/seed
      if [ -r ${host}/env ]; then install -m 0644 ${host}/env /run/seed/env.tmp; else : > /run/seed/env.tmp; fi
      mv /run/seed/env.tmp /run/seed/env
    '';
  };

  systemd.services.seed-network = early // {
    description = "Seed: configure the network from network.json";
    serviceConfig = early.serviceConfig // { ExecStart = "${seedNetwork}/bin/seed-network"; };
  };
  networking.resolvconf.enable = false;

  systemd.services.seed-agent = {
    description = "Seed: agent on the virtio console";
    wantedBy = [ "multi-user.target" ];
    unitConfig.ConditionPathExists = "/dev/hvc0";
    serviceConfig = {
      ExecStart = "${seedAgent}/bin/seed-agent /dev/hvc0";
      Restart = "always";
      RestartSec = "1s";
    };
  };

  systemd.services.seed-log-forward = {
    description = "Seed: forward the journal to the node's log channel";
    # Early enough that the boot's entries flow while it boots; --boot --lines=all sends what
    # came before the forwarder started too.
    wantedBy = [ "multi-user.target" ];
    after = [ "systemd-journald.service" "seed-env.service" "systemd-udev-settle.service" ];
    serviceConfig = {
      ExecStart = "${seedLogForward}/bin/seed-log-forward /dev/virtio-ports/seed.log";
      Restart = "on-failure";
      RestartSec = "1s";
    };
  };

  systemd.services.seed-console = {
    description = "Seed: interactive console sessions (ssh -t <node> console)";
    wantedBy = [ "multi-user.target" ];
    after = [ "systemd-udev-settle.service" "seed-env.service" ];
    # A hypervisor without the channel (Cloud Hypervisor) has no such port: nothing to run.
    unitConfig.ConditionPathExists = "/dev/virtio-ports/seed.console";
    serviceConfig = {
      # `login -f root` gives the session what a console login gets (PAM session, utmp, the
      # root account's shell and environment) without asking for a password: seedd has
      # already checked the caller's key against the repository's .authorized_keys.
      ExecStart = "${seedConsoleRelay}/bin/seed-console-relay /dev/virtio-ports/seed.console ${pkgs.shadow}/bin/login -f root";
      Restart = "always";
      RestartSec = "1s";
      # The shells are the relay's children: stopping the unit ends them, nothing else.
      KillMode = "control-group";
    };
  };

  systemd.services.seed-exec = {
    description = "Seed: commands run by ssh <node> exec";
    wantedBy = [ "multi-user.target" ];
    after = [ "systemd-udev-settle.service" "seed-env.service" ];
    # A hypervisor without exec ports (Cloud Hypervisor) has none: nothing to run.
    unitConfig.ConditionPathExistsGlob = "/dev/virtio-ports/org.seed.exec.*";
    # The tenant's commands find what the system has installed, as in a login shell.
    path = [ "/run/wrappers" "/run/current-system/sw" ];
    serviceConfig = {
      ExecStart = "${seedExecAgent}/bin/seed-exec-agent";
      Restart = "always";
      RestartSec = "1s";
      # The commands are the agent's children: stopping the unit ends them too.
      KillMode = "control-group";
    };
  };

  environment.systemPackages = mkIf cfg.shoot.enable [ seedShoot ];
}
