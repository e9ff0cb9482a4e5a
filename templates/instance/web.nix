# A static site: nginx on port 80, its files on a 1 GiB volume that survives redeploys.
{ ... }:
{
  seed.size = "xs";
  seed.expose.http.enable = true; # well-known: port 80, protocol http
  seed.storage.data = "1Gi"; # mounted at /seed/storage/data

  services.nginx.enable = true;
  services.nginx.virtualHosts.default = {
    listen = [{ addr = "0.0.0.0"; port = 80; }];
    root = "/seed/storage/data/www";
  };

  # A first page, created only while the volume has none (tmpfiles "f" never overwrites).
  systemd.tmpfiles.rules = [
    "d /seed/storage/data/www 0755 root root -"
    "f /seed/storage/data/www/index.html 0644 root root - Hello from a Seed instance"
  ];
}
