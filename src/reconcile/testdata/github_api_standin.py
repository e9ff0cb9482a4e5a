# A stand-in for api.github.com serving one local git repository, for nix's real `github:`
# fetcher in tests (no network). It answers the two calls nix 2.8 makes for github:OWNER/REPO:
#   GET /repos/OWNER/REPO/commits/HEAD   -> {"sha": <HEAD of the repository>}
#   GET /repos/OWNER/REPO/tarball/<rev>  -> `git archive` of that commit (one top directory)
# What it cannot catch: GitHub's own behaviour (rate limits, tokens, redirects to codeload,
# renamed repositories); it only makes the fetch path through nix real.
# Usage: github_api_standin.py REPO PORT CERT KEY; prints "ready" once it listens.
import http.server
import json
import ssl
import subprocess
import sys

repo, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


def git(*args):
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, check=True).stdout


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        head = git("rev-parse", "HEAD").decode().strip()
        if self.path.endswith("/commits/HEAD"):
            body, ctype = json.dumps({"sha": head}).encode(), "application/json"
        elif "/tarball/" in self.path:
            rev = self.path.rsplit("/", 1)[1]
            body, ctype = git("archive", "--format=tar.gz", "--prefix=repo-%s/" % rev[:7], rev), "application/x-gzip"
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print("ready", flush=True)
server.serve_forever()
