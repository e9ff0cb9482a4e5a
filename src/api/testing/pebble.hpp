// Tests only: Debian's pebble (a real RFC 8555 CA) on loopback, with its own TLS listener
// certificate (`ca_file`, what a client trusts), the test settings issue 15 asks for
// (PEBBLE_VA_NOSLEEP; PEBBLE_WFE_NONCEREJECT for badNonce runs), `-dnsserver` for DNS-01
// against seedd's DNS server, and an optional domain blocklist (pebble then refuses those
// names with rejectedIdentifier: an upstream that refuses).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "common/process.hpp"

namespace seed::api::testing {

struct PebbleOptions {
  int nonce_reject = 0;                // percent of good nonces refused (badNonce)
  std::string dns_server;              // "127.0.0.1:PORT" for DNS-01; "" = pebble's default
  std::vector<std::string> blocklist;  // names pebble refuses to order
  int authz_reuse = -1;                // PEBBLE_AUTHZREUSE percent; -1 = pebble's default (50)
};

// A program's exit code and its output (stdout and stderr).
struct ToolRun {
  int code = -1;
  std::string output;
};

inline ToolRun run_tool(std::vector<std::string> argv, std::vector<std::string> env = {},
                        std::chrono::seconds timeout = std::chrono::seconds(120)) {
  SpawnOptions o;
  o.argv = std::move(argv);
  o.env = std::move(env);
  o.stdout_mode = Output::capture;
  RunOptions ro;
  ro.timeout = timeout;
  auto r = run(std::move(o), ro);
  if (!r.ok()) return {-1, r.error().describe()};
  return {r->status.code, r->out + r->err};
}

// A port the kernel had free a moment ago (pebble binds by number, not from a passed socket).
inline uint16_t free_tcp_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

class Pebble {
 public:
  // Starts pebble with its files in `dir`; "" on success, else what went wrong.
  std::string start(const std::string& dir, const PebbleOptions& options = {}) {
    if (!find_executable("pebble")) return "pebble is not installed (scripts/install-deps)";
    ToolRun cert = run_tool({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                             "-keyout", dir + "/pebble-key.pem", "-out", dir + "/pebble-cert.pem", "-subj", "/CN=localhost",
                             "-days", "1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"});
    if (cert.code != 0) return "openssl req: " + cert.output;
    const uint16_t port = free_tcp_port(), mgmt = free_tcp_port();
    base = "https://127.0.0.1:" + std::to_string(port);
    management = "https://127.0.0.1:" + std::to_string(mgmt);
    ca_file = dir + "/pebble-cert.pem";
    const nlohmann::json config{{"pebble", {{"listenAddress", "127.0.0.1:" + std::to_string(port)},
                                            {"managementListenAddress", "127.0.0.1:" + std::to_string(mgmt)},
                                            {"certificate", ca_file}, {"privateKey", dir + "/pebble-key.pem"},
                                            {"httpPort", 5002}, {"tlsPort", 5001}, {"ocspResponderURL", ""},
                                            {"externalAccountBindingRequired", false},
                                            {"domainBlocklist", options.blocklist}}}};
    if (!write_file_atomic(dir + "/pebble.json", config.dump(), 0600)) return "cannot write pebble.json";
    SpawnOptions o;
    o.argv = {"pebble", "-config", dir + "/pebble.json"};
    if (!options.dns_server.empty()) o.argv.insert(o.argv.end(), {"-dnsserver", options.dns_server});
    o.env = {"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=" + std::to_string(options.nonce_reject)};
    if (options.authz_reuse >= 0) o.env.push_back("PEBBLE_AUTHZREUSE=" + std::to_string(options.authz_reuse));
    o.stdout_mode = Output::file;
    o.stdout_file = dir + "/pebble.log";
    o.stderr_mode = Output::file;
    o.stderr_file = dir + "/pebble.err";
    o.kill_with_parent = true;
    auto child = spawn(o);
    if (!child.ok()) return child.error().describe();
    child_ = std::move(*child);
    // Readiness: pebble answers its directory once it listens (no timing is asserted).
    for (int i = 0; i < 120 && directory.is_null(); ++i) {
      ToolRun dir_json = run_tool({"curl", "-sfk", base + "/dir"});
      if (dir_json.code == 0) directory = nlohmann::json::parse(dir_json.output, nullptr, false);
      if (directory.is_discarded()) directory = nullptr;
      if (directory.is_null()) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    if (!directory.is_object()) return "pebble never served its directory: " + run_tool({"cat", dir + "/pebble.log", dir + "/pebble.err"}).output;
    return "";
  }
  // pebble's issuing root (management /roots/0), saved to `path` for openssl verify.
  bool save_root(const std::string& path) const {
    return run_tool({"curl", "-sfk", "-o", path, management + "/roots/0"}).code == 0;
  }
  ~Pebble() {
    if (child_.pid() > 0) child_.terminate();
  }

  std::string base, management, ca_file;
  nlohmann::json directory;

 private:
  Child child_;
};

}  // namespace seed::api::testing
