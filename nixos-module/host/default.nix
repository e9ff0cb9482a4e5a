# nixosModules.default: runs seedd on a NixOS host (`services.seed`). The typed options below
# fill `services.seed.settings`, which is rendered to seedd's JSON config (RFC 42: anything
# seedd reads can be set in `settings` directly). docs/host-config.md lists every key and
# which ones today's seedd reads.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption mkEnableOption mkIf mkDefault types literalExpression;
  cfg = config.services.seed;
  json = pkgs.formats.json { };
  configFile = json.generate "seedd.json" cfg.settings;
  evalUser = "seed-eval";
  # A flake registry entry pinning `id` to a flake already in the store (its narHash too, so
  # nix verifies rather than re-hashes it).
  registryEntry = id: flake: {
    from = { type = "indirect"; inherit id; };
    to = { type = "path"; path = flake.outPath; }
      // lib.filterAttrs (n: _: n == "lastModified" || n == "narHash") flake;
  };
  # seedd's own registry (eval.flake_registry): the node's Seed as `seed`, its nixpkgs as
  # `nixpkgs`, and nothing that needs the network (nix's global registry is a download).
  registryFile = json.generate "seed-flake-registry.json" {
    version = 2;
    flakes = [ (registryEntry "seed" cfg.flake) ]
      ++ lib.optional (cfg.flake ? inputs.nixpkgs) (registryEntry "nixpkgs" cfg.flake.inputs.nixpkgs);
  };
