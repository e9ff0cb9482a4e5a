# Negative cases for lib/meta.nix: case name -> { args; errors; }. mkMeta must fail, and its
# message must contain every string in `errors` (the option path and what is allowed).
{
  size-unknown = {
    args = { name = "web"; seed.size = "huge"; };
    errors = [ "seed.size: \"huge\" is not one of \"xs\", \"s\", \"m\", \"l\", \"xl\"" ];
  };
  size-wrong-type = {
    args = { name = "web"; seed.size = 2; };
    errors = [ "seed.size: 2 is not one of" ];
  };
  port-too-large = {
    args = { name = "web"; seed.expose.http = 70000; };
    errors = [ "seed.expose.http.port: 70000 is not a port; use an integer from 1 to 65535" ];
  };
  port-zero = {
    args = { name = "web"; seed.expose.myapp = { port = 0; protocol = "tcp"; }; };
    errors = [ "seed.expose.myapp.port: 0 is not a port" ];
  };
  port-string = {
    args = { name = "web"; seed.expose.http = "80"; };
    errors = [ "seed.expose.http: expected a port number or { port; protocol; }, got \"80\"" ];
  };
  protocol-unknown = {
    args = { name = "web"; seed.expose.myapp = { port = 9000; protocol = "sctp"; }; };
    errors = [ "seed.expose.myapp.protocol: \"sctp\" is not one of \"tcp\", \"udp\", \"dns\", \"http\", \"grpc\"" ];
  };
  expose-not-well-known = {
    args = { name = "web"; seed.expose.myapp.enable = true; };
    errors = [ "seed.expose.myapp: \"myapp\" is not a well-known service, so set seed.expose.myapp.port" ];
  };
  expose-unknown-key = {
    args = { name = "web"; seed.expose.http = { port = 80; proto = "http"; }; };
    errors = [ "seed.expose.http: unknown attribute \"proto\"; allowed: \"enable\", \"port\", \"protocol\"" ];
  };
  expose-duplicate-port = {
    args = { name = "web"; seed.expose = { http.enable = true; web = 80; }; };
    errors = [ "seed.expose: port 80/tcp is exposed more than once (by \"http\", \"web\")" ];
  };
  expose-dns-clashes-udp = {
    args = { name = "ns"; seed.expose = { dns.enable = true; other = { port = 53; protocol = "udp"; }; }; };
    errors = [ "port 53/udp is exposed more than once" ];
  };
  storage-bad-unit = {
    args = { name = "web"; seed.storage.data = "1GB"; };
    errors = [ "seed.storage.data: \"1GB\" is not a size" "\"Gi\"" ];
  };
  storage-negative = {
    args = { name = "web"; seed.storage.data = "-1Gi"; };
    errors = [ "seed.storage.data: \"-1Gi\" is not a size" ];
  };
  storage-too-small = {
    args = { name = "web"; seed.storage.data = { size = "512Ki"; }; };
    errors = [ "seed.storage.data.size: \"512Ki\" is smaller than the 1Mi minimum" ];
  };
  storage-too-large = {
    args = { name = "web"; seed.storage.data = "2000Ti"; };
    errors = [ "seed.storage.data: \"2000Ti\" is larger than the 1Pi maximum" ];
  };
  storage-missing-size = {
    args = { name = "web"; seed.storage.data = { mountPoint = "/srv/data"; }; };
    errors = [ "seed.storage.data.size: missing" ];
  };
  storage-relative-mount = {
    args = { name = "web"; seed.storage.data = { size = "1Gi"; mountPoint = "data"; }; };
    errors = [ "seed.storage.data.mountPoint: \"data\" is not an absolute path" ];
  };
  storage-unnormalised-mount = {
    args = { name = "web"; seed.storage.data = { size = "1Gi"; mountPoint = "/srv/../etc"; }; };
    errors = [ "seed.storage.data.mountPoint: \"/srv/../etc\" is not a normalised path" ];
  };
  storage-reserved-mount = {
    args = { name = "web"; seed.storage.data = { size = "1Gi"; mountPoint = "/nix/store"; }; };
    errors = [ "seed.storage.data.mountPoint: \"/nix/store\" is inside /nix, which the platform manages" ];
  };
  storage-tpm-mount = {
    args = { name = "web"; seed.storage.keys = { size = "1Gi"; mountPoint = "/seed/tpm"; }; };
    errors = [ "is inside /seed/tpm" ];
  };
  storage-root-mount = {
    args = { name = "web"; seed.storage.data = { size = "1Gi"; mountPoint = "/"; }; };
    errors = [ "the root directory cannot be a volume" ];
  };
  storage-same-mount = {
    args = { name = "web"; seed.storage = { a = { size = "1Gi"; mountPoint = "/srv"; }; b = { size = "1Gi"; mountPoint = "/srv"; }; }; };
    errors = [ "seed.storage: \"a\", \"b\" all mount at \"/srv\"" ];
  };
  storage-bad-name = {
    args = { name = "web"; seed.storage."My Data" = "1Gi"; };
    errors = [ "seed.storage.My Data: the volume name must be 1-28 characters" ];
  };
  connect-bad-service = {
    args = { name = "web"; seed.connect.db = "Not A Host"; };
    errors = [ "seed.connect.db: \"Not A Host\" is not a host name" ];
  };
  connect-bad-port = {
    args = { name = "web"; seed.connect.db = { service = "db"; port = 99999; }; };
    errors = [ "seed.connect.db.port: 99999 is not a port" ];
  };
  connect-bad-name = {
    args = { name = "web"; seed.connect."1db" = "db"; };
    errors = [ "seed.connect.1db: the name must start with a-z" ];
  };
  name-not-dns-label = {
    args = { name = "My_Web"; };
    errors = [ "seed instance name \"My_Web\": must be a DNS label" ];
  };
  name-too-long = {
    args = { name = "a234567890123456789012345678901234567890123456789012345678901234"; };
    errors = [ "must be a DNS label: 1-63 characters" ];
  };
  rollout-unknown = {
    args = { name = "web"; seed.rollout = "blue-green"; };
    errors = [ "seed.rollout: \"blue-green\" is not one of \"recreate\", \"rolling\"" ];
  };
  acme-not-bool = {
    args = { name = "web"; seed.acme = "yes"; };
    errors = [ "seed.acme: expected true or false, got \"yes\"" ];
  };
  health-both = {
    args = { name = "web"; seed.expose.http.enable = true; seed.health = { path = "/"; command = [ "true" ]; }; };
    errors = [ "seed.health: set exactly one of seed.health.path" ];
  };
  health-no-port = {
    args = { name = "web"; seed.expose.ssh.enable = true; seed.health.path = "/healthz"; };
    errors = [ "seed.health.port: no exposed http entry to default to" ];
  };
  unknown-option = {
    args = { name = "web"; seed.sise = "xs"; };
    errors = [ "seed: unknown attribute \"sise\"" ];
  };
  system-unknown = {
    args = { name = "web"; system = "riscv64-linux"; };
    errors = [ "system: \"riscv64-linux\" is not one of \"x86_64-linux\", \"aarch64-linux\"" ];
  };
  # Every problem is reported at once, not only the first.
  several = {
    args = { name = "web"; seed = { size = "huge"; rollout = "fast"; expose.http = 0; }; };
    errors = [ "has 3 invalid option value(s)" "seed.size" "seed.rollout" "seed.expose.http.port" ];
  };
}
