# An HTTP API on port 3000 that needs a secret. The secret is encrypted with sops for this
# instance's TPM-backed age recipient (see README.md); until secrets/api.yaml exists the
# instance runs without it, which is how the first deploy (that creates the identity) works.
{ config, lib, pkgs, ... }:
let
  haveSecrets = builtins.pathExists ./secrets/api.yaml;
  server = pkgs.writeText "api.py" ''
    import http.server, json, os
    KEY = "/run/secrets/api-key"
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"status": "ok", "key_loaded": os.path.exists(KEY)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    http.server.ThreadingHTTPServer(("0.0.0.0", 3000), Handler).serve_forever()
  '';
in
{
  seed.expose.api = { port = 3000; }; # not a well-known name: protocol defaults to http
  seed.storage.data = "1Gi";
  seed.health.path = "/";

  sops = lib.mkIf haveSecrets {
    defaultSopsFile = ./secrets/api.yaml;
    secrets.api-key = { };
  };

  systemd.services.api = {
    wantedBy = [ "multi-user.target" ];
    after = [ "network.target" ];
    serviceConfig = {
      ExecStart = "${pkgs.python3}/bin/python3 ${server}";
      Restart = "always";
      EnvironmentFile = "/run/seed/env";
    };
  };
}
