# The seed.* options of an instance, their types, and what they mean for the guest itself
# (firewall openings, /etc/seed/connect files, the `meta` document). Needs nothing but
# nixpkgs' `lib`, so it can be evaluated with `lib.evalModules` outside NixOS (see
# tests/nix/README.md). The rules live in ../../lib/meta.nix; the types here give nixpkgs'
# own error messages for wrong types, the library the rest (duplicates, mount points, ...).
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  rules = import ../../lib/meta.nix;
  cfg = config.seed;

  port = types.ints.between 1 65535;
  sizeString = types.strMatching "[0-9]+(|k|K|M|G|T|Ki|Mi|Gi|Ti)" // {
    description = "size string such as \"1Gi\" (an integer and an optional unit: Ki, Mi, Gi, Ti, K, M, G or T)";
  };

  exposeEntry = types.submodule ({ name, ... }: {
    options = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Whether to expose this entry. Declaring an entry exposes it; set false to withdraw it.";
      };
      port = mkOption {
        type = types.nullOr port;
        default = null;
        description = "Port inside the instance. Defaults to the well-known port of the entry's name (`${name}`).";
      };
      protocol = mkOption {
        type = types.nullOr (types.enum rules.protocols);
        default = null;
        description = ''
          One of ${lib.concatStringsSep ", " rules.protocols}. `dns` is TCP and UDP; `http` and `grpc`
          enable ACME. Defaults to the well-known protocol of the entry's name, else `http`.
        '';
      };
    };
  });

  storageEntry = types.submodule {
    options = {
      size = mkOption {
        type = sizeString;
        description = "Volume size, e.g. \"1Gi\". Growing it grows the volume; volumes never shrink.";
      };
      mountPoint = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "Absolute mount point; defaults to ${rules.storageRoot}/<name>.";
      };
    };
  };

  connectEntry = types.submodule {
    options = {
      service = mkOption { type = types.str; description = "Instance (or host) name to reach."; };
      port = mkOption { type = types.nullOr port; default = null; description = "Port, appended to the connect file as host:port."; };
    };
  };

  healthType = types.submodule {
    options = {
      path = mkOption { type = types.nullOr types.str; default = null; description = "HTTP path that answers 2xx when healthy, e.g. \"/healthz\"."; };
      port = mkOption { type = types.nullOr port; default = null; description = "Port of the HTTP check; defaults to the `http` expose entry, else the first http one."; };
      command = mkOption { type = types.nullOr (types.listOf types.str); default = null; description = "Command run in the guest (through the agent) that exits 0 when healthy."; };
      timeout = mkOption { type = types.ints.between 1 3600; default = rules.healthTimeoutDefault; description = "Seconds a new generation has to become healthy before it is rolled back."; };
    };
  };

  # The option values in the shape lib/meta.nix takes.
  values = {
    inherit (cfg) size rollout acme health;
    expose = lib.mapAttrs (_: e: { inherit (e) enable port protocol; }) cfg.expose;
    storage = lib.mapAttrs (_: s: { inherit (s) size mountPoint; }) cfg.storage;
    connect = lib.mapAttrs (_: c: { inherit (c) service port; }) cfg.connect;
    shoot = { inherit (cfg.shoot) enable; };
  };
  ruleArgs = { inherit (cfg) name system; seed = values; };
in
{
  options.seed = {
    name = mkOption {
      type = types.str;
      description = "Instance name (a DNS label). Set by lib.mkSeed from its `name` argument.";
    };
    system = mkOption {
      type = types.enum rules.systems;
      default = "x86_64-linux";
      description = "Platform of the instance. Set by lib.mkSeed.";
    };
    size = mkOption {
      type = types.enum rules.sizeNames;
      default = rules.defaultSize;
      description = "Sizing tier: " + lib.concatStringsSep ", " (lib.mapAttrsToList
        (n: s: "${n} = ${toString s.vcpus} vCPU / ${toString s.memory_mib} MiB") rules.sizes) + ".";
    };
    expose = mkOption {
      # A bare port sets only the port: the protocol then comes from the name (lib/meta.nix).
      type = types.attrsOf (types.coercedTo port (p: { port = p; }) exposeEntry);
      default = { };
      example = lib.literalExpression ''{ https.enable = true; myapp = { port = 9090; protocol = "tcp"; }; http = 8080; }'';
      description = ''
        Ports to expose. Names found in the well-known table (lib/services.nix: http, https, ssh,
        dns, postgresql, ...) need only `enable = true`; a bare port is `{ port; }`: it keeps the
        name's well-known protocol (`dns = 5353` is still DNS) and is `http` for other names.
        Exposed ports are opened in the guest firewall.
      '';
    };
    storage = mkOption {
      type = types.attrsOf (types.coercedTo sizeString (s: { size = s; }) storageEntry);
      default = { };
      example = lib.literalExpression ''{ data = "1Gi"; cache = { size = "500Mi"; mountPoint = "/tmp/cache"; }; }'';
      description = "Persistent volumes, mounted from the virtio-fs share storage-<name>. Never deleted automatically.";
    };
    connect = mkOption {
      type = types.attrsOf (types.coercedTo types.str (s: { service = s; }) connectEntry);
      default = { };
      example = lib.literalExpression ''{ redis = "my-redis"; db = { service = "postgres"; port = 5432; }; }'';
      description = "Other instances to reach: SEED_<NAME>_HOST (the service as written) and SEED_<NAME>_FQDN (its full name) in /run/seed/env, and the file /etc/seed/connect/<name>.";
    };
    rollout = mkOption {
      type = types.enum rules.rollouts;
      default = "recreate";
      description = "`recreate` stops the old generation first (safe for state); `rolling` starts the new one first.";
    };
    acme = mkOption {
      type = types.bool;
      default = rules.acmeDefault values.expose;
      defaultText = lib.literalMD "whether any exposed entry's protocol is `http` or `grpc`";
      description = "Whether the instance gets SEED_ACME_URL, the node's ACME directory.";
    };
    shoot.enable = mkOption {
      type = types.bool;
      default = false;
      description = "Install `seed-shoot` and set SEED_SHOOT_URL to fork commands into ephemeral VMs.";
    };
    health = mkOption {
      type = types.nullOr healthType;
      default = null;
      example = lib.literalExpression ''{ path = "/healthz"; }'';
      description = "How the node tells that a new generation is healthy (else: it booted and its units started).";
    };
    meta = mkOption {
      type = types.attrs;
      readOnly = true;
      description = "The instance's meta document (docs/guest-contract.md). Evaluation fails here on any invalid seed.* value.";
    };
  };

  config = {
    seed.meta = rules.mkMeta ruleArgs;

    assertions = map (p: { assertion = false; message = p; }) (rules.problems ruleArgs);

    networking.firewall.allowedTCPPorts = (rules.firewallPorts cfg.meta).tcp;
    networking.firewall.allowedUDPPorts = (rules.firewallPorts cfg.meta).udp;

    environment.etc = lib.mapAttrs' (n: _: lib.nameValuePair "seed/connect/${n}" {
      text = cfg.meta.connect.${n}.value;
    }) cfg.connect // {
      "seed/meta.json".text = builtins.toJSON cfg.meta;
    };
  };
}