in
{
  options.services.seed = {
    enable = mkEnableOption "Seed, NixOS instances in microVMs on this host";

    package = mkOption {
      type = types.package;
      description = "The seedd package (the flake's packages.<system>.seedd by default).";
    };

    flake = mkOption {
      type = types.nullOr types.raw;
      default = null;
      defaultText = literalExpression "the Seed flake this module comes from (nixosModules.default sets it)";
      description = ''
        The Seed flake, registered as `seed` for tenant flakes: the templates say
        `inputs.seed.url = "flake:seed"`, so a flake planted here evaluates against this
        node's own guest module and nixpkgs, offline, with no URL written into it.
      '';
    };

    domain = mkOption {
      type = types.str;
      example = "seed.example.org";
      description = "DNS zone delegated to this host; instances are <instance>.<namespace>.<domain>.";
    };

    publicAddresses = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "203.0.113.7" "2001:db8::7" ];
      description = "Addresses the zone's records point at (ingress, SSH CLI, DNS).";
    };

    hypervisor = mkOption {
      type = types.enum [ "cloud-hypervisor" "qemu" ];
      default = "cloud-hypervisor";
      description = "VMM for instances. qemu also runs without KVM (TCG), slowly.";
    };

    storage = {
      backend = mkOption {
        type = types.enum [ "lvm" "file" ];
        default = "file";
        description = "`lvm`: one logical volume per seed.storage entry in `volumeGroup`; `file`: sparse image files under `directory`.";
      };
      volumeGroup = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "vg0";
        description = "LVM volume group for instance volumes (backend = lvm).";
      };
      directory = mkOption {
        type = types.str;
        default = "/var/lib/seed/volumes";
        description = "Where the file backend keeps volume images.";
      };
    };

    network = {
      bridge = mkOption { type = types.str; default = "seed0"; description = "Bridge every instance's tap joins."; };
      subnet = mkOption { type = types.str; default = "10.100.0.0/16"; description = "IPv4 subnet for instances; the host takes the first address."; };
      ipv6Prefix = mkOption { type = types.nullOr types.str; default = null; example = "2001:db8:1::/64"; description = "IPv6 prefix routed to this host for instances, if any."; };
      egress = {
        internet = mkOption {
          type = types.bool;
          default = true;
          description = "Whether instances may open connections to public (internet) addresses. Private (RFC 1918), CGNAT, link-local and unique-local destinations and the node's own ranges stay closed either way unless `allow` opens them.";
        };
        allow = mkOption {
          type = types.listOf types.str;
          default = [ ];
          example = [ "192.168.1.20 tcp/443" "192.168.1.0/24 udp/53" "fd00:1::/64" ];
          description = "Destinations instances may reach although they are closed by default (your LAN, say): `ADDRESS[/LENGTH]`, optionally followed by `tcp/PORT` or `udp/PORT`.";
        };
      };
    };

    ssh.port = mkOption {
      type = types.port;
      default = 22;
      description = "Port of the tenant SSH CLI and Silo git hosting (`ssh <node> status`). Move the host's own sshd elsewhere when this is 22.";
    };

    api.port = mkOption {
      type = types.port;
      default = 9876;
      description = "Port of seedd's guest HTTP listener on the bridge address (the ACME facade instances find in SEED_ACME_URL); reachable by instances only.";
    };
    api.adminPort = mkOption {
      type = types.nullOr types.port;
      default = 9877;
      description = "Port of seedd's admin HTTP listener on 127.0.0.1 (/healthz, /metrics, the status page, the JSON API); null turns it off.";
    };
    api.publicPort = mkOption {
      type = types.nullOr types.port;
      default = 9878;
      description = "Port of seedd's public HTTP listener on 127.0.0.1, which the ingress forwards silo.<domain> and hooks.<domain> to (webhooks: `ssh <node> webhook <repo>` prints hooks.<domain>'s URL); null turns webhooks off.";
    };

    acme = {
      upstream = mkOption {
        type = types.enum [ "internal" "acme" ];
        default = "internal";
        description = "Where instances' certificates come from: \"internal\" signs them with a CA of this node (export its root with `seedctl ca` and trust it on your devices; for LAN-only and offline nodes), \"acme\" obtains them from the upstream ACME CA at `directory`.";
      };
      directory = mkOption {
        type = types.str;
        default = "https://acme-v02.api.letsencrypt.org/directory";
        description = "Upstream ACME directory (https) used when upstream = \"acme\" (Let's Encrypt by default; its staging URL for tests).";
      };
      email = mkOption { type = types.nullOr types.str; default = null; example = "admin@example.org"; description = "Contact e-mail of the upstream ACME account."; };
      caFile = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "/etc/seed/test-ca.pem";
        description = "PEM file of the CA(s) to trust for the upstream ACME directory's TLS instead of the system's (a private or test CA); null uses the system store.";
      };
      leafDays = mkOption {
        type = types.ints.between 1 397;
        default = 7;
        description = "Lifetime in days of the certificates the internal CA signs (upstream = \"internal\").";
      };
    };

    shoot = {
      enable = mkEnableOption "shoots: instances with seed.shoot.enable run commands in ephemeral microVMs restored from a snapshot (`seed-shoot`, docs/shoots.md)";
      image = mkOption {
        type = types.nullOr types.package;
        default = null;
        defaultText = literalExpression "seed.packages.\${system}.shoot-image (set by seed's nixosModules.default)";
        description = "The shoot image every shoot template boots: a directory with kernel and initrd, and a kernelParams attribute (the flake's packages.shoot-image, nix/shoot-image.nix).";
      };
      tiers = mkOption {
        type = types.nullOr (types.listOf (types.submodule {
          options = {
            name = mkOption { type = types.strMatching "[a-z0-9]{1,16}"; description = "Tier name (a shoot request's `size`)."; };
            vcpus = mkOption { type = types.ints.between 1 64; default = 1; description = "vCPUs of each clone."; };
            memoryMiB = mkOption { type = types.ints.between 64 65536; default = 256; description = "Memory of each clone in MiB."; };
            pool = mkOption { type = types.ints.unsigned; default = 1; description = "Clones kept restored and waiting, so a shoot's restore is off its request path."; };
          };
        }));
        default = null;
        example = literalExpression ''[ { name = "small"; } { name = "large"; vcpus = 4; memoryMiB = 4096; pool = 0; } ]'';
        description = "Size tiers, smallest first (a shoot gets the smallest that its request and its parent allow); null keeps seedd's default: one `small` tier of 1 vCPU and 256 MiB with 1 clone ready.";
      };
      maxVms = mkOption { type = types.nullOr types.ints.positive; default = null; description = "Shoot VMs on the node, ready and running alike (null: seedd's default, 8)."; };
      maxMemoryMiB = mkOption { type = types.nullOr types.ints.positive; default = null; description = "Their guest memory in MiB (null: 2048)."; };
      perInstance = mkOption { type = types.nullOr types.ints.positive; default = null; description = "Shoots one instance runs at once (null: 4)."; };
      node = mkOption { type = types.nullOr types.ints.positive; default = null; description = "Shoots the node runs at once (null: 8)."; };
      queue = mkOption { type = types.nullOr types.ints.unsigned; default = null; description = "Requests waiting beyond those caps, first come first served; past it a 429 (null: 32)."; };
      maxWaitMs = mkOption { type = types.nullOr types.ints.unsigned; default = null; description = "How long a request waits in that queue before its 429 (null: 10000)."; };
      maxTimeoutMs = mkOption { type = types.nullOr types.ints.positive; default = null; description = "The longest `timeout` a shoot may ask for (null: 300000)."; };
      outputCapBytes = mkOption { type = types.nullOr types.ints.positive; default = null; description = "Output kept per stream and shoot (null: 4 MiB)."; };
      maxStdinBytes = mkOption { type = types.nullOr types.ints.unsigned; default = null; description = "Largest `stdin` of a request (null: 1 MiB)."; };
    };

    openFirewall = mkOption {
      type = types.bool;
      default = true;
      description = "Open the SSH CLI port, DNS (53 TCP/UDP) and HTTP/HTTPS ingress (80, 443).";
    };

    settings = mkOption {
      type = types.submodule { freeformType = json.type; };
      default = { };
      example = literalExpression ''{ log_level = "debug"; vmm.stop_timeout_s = 30; }'';
      description = "seedd's JSON configuration (docs/host-config.md). The options above set their keys with normal priority; anything else goes here.";
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      { assertion = cfg.storage.backend != "lvm" || cfg.storage.volumeGroup != null;
        message = "services.seed.storage.volumeGroup must be set when services.seed.storage.backend is \"lvm\" (or use backend = \"file\")"; }
      { assertion = !cfg.shoot.enable || (cfg.shoot.image != null && cfg.shoot.image ? kernelParams);
        message = "services.seed.shoot.image must be set to a shoot image with a kernelParams attribute when services.seed.shoot.enable is true (seed's nixosModules.default sets it to packages.shoot-image)"; }
      { assertion = !(config.services.openssh.enable && lib.elem cfg.ssh.port config.services.openssh.ports);
        message = "services.seed.ssh.port ${toString cfg.ssh.port} is also a port of services.openssh; move one of them (e.g. services.openssh.ports = [ 2222 ])"; }
    ];

    services.seed.settings = {
      # Read by seedd today (src/seedd/config.cpp).
      log_level = mkDefault "info";
      state_dir = mkDefault "/var/lib/seed";
      runtime_dir = mkDefault "/run/seedd";
      vmm = {
        hypervisor = mkDefault cfg.hypervisor;
        accel = mkDefault "auto";
        cloud_hypervisor_binary = mkDefault (lib.getExe' pkgs.cloud-hypervisor "cloud-hypervisor");
        qemu_binary = mkDefault "${pkgs.qemu_kvm}/bin/qemu-system-x86_64";
        virtiofsd_binary = mkDefault (lib.getExe pkgs.virtiofsd);
        console_logger_binary = mkDefault "${cfg.package}/bin/seed-console-logger";
      };
      # Planned: read by the modules still being written (docs/host-config.md).
      domain = cfg.domain;
      public_addresses = cfg.publicAddresses;
      storage = {
        backend = cfg.storage.backend;
        directory = cfg.storage.directory;
      } // lib.optionalAttrs (cfg.storage.volumeGroup != null) { volume_group = cfg.storage.volumeGroup; };
      network = {
        inherit (cfg.network) bridge subnet;
        egress = { inherit (cfg.network.egress) internet allow; };
      } // lib.optionalAttrs (cfg.network.ipv6Prefix != null) { ipv6_prefix = cfg.network.ipv6Prefix; };
      ssh.port = cfg.ssh.port;
      api = {
        port = cfg.api.port;
        admin_port = if cfg.api.adminPort == null then 0 else cfg.api.adminPort;
        public_port = if cfg.api.publicPort == null then 0 else cfg.api.publicPort;
      };
      acme = {
        inherit (cfg.acme) upstream directory;
        leaf_days = cfg.acme.leafDays;
      } // lib.optionalAttrs (cfg.acme.email != null) { email = cfg.acme.email; }
        // lib.optionalAttrs (cfg.acme.caFile != null) { ca_file = cfg.acme.caFile; };
      # Only what the owner set: seedd's defaults (docs/shoots.md) stay in one place.
      # (Without an image the assertion above stops the build; nothing is rendered for it.)
      shoot = lib.mkIf (cfg.shoot.enable && cfg.shoot.image != null) ({
        image = {
          kernel = "${cfg.shoot.image}/kernel";
          initrd = "${cfg.shoot.image}/initrd";
          cmdline = cfg.shoot.image.kernelParams or "";
        };
      } // lib.optionalAttrs (cfg.shoot.tiers != null) {
        tiers = map (t: { inherit (t) name vcpus pool; memory_mib = t.memoryMiB; }) cfg.shoot.tiers;
      } // lib.filterAttrs (_: v: v != null) {
        max_vms = cfg.shoot.maxVms;
        max_memory_mib = cfg.shoot.maxMemoryMiB;
        per_instance = cfg.shoot.perInstance;
        node = cfg.shoot.node;
        queue = cfg.shoot.queue;
        max_wait_ms = cfg.shoot.maxWaitMs;
        max_timeout_ms = cfg.shoot.maxTimeoutMs;
        output_cap = cfg.shoot.outputCapBytes;
        max_stdin = cfg.shoot.maxStdinBytes;
      });
      eval = {
        user = evalUser;
      } // lib.optionalAttrs (cfg.flake != null) { flake_registry = "/etc/seed/flake-registry.json"; };
    };

    # Flakes are evaluated as this user: pure, unprivileged, no access to seedd's state.
    users.users.${evalUser} = {
      isSystemUser = true;
      group = evalUser;
      home = "/var/lib/seed/eval";
      createHome = true;
      description = "Seed flake evaluation";
    };
    users.groups.${evalUser} = { };
    nix.settings.experimental-features = [ "nix-command" "flakes" ];
    nix.settings.allowed-users = [ evalUser "root" ];

    # Instances route through the host; seedd adds its own nftables table for NAT and isolation.
    boot.kernel.sysctl."net.ipv4.ip_forward" = mkDefault 1;
    boot.kernel.sysctl."net.ipv6.conf.all.forwarding" = mkIf (cfg.network.ipv6Prefix != null) (mkDefault 1);
    boot.kernelModules = [ "tun" "vhost_net" "vhost_vsock" "loop" ]
      ++ lib.optionals (cfg.storage.backend == "lvm") [ "dm_thin_pool" ];
    services.lvm.enable = mkIf (cfg.storage.backend == "lvm") true;

    networking.firewall = mkIf cfg.openFirewall {
      allowedTCPPorts = [ cfg.ssh.port 53 80 443 ];
      allowedUDPPorts = [ 53 ];
      # Instances reach the resolver and the API (ACME facade, shoot) on the bridge only.
      interfaces.${cfg.network.bridge} = {
        allowedTCPPorts = [ 53 cfg.api.port ];
        allowedUDPPorts = [ 53 ];
      };
    };

    # (optionalAttrs/optionals rather than mkIf: no half-defined attribute when there is no flake.)
    environment.etc = { "seed/seedd.json".source = configFile; }
      // lib.optionalAttrs (cfg.flake != null) { "seed/flake-registry.json".source = registryFile; };
    # The same `seed` for the node owner's own nix commands (`nix flake init -t seed#instance`).
    nix.registry = lib.optionalAttrs (cfg.flake != null) { seed.flake = cfg.flake; };
    # Locked inputs are found in the store by their hash, so evaluation never downloads them.
    system.extraDependencies = lib.optionals (cfg.flake != null)
      ([ cfg.flake.outPath ] ++ map (i: i.outPath) (lib.attrValues (cfg.flake.inputs or { })));
    environment.systemPackages = [ cfg.package ];

    systemd.services.seedd = {
      description = "Seed node daemon";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" "nix-daemon.socket" ];
      restartTriggers = [ configFile ];
      # Programs seedd runs (by name, from PATH).
      path = [
        pkgs.cloud-hypervisor pkgs.virtiofsd pkgs.swtpm pkgs.qemu_kvm config.nix.package
        pkgs.lvm2 pkgs.e2fsprogs pkgs.util-linux pkgs.iproute2 pkgs.nftables pkgs.git
        pkgs.kmod pkgs.coreutils
      ];
      serviceConfig = {
        Type = "notify";
        NotifyAccess = "main";
        ExecStart = "${cfg.package}/bin/seedd --config /etc/seed/seedd.json run";
        Restart = "on-failure";
        RestartSec = "2s";
        # The VMs, virtiofsd, swtpm and console loggers are seedd's children but must outlive
        # it: on stop or restart only seedd itself is signalled, and the next seedd re-adopts
        # them from their records.
        KillMode = "process";
        # seedd puts each VM's processes into a cgroup of its own under this unit's.
        Delegate = true;
        StateDirectory = "seed";
        StateDirectoryMode = "0700";
        RuntimeDirectory = "seedd";
        RuntimeDirectoryMode = "0700";
        # The VMs' API sockets, FIFOs and records live in /run/seedd: keep it across restarts.
        RuntimeDirectoryPreserve = true;
        # Hardening that does not get in the way of what seedd does. Deliberately absent:
        # ProtectSystem/ProtectHome/PrivateTmp/PrivateDevices and friends give seedd a private
        # mount namespace, so its volume mounts would be invisible to the next seedd (and
        # to the VMs' virtiofsd after a restart); PrivateNetwork would hide the bridge;
        # SystemCallFilter and MemoryDenyWriteExecute would be inherited by QEMU's TCG.
        NoNewPrivileges = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        RestrictRealtime = true;
        SystemCallArchitectures = "native";
        RestrictAddressFamilies = [ "AF_UNIX" "AF_NETLINK" "AF_INET" "AF_INET6" "AF_VSOCK" "AF_PACKET" ];
        CapabilityBoundingSet = [
          "CAP_NET_ADMIN" # bridge, taps, addresses, nftables (netlink)
          "CAP_NET_BIND_SERVICE" # 22/53/80/443
          "CAP_NET_RAW"
          "CAP_SYS_ADMIN" # mounts, namespaces for virtiofsd, LVM, loop devices
          "CAP_SYS_RESOURCE" # memlock / rlimits for VMMs
          "CAP_IPC_LOCK"
          "CAP_DAC_OVERRIDE" "CAP_DAC_READ_SEARCH" "CAP_FOWNER" "CAP_CHOWN" "CAP_MKNOD"
          "CAP_SETUID" "CAP_SETGID" # run nix eval as ${evalUser}
          "CAP_KILL" # stop adopted VMs
          "CAP_SYS_CHROOT" # virtiofsd sandbox
          "CAP_SYS_PTRACE" # /proc/<pid> of adopted children
          "CAP_SYS_MODULE" # tun/vhost modules on demand
        ];
        UMask = "0077";
        LimitNOFILE = 1048576;
        TasksMax = "infinity";
        # Out of memory, kill a VM before the daemon that supervises all of them.
        OOMScoreAdjust = -500;
      };
    };
  };
}
