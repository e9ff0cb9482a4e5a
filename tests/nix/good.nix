# Positive cases for lib/meta.nix: case name -> the arguments of mkMeta. Each has its expected
# meta in expected/<case>.json (written by hand from docs/guest-contract.md, not generated).
{
  # Nothing set: every default.
  defaults = { name = "web"; };

  # The `instance` template: well-known http, one volume at its default mount point.
  instance = {
    name = "web";
    seed = { size = "xs"; expose.http.enable = true; storage.data = "1Gi"; };
  };

  # Every shorthand form at once.
  shorthands = {
    name = "api-1";
    seed = {
      size = "m";
      expose = {
        http = 8080; # bare port: http
        https.enable = true; # well-known 443, http
        dns.enable = true; # 53 over TCP and UDP
        ssh = { port = 2222; }; # well-known protocol, own port
        myapp = { port = 9090; protocol = "tcp"; };
        metrics = { port = 9100; }; # unknown name: http by default
        grpc-api = { port = 50051; protocol = "grpc"; };
        off = { enable = false; port = 1; protocol = "udp"; };
      };
      storage = {
        data = "1Gi";
        cache = { size = "500Mi"; mountPoint = "/tmp/cache"; };
        big = "2T";
        bytes = "1048576";
      };
      connect = {
        redis = "my-redis";
        db = { service = "postgres"; port = 5432; };
        auth-server = "auth.example.org";
      };
      rollout = "rolling";
      shoot.enable = true;
      health = { path = "/healthz"; timeout = 30; };
    };
  };

  # acme follows the protocols (only tcp/udp: false) unless set explicitly.
  tcp-only = {
    name = "db";
    system = "aarch64-linux";
    seed = { size = "xl"; expose.postgresql.enable = true; expose.syslog.enable = true; };
  };
  # A bare port on a well-known name replaces only its port (issue 13.8): dns stays DNS over
  # TCP and UDP (and gets no ACME), ssh stays TCP, ntp UDP; an unknown name is still http.
  bare-ports = {
    name = "edge";
    seed = { expose = { dns = 5353; ssh = 2222; ntp = 1123; web = 8080; }; };
  };
  acme-forced = {
    name = "mail";
    seed = { size = "l"; expose.smtp.enable = true; acme = true; health.command = [ "systemctl" "is-active" "postfix" ]; };
  };
  acme-off = {
    name = "site";
    seed = { size = "s"; expose.https.enable = true; acme = false; health = { path = "/"; port = 8443; }; };
  };

  # Same port number on different transports does not collide.
  port-sharing = {
    name = "x";
    seed.expose = { a = { port = 5000; protocol = "tcp"; }; b = { port = 5000; protocol = "udp"; }; };
  };
}
