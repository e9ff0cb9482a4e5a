# The rules of the seed.* options as plain functions over builtins only (no nixpkgs), so the
# same code runs inside the NixOS module (nixos-module/guest/options.nix) and in CI with a
# bare `nix-instantiate`. Input: an instance name, a system and the seed.* values in any form
# the tenant may write them (bare port, size string, ...). Output: `meta`, the plain JSON
# document seedd's reconcile engine reads (schema: docs/guest-contract.md), or a list of
# problems, each naming the option, the bad value and what is allowed.
let
  inherit (builtins)
    all any attrNames concatMap concatStringsSep elem filter foldl' genList groupBy isAttrs
    isBool isInt isList isString length listToAttrs mapAttrs match replaceStrings sort
    stringLength substring toJSON typeOf;

  schemaVersion = 1;

  # Sizing tiers (the tenant contract's table). memory_mib is MiB.
  sizes = {
    xs = { vcpus = 1; memory_mib = 512; };
    s = { vcpus = 1; memory_mib = 1024; };
    m = { vcpus = 2; memory_mib = 2048; };
    l = { vcpus = 4; memory_mib = 4096; };
    xl = { vcpus = 8; memory_mib = 8192; };
  };
  sizeNames = [ "xs" "s" "m" "l" "xl" ];
  defaultSize = "xs";

  protocols = [ "tcp" "udp" "dns" "http" "grpc" ];
  # What each protocol occupies on the instance's address; two entries collide when they
  # share a port and a transport.
  transportsOf = {
    tcp = [ "tcp" ];
    udp = [ "udp" ];
    dns = [ "tcp" "udp" ];
    http = [ "tcp" ];
    grpc = [ "tcp" ];
  };
  acmeProtocols = [ "http" "grpc" ];
  # An entry that names no protocol (a bare port, `seed.expose.web = 8080;`, or an attrset
  # without `protocol`) takes its well-known service's protocol, and is HTTP when the name is
  # not a well-known service: the common case, and the one that gets ingress and TLS.
  defaultProtocol = "http";
  wellKnown = import ./services.nix;

  rollouts = [ "recreate" "rolling" ];
  systems = [ "x86_64-linux" "aarch64-linux" ];

  # Storage sizes: an integer and an optional unit, Kubernetes-style ("1Gi", "500Mi", "2G").
  sizeUnits = {
    "" = 1;
    k = 1000; K = 1000; M = 1000000; G = 1000000000; T = 1000000000000;
    Ki = 1024; Mi = 1048576; Gi = 1073741824; Ti = 1099511627776;
  };
  # Smaller volumes cannot hold a filesystem worth having; larger ones are a typo.
  minVolumeBytes = 1048576;
  maxVolumeBytes = 1125899906842624; # 1 PiB

  storageRoot = "/seed/storage";
  # Paths the platform or NixOS itself manages; a volume mounted there would hide them.
  reservedMountRoots = [ "/nix" "/proc" "/sys" "/dev" "/run" "/etc" "/boot" "/seed/tpm" ];
  # virtio-fs tags are at most 36 bytes; the share is "storage-<name>".
  maxVolumeNameLength = 28;

  connectDir = "/etc/seed/connect";

  healthTimeoutDefault = 120;
  healthTimeoutMax = 3600;

  # ------------------------------------------------------------------ small helpers

  show = v:
    if isString v || isInt v || isBool v || v == null then toJSON v
    else if isList v then "a list"
    else if isAttrs v then "an attribute set"
    else "a ${typeOf v}";
  quoteAll = l: concatStringsSep ", " (map toJSON l);

  isDnsLabel = s:
    isString s && stringLength s <= 63 && match "[a-z0-9]([a-z0-9-]*[a-z0-9])?" s != null;
  # A host name: DNS labels joined by dots (an instance in the same namespace, or a full name).
  isHostName = s:
    isString s && stringLength s <= 253
    && match "[a-z0-9]([a-z0-9-]*[a-z0-9])?([.][a-z0-9]([a-z0-9-]*[a-z0-9])?)*" s != null;
  isPort = p: isInt p && p >= 1 && p <= 65535;

  upper = replaceStrings
    (genList (i: substring i 1 "abcdefghijklmnopqrstuvwxyz-") 27)
    (genList (i: substring i 1 "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") 27);

  unknownKeys = where: allowed: v:
    map (k: "${where}: unknown attribute ${toJSON k}; allowed: ${quoteAll allowed}")
      (filter (k: !(elem k allowed)) (attrNames v));

  # `v.${k}` with null meaning "not set" (the NixOS module passes null for unset options).
  field = v: k: if v ? ${k} then v.${k} else null;

  # ------------------------------------------------------------------ storage sizes

  digitValue = c: {
    "0" = 0; "1" = 1; "2" = 2; "3" = 3; "4" = 4; "5" = 5; "6" = 6; "7" = 7; "8" = 8; "9" = 9;
  }.${c};

  # { bytes = N; } or { error = "why"; } for a size string.
  parseSize = s:
    let
      m = if isString s then match "([0-9]+)(|k|K|M|G|T|Ki|Mi|Gi|Ti)" s else null;
      digits = builtins.head m;
      unit = builtins.elemAt m 1;
      mult = sizeUnits.${unit};
      # 16 digits cannot overflow a 64-bit integer; anything longer is far over the limit.
      n = foldl' (acc: c: acc * 10 + digitValue c) 0
        (genList (i: substring i 1 digits) (stringLength digits));
    in
    if !(isString s) then { error = "expected a size string like \"1Gi\", got ${show s}"; }
    else if m == null then {
      error = "${toJSON s} is not a size; write an integer and an optional unit "
        + "(${quoteAll [ "Ki" "Mi" "Gi" "Ti" "K" "M" "G" "T" ]}), e.g. \"500Mi\" or \"1Gi\"";
    }
    else if stringLength digits > 16 || n > maxVolumeBytes / mult then {
      error = "${toJSON s} is larger than the 1Pi maximum";
    }
    else if n * mult < minVolumeBytes then {
      error = "${toJSON s} is smaller than the 1Mi minimum";
    }
    else { bytes = n * mult; };

  # ------------------------------------------------------------------ mount points

  # null when MP may hold a volume, else why not.
  mountPointProblem = mp:
    let
      parts = filter isString (builtins.split "/" mp);
      inside = root: mp == root || substring 0 (stringLength root + 1) mp == "${root}/";
      reserved = filter inside reservedMountRoots;
    in
    if !(isString mp) then "expected an absolute path string, got ${show mp}"
    else if substring 0 1 mp != "/" then "${toJSON mp} is not an absolute path (it must start with \"/\")"
    else if mp == "/" then "the root directory cannot be a volume"
    else if any (p: p == "" || p == "." || p == "..") (builtins.tail parts) then
      "${toJSON mp} is not a normalised path (no \"//\", \".\", \"..\" or trailing \"/\")"
    else if match "[A-Za-z0-9._/+@-]+" mp == null then
      "${toJSON mp} may contain only letters, digits and . _ - + @ /"
    else if reserved != [ ] then
      "${toJSON mp} is inside ${builtins.head reserved}, which the platform manages; "
      + "choose another directory (the default is under ${storageRoot}/)"
    else null;

  # ------------------------------------------------------------------ normalisation
  # Each normaliser accepts every form the tenant may write and returns one shape, keeping bad
  # values as they are so `problems` can name them. They never throw.

  normExpose = name: v:
    let
      known = wellKnown.${name} or null;
      # A bare port replaces only the port: `seed.expose.dns = 5353` is still DNS (TCP and
      # UDP), `seed.expose.ssh = 2222` still TCP. Other names fall back to http below.
      raw = if isInt v then { port = v; } else if isAttrs v then v else { };
      port = field raw "port";
      protocol = field raw "protocol";
      enable = field raw "enable";
    in {
      enable = if enable == null then true else enable;
      port = if port != null then port else if known != null then known.port else null;
      protocol =
        if protocol != null then protocol
        else if known != null then known.protocol
        else defaultProtocol;
    };

  normStorage = name: v:
    let
      raw = if isString v then { size = v; } else if isAttrs v then v else { };
      mp = field raw "mountPoint";
    in {
      size = field raw "size";
      mountPoint = if mp == null then "${storageRoot}/${name}" else mp;
    };

  normConnect = v:
    let raw = if isString v then { service = v; } else if isAttrs v then v else { };
    in { service = field raw "service"; port = field raw "port"; };

  normShoot = v: { enable = if isAttrs v && field v "enable" != null then v.enable else false; };

  # ------------------------------------------------------------------ problems

  exposeProblems = expose:
    let
      one = name: v:
        let
          e = normExpose name v;
          where = "seed.expose.${name}";
        in
        (if !(isDnsLabel name) then
          [ "${where}: the entry name must be a DNS label (a-z, 0-9, \"-\", at most 63 characters)" ]
        else [ ])
        ++ (if !(isInt v || isAttrs v) then
          [ "${where}: expected a port number or { port; protocol; }, got ${show v}" ]
        else if isAttrs v then unknownKeys where [ "enable" "port" "protocol" ] v
        else [ ])
        ++ (if !(isBool e.enable) then [ "${where}.enable: expected true or false, got ${show e.enable}" ] else [ ])
        ++ (if e.port == null then [
          ("${where}: ${toJSON name} is not a well-known service, so set ${where}.port "
          + "(1-65535) and ${where}.protocol (one of ${quoteAll protocols})")
        ] else if !(isPort e.port) then
          [ "${where}.port: ${show e.port} is not a port; use an integer from 1 to 65535" ]
        else [ ])
        ++ (if !(elem e.protocol protocols) then
          [ "${where}.protocol: ${show e.protocol} is not one of ${quoteAll protocols}" ]
        else [ ]);
      perEntry = concatMap (n: one n expose.${n}) (attrNames expose);
      valid = filter (n:
        let e = normExpose n expose.${n};
        in e.enable == true && isPort e.port && elem e.protocol protocols) (attrNames expose);
      claims = concatMap (n:
        let e = normExpose n expose.${n};
        in map (t: { key = "${toString e.port}/${t}"; inherit n; }) transportsOf.${e.protocol}) valid;
      byKey = groupBy (c: c.key) claims;
      clashes = filter (k: length byKey.${k} > 1) (attrNames byKey);
    in
    perEntry ++ map (k:
      "seed.expose: port ${k} is exposed more than once (by ${quoteAll (map (c: c.n) byKey.${k})}); "
      + "give each entry its own port") clashes;

  storageProblems = storage:
    let
      one = name: v:
        let
          s = normStorage name v;
          where = "seed.storage.${name}";
          size = parseSize s.size;
          mp = mountPointProblem s.mountPoint;
        in
        (if !(isString name && stringLength name <= maxVolumeNameLength
          && match "[a-z0-9]([a-z0-9-]*[a-z0-9])?" name != null) then [
          ("${where}: the volume name must be 1-${toString maxVolumeNameLength} characters of a-z, 0-9 and \"-\" "
          + "(it names the volume and its virtio-fs share storage-${name})")
        ] else [ ])
        ++ (if !(isString v || isAttrs v) then
          [ "${where}: expected a size string like \"1Gi\" or { size; mountPoint; }, got ${show v}" ]
        else if isAttrs v then unknownKeys where [ "size" "mountPoint" ] v
          ++ (if !(v ? size) || v.size == null then [ "${where}.size: missing; write e.g. \"1Gi\"" ] else [ ])
        else [ ])
        ++ (if s.size != null && size ? error then [ "${where}${if isAttrs v then ".size" else ""}: ${size.error}" ] else [ ])
        ++ (if (isString v || isAttrs v) && mp != null then [ "${where}.mountPoint: ${mp}" ] else [ ]);
      perEntry = concatMap (n: one n storage.${n}) (attrNames storage);
      mounts = groupBy (m: m.mp) (map (n: { inherit n; mp = (normStorage n storage.${n}).mountPoint; })
        (filter (n: isString storage.${n} || isAttrs storage.${n}) (attrNames storage)));
      twice = filter (mp: isString mp && length mounts.${mp} > 1) (attrNames mounts);
    in
    perEntry ++ map (mp:
      "seed.storage: ${quoteAll (map (m: m.n) mounts.${mp})} all mount at ${toJSON mp}; "
      + "give each volume its own mountPoint") twice;

  connectProblems = connect:
    let
      one = name: v:
        let
          c = normConnect v;
          where = "seed.connect.${name}";
        in
        (if !(isString name && match "[a-z]([a-z0-9-]*[a-z0-9])?" name != null && stringLength name <= 63) then [
          ("${where}: the name must start with a-z and contain only a-z, 0-9 and \"-\" "
          + "(it becomes the variable SEED_<NAME>_HOST)")
        ] else [ ])
        ++ (if !(isString v || isAttrs v) then
          [ "${where}: expected a service name or { service; port; }, got ${show v}" ]
        else if isAttrs v then unknownKeys where [ "service" "port" ] v
        else [ ])
        ++ (if (isString v || isAttrs v) && !(isHostName c.service) then [
          ("${where}${if isAttrs v then ".service" else ""}: ${show c.service} is not a host name "
          + "(the name of another instance in this flake, like \"db\", or a DNS name)")
        ] else [ ])
        ++ (if c.port != null && !(isPort c.port) then
          [ "${where}.port: ${show c.port} is not a port; use an integer from 1 to 65535" ]
        else [ ]);
    in
    concatMap (n: one n connect.${n}) (attrNames connect);

  healthProblems = expose: health:
    let
      where = "seed.health";
      path = field health "path";
      command = field health "command";
      port = field health "port";
      timeout = field health "timeout";
    in
    if health == null then [ ]
    else if !(isAttrs health) then
      [ "${where}: expected null or { path; port; } or { command; }, got ${show health}" ]
    else
      unknownKeys where [ "path" "port" "command" "timeout" ] health
      ++ (if (path == null) == (command == null) then
        [ "${where}: set exactly one of ${where}.path (an HTTP path such as \"/healthz\") and ${where}.command (a list of strings)" ]
      else [ ])
      ++ (if path != null && !(isString path && match "/[^ ]*" path != null) then
        [ "${where}.path: ${show path} must be an HTTP path starting with \"/\" and without spaces" ]
      else [ ])
      ++ (if command != null && !(isList command && command != [ ] && all isString command) then
        [ "${where}.command: expected a non-empty list of strings, got ${show command}" ]
      else [ ])
      ++ (if port != null && !(isPort port) then
        [ "${where}.port: ${show port} is not a port; use an integer from 1 to 65535" ]
      else if path != null && port == null && healthPort expose null == null then
        [ "${where}.port: no exposed http entry to default to; set ${where}.port" ]
      else [ ])
      ++ (if timeout != null && !(isInt timeout && timeout >= 1 && timeout <= healthTimeoutMax) then
        [ "${where}.timeout: ${show timeout} must be a number of seconds from 1 to ${toString healthTimeoutMax}" ]
      else [ ]);

  # The port an HTTP health check goes to: its own, else the "http" entry, else the first
  # (by name) enabled entry whose protocol is http.
  healthPort = expose: port:
    let
      https = filter (n: let e = normExpose n expose.${n}; in e.enable == true && e.protocol == "http" && isPort e.port)
        (sort (a: b: a < b) (attrNames expose));
    in
    if port != null then port
    else if elem "http" https then (normExpose "http" expose.http).port
    else if https != [ ] then (normExpose (builtins.head https) expose.${builtins.head https}).port
    else null;

  # Every problem with an instance, [] when it is valid.
  problems = { name, system ? "x86_64-linux", seed ? { } }:
    let
      get = k: d: if seed ? ${k} && seed.${k} != null then seed.${k} else d;
      size = get "size" defaultSize;
      expose = get "expose" { };
      storage = get "storage" { };
      connect = get "connect" { };
      rollout = get "rollout" "recreate";
      acme = get "acme" null;
      shoot = get "shoot" { };
      health = get "health" null;
      attrsOrProblem = k: v: if isAttrs v then [ ] else [ "seed.${k}: expected an attribute set, got ${show v}" ];
    in
    (if !(isDnsLabel name) then [
      ("seed instance name ${show name}: must be a DNS label: 1-63 characters of a-z, 0-9 and \"-\", "
      + "not starting or ending with \"-\" (it becomes <name>.<namespace>.<domain>)")
    ] else [ ])
    ++ (if !(elem system systems) then [ "system: ${show system} is not one of ${quoteAll systems}" ] else [ ])
    ++ (if isAttrs seed then unknownKeys "seed" [ "size" "expose" "storage" "connect" "rollout" "acme" "shoot" "health" ] seed
      else [ "seed: expected an attribute set, got ${show seed}" ])
    ++ (if !(elem size sizeNames) then [ "seed.size: ${show size} is not one of ${quoteAll sizeNames}" ] else [ ])
    ++ (if isAttrs expose then exposeProblems expose else attrsOrProblem "expose" expose)
    ++ (if isAttrs storage then storageProblems storage else attrsOrProblem "storage" storage)
    ++ (if isAttrs connect then connectProblems connect else attrsOrProblem "connect" connect)
    ++ (if !(elem rollout rollouts) then [ "seed.rollout: ${show rollout} is not one of ${quoteAll rollouts}" ] else [ ])
    ++ (if acme != null && !(isBool acme) then [ "seed.acme: expected true or false, got ${show acme}" ] else [ ])
    ++ (if !(isAttrs shoot) then attrsOrProblem "shoot" shoot
      else unknownKeys "seed.shoot" [ "enable" ] shoot
        ++ (if !(isBool (normShoot shoot).enable) then [ "seed.shoot.enable: expected true or false, got ${show shoot.enable}" ] else [ ]))
    ++ (if isAttrs expose then healthProblems expose health else [ ]);

  # ------------------------------------------------------------------ meta

  # The protocol-derived default of seed.acme: any exposed http or grpc entry.
  acmeDefault = expose:
    any (n: let e = normExpose n expose.${n}; in e.enable == true && elem e.protocol acmeProtocols)
      (attrNames expose);

  # meta of a valid instance (call `problems` first; this assumes it returned []).
  build = { name, system ? "x86_64-linux", seed ? { } }:
    let
      get = k: d: if seed ? ${k} && seed.${k} != null then seed.${k} else d;
      size = get "size" defaultSize;
      expose = get "expose" { };
      enabled = filter (n: (normExpose n expose.${n}).enable) (attrNames expose);
      acme = get "acme" null;
      health = get "health" null;
      timeout = if field health "timeout" != null then health.timeout else healthTimeoutDefault;
    in {
      schema = schemaVersion;
      inherit name system size;
      resources = sizes.${size};
      expose = listToAttrs (map (n:
        let e = normExpose n expose.${n};
        in {
          name = n;
          value = {
            inherit (e) port protocol;
            transports = transportsOf.${e.protocol};
          };
        }) enabled);
      storage = mapAttrs (n: v:
        let s = normStorage n v;
        in {
          inherit (s) size;
          bytes = (parseSize s.size).bytes;
          mount_point = s.mountPoint;
          share = "storage-${n}";
        }) (get "storage" { });
      connect = mapAttrs (n: v:
        let c = normConnect v;
        in {
          inherit (c) service port;
          env = "SEED_${upper n}_HOST";
          file = "${connectDir}/${n}";
          value = if c.port == null then c.service else "${c.service}:${toString c.port}";
        }) (get "connect" { });
      rollout = get "rollout" "recreate";
      acme = if acme == null then acmeDefault expose else acme;
      shoot = normShoot (get "shoot" { });
      health =
        if health == null then null
        else if field health "path" != null then {
          type = "http";
          inherit (health) path;
          port = healthPort expose (field health "port");
          timeout_s = timeout;
        } else {
          type = "command";
          inherit (health) command;
          timeout_s = timeout;
        };
    };

  # One message for every problem of an instance.
  formatProblems = name: ps:
    "seed instance ${toJSON name} has ${toString (length ps)} invalid option value(s):\n"
    + concatStringsSep "\n" (map (p: "  - ${p}") ps);

  # meta, or an evaluation error listing every problem.
  mkMeta = args:
    let ps = problems args;
    in if ps == [ ] then build args else throw (formatProblems args.name ps);

  # The guest firewall openings for a meta: { tcp = [ ports ]; udp = [ ports ]; }.
  firewallPorts = meta:
    let
      entries = builtins.attrValues meta.expose;
      on = t: sort (a: b: a < b) (map (e: e.port) (filter (e: elem t e.transports) entries));
    in { tcp = on "tcp"; udp = on "udp"; };
in
{
  inherit schemaVersion sizes sizeNames defaultSize protocols transportsOf acmeProtocols
    defaultProtocol wellKnown rollouts systems storageRoot reservedMountRoots
    maxVolumeNameLength minVolumeBytes maxVolumeBytes connectDir healthTimeoutDefault;
  inherit isDnsLabel isHostName isPort parseSize mountPointProblem normExpose normStorage
    normConnect acmeDefault problems build formatProblems mkMeta firewallPorts;
}
