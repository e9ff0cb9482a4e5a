# The frontend: Caddy with TLS, static files from a volume, /api/* forwarded to the `api`
# instance of this flake (found through seed.connect: SEED_API_HOST).
{ pkgs, ... }:
{
  seed.expose.https.enable = true;
  seed.connect.api = { service = "api"; port = 3000; };
  seed.storage.caddy = { size = "100Mi"; mountPoint = "/var/lib/caddy"; };
  seed.storage.data = "1Gi";

  services.caddy = {
    enable = true;
    dataDir = "/var/lib/caddy";
    configFile = pkgs.writeText "Caddyfile" ''
      {
        acme_ca {$SEED_ACME_URL}
      }
      {$SEED_FQDN} {
        handle /api/* {
          reverse_proxy {$SEED_API_HOST}:3000
        }
        handle {
          root * /seed/storage/data/www
          file_server
        }
      }
    '';
  };
  systemd.services.caddy.serviceConfig.EnvironmentFile = "/run/seed/env";
}
