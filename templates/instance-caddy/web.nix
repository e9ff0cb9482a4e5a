# Caddy terminates TLS with a certificate from the node's ACME facade and proxies to a tiny
# app on localhost:3000. {$VAR} is Caddy's environment expansion (from /run/seed/env), not Nix.
{ pkgs, ... }:
let
  app = pkgs.writeShellScript "hello-app" ''
    while true; do
      printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nHello from Seed\n' \
        | ${pkgs.busybox}/bin/nc -l -p 3000
    done
  '';
in
{
  seed.expose.https.enable = true; # 443, protocol http: SEED_ACME_URL is provided
  seed.storage.caddy = { size = "100Mi"; mountPoint = "/var/lib/caddy"; }; # certificates survive redeploys

  services.caddy = {
    enable = true;
    dataDir = "/var/lib/caddy";
    configFile = pkgs.writeText "Caddyfile" ''
      {
        acme_ca {$SEED_ACME_URL}
      }
      {$SEED_FQDN} {
        reverse_proxy localhost:3000
      }
    '';
  };
  systemd.services.caddy.serviceConfig.EnvironmentFile = "/run/seed/env";

  systemd.services.hello-app = {
    wantedBy = [ "multi-user.target" ];
    serviceConfig = { ExecStart = app; Restart = "always"; DynamicUser = true; };
  };
}
