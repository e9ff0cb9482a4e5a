# Negative instance modules: each must fail evaluation (tests/nix/eval-module.nix in CI with
# SEED_NIXPKGS_LIB, and the flake's checks with real NixOS) with a message containing every
# string in `errors`: the option's name and what it accepts.
{
  wrong-size = {
    module = { seed.size = "huge"; };
    errors = [ "seed.size" "one of \"xs\", \"s\", \"m\", \"l\", \"xl\"" ];
  };
  bad-port = {
    module = { seed.expose.http = 70000; };
    errors = [ "seed.expose.http" "integer between 1 and 65535" ];
  };
  bad-protocol = {
    module = { seed.expose.myapp = { port = 9000; protocol = "sctp"; }; };
    errors = [ "seed.expose.myapp.protocol" "\"tcp\", \"udp\", \"dns\", \"http\", \"grpc\"" ];
  };
  bad-storage-size = {
    module = { seed.storage.data = "1GB"; };
    errors = [ "seed.storage.data" "size string such as \"1Gi\"" ];
  };
  storage-too-small = {
    module = { seed.storage.data = "10Ki"; };
    errors = [ "seed.storage.data.size: \"10Ki\" is smaller than the 1Mi minimum" ];
  };
  relative-mount-point = {
    module = { seed.storage.data = { size = "1Gi"; mountPoint = "data"; }; };
    errors = [ "seed.storage.data.mountPoint: \"data\" is not an absolute path" ];
  };
  duplicate-port = {
    module = { seed.expose = { http.enable = true; web = 80; }; };
    errors = [ "seed.expose: port 80/tcp is exposed more than once" ];
  };
  unknown-service = {
    module = { seed.expose.myapp.enable = true; };
    errors = [ "seed.expose.myapp: \"myapp\" is not a well-known service" ];
  };
  wrong-rollout = {
    module = { seed.rollout = "blue-green"; };
    errors = [ "seed.rollout" "one of \"recreate\", \"rolling\"" ];
  };
  bad-connect = {
    module = { seed.connect.db = "Not A Host"; };
    errors = [ "seed.connect.db.service: \"Not A Host\" is not a host name" ];
  };
}
