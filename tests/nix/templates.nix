# The instances of the flake templates, for tests and the flake's checks:
# { dir; file; name; } with the expected meta in expected/template-<dir>-<name>.json.
[
  { dir = "instance"; file = "web.nix"; name = "web"; }
  { dir = "instance-caddy"; file = "web.nix"; name = "web"; }
  { dir = "instance-api"; file = "api.nix"; name = "api"; }
  { dir = "multi"; file = "web.nix"; name = "web"; }
  { dir = "multi"; file = "api.nix"; name = "api"; }
]
