# The backend: a JSON API on port 3000, reachable by the web instance.
{ pkgs, ... }:
let
  server = pkgs.writeText "api.py" ''
    import http.server, json
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"status": "ok", "path": self.path}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    http.server.ThreadingHTTPServer(("0.0.0.0", 3000), Handler).serve_forever()
  '';
in
{
  seed.size = "s";
  seed.expose.api = { port = 3000; protocol = "http"; };
  seed.health.path = "/api/health";

  systemd.services.api = {
    wantedBy = [ "multi-user.target" ];
    serviceConfig = {
      ExecStart = "${pkgs.python3}/bin/python3 ${server}";
      Restart = "always";
      DynamicUser = true;
    };
  };
}
