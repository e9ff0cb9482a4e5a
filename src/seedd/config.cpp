#include "seedd/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>

#include "common/fd.hpp"
#include "common/json_reader.hpp"
#include "net/dns/endpoint.hpp"

namespace seed {
namespace {

std::string own_directory() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

// Values of one config section that must lie in 1..max (0 would refuse everything or time out
// at once): one out of range is a problem naming "<section>.<key>", and the bound is used.
class Bounded {
 public:
  Bounded(JsonReader& in, const char* section, std::vector<std::string>& problems)
      : in_(in), section_(section), problems_(problems) {}
  uint64_t count(const char* key, uint64_t current, uint64_t max) {
    uint64_t value = current;
    in_.get(key, value);
    if (value == 0 || value > max) {
      problems_.push_back(section_ + "." + key + ": must be between 1 and " + std::to_string(max) + ", got " +
                          std::to_string(value));
    }
    return std::min(value, max);
  }
  std::chrono::seconds seconds(const char* key, std::chrono::milliseconds current, uint64_t max) {
    return std::chrono::seconds(count(key, static_cast<uint64_t>(current.count() / 1000), max));
  }

 private:
  JsonReader& in_;
  std::string section_;
  std::vector<std::string>& problems_;
};

// "ingress": {"max_connections", "max_per_source", "header_timeout_s", "connect_timeout_s",
// "idle_timeout_s"}.
void read_ingress_limits(JsonReader& in, net::ingress::ServerConfig& out, std::vector<std::string>& problems) {
  Bounded b(in, "ingress", problems);
  out.max_connections = b.count("max_connections", out.max_connections, 1'000'000);
  out.max_per_source = b.count("max_per_source", out.max_per_source, 1'000'000);
  out.header_timeout = b.seconds("header_timeout_s", out.header_timeout, 3600);
  out.connect_timeout = b.seconds("connect_timeout_s", out.connect_timeout, 3600);
  out.idle_timeout = b.seconds("idle_timeout_s", out.idle_timeout, 7 * 86400);
}

// "listen": {"dns", "http", "https"}: each entry an ADDRESS:PORT that net::dns::parse_endpoint
// accepts (the one parser for socket addresses: "80x", a missing port or a bare host fail
// here, with the config's other problems, instead of when seedd binds).
void check_listen_addresses(const Config::Listen& listen, std::vector<std::string>& problems) {
  auto check = [&](const char* key, const std::vector<std::string>& entries) {
    for (size_t i = 0; i < entries.size(); ++i) {
      auto endpoint = net::dns::parse_endpoint(entries[i]);
      if (!endpoint) {
        problems.push_back(std::string("listen.") + key + "[" + std::to_string(i) + "]: " + endpoint.error().message);
      } else if (endpoint->port() == 0 && std::string_view(key) != "dns") {
        problems.push_back(std::string("listen.") + key + "[" + std::to_string(i) + "]: '" + entries[i] +
                           "' needs a port (1-65535)");
      }
    }
  };
  check("dns", listen.dns);
  check("http", listen.http);
  check("https", listen.https);
}

// "ssh": {"max_sessions", "max_per_source"} (its "port" is a node key, node_config.cpp): a
// per-source cap above the total would never apply, so it is refused rather than ignored.
void read_ssh_limits(JsonReader& in, sshcli::ServerConfig& out, std::vector<std::string>& problems) {
  uint64_t max_sessions = out.max_sessions, max_per_source = out.max_sessions_per_source;
  in.get("max_sessions", max_sessions).get("max_per_source", max_per_source);
  if (max_sessions == 0 || max_sessions > 4096) {
    problems.push_back("ssh.max_sessions: must be between 1 and 4096, got " + std::to_string(max_sessions));
  }
  if (max_per_source == 0 || max_per_source > max_sessions) {
    problems.push_back("ssh.max_per_source: must be between 1 and ssh.max_sessions (" + std::to_string(max_sessions) +
                       "), got " + std::to_string(max_per_source));
  }
  out.max_sessions = max_sessions;
  out.max_sessions_per_source = max_per_source;
}

// "dns": {"max_tcp_connections", "max_tcp_per_source", "tcp_idle_timeout_s",
// "tcp_message_timeout_s", "tcp_max_life_s"}.
void read_dns_limits(JsonReader& in, net::dns::ServerConfig& out, std::vector<std::string>& problems) {
  Bounded b(in, "dns", problems);
  out.max_tcp_connections = b.count("max_tcp_connections", out.max_tcp_connections, 65'536);
  out.max_tcp_per_source = b.count("max_tcp_per_source", out.max_tcp_per_source, 65'536);
  out.tcp_idle_timeout = b.seconds("tcp_idle_timeout_s", out.tcp_idle_timeout, 3600);
  out.tcp_message_timeout = b.seconds("tcp_message_timeout_s", out.tcp_message_timeout, 3600);
  out.tcp_max_life = b.seconds("tcp_max_life_s", out.tcp_max_life, 86400);
}

// "acme": {"upstream", "directory", "email", "ca_file", "leaf_days"}: where the facade's
// certificates come from. The directory is only used (and so only checked) with upstream "acme".
void read_acme(JsonReader& in, NodeConfig::Acme& out, std::vector<std::string>& problems) {
  in.get_enum("upstream", out.upstream, {"internal", "acme"});
  in.get("directory", out.directory).get("email", out.email).get("ca_file", out.ca_file);
  out.leaf_days = Bounded(in, "acme", problems).count("leaf_days", out.leaf_days, 397);
  if (out.upstream == "acme" && out.directory.rfind("https://", 0) != 0) {
    problems.push_back("acme.directory: must be an https:// URL of the upstream CA's directory, got \"" +
                       out.directory + "\"");
  }
  if (!out.ca_file.empty() && out.ca_file[0] != '/') {
    problems.push_back("acme.ca_file: must be an absolute path to a PEM file, got \"" + out.ca_file + "\"");
  }
  const auto at = out.email.find('@');
  if (!out.email.empty() && (at == 0 || at == std::string::npos || at + 1 == out.email.size() ||
                             out.email.find_first_of(" \t\r\n<>,") != std::string::npos)) {
    problems.push_back("acme.email: \"" + out.email + "\" is not an e-mail address (user@example.org)");
  }
}

}  // namespace

Config default_config() {
  Config c;
  // In the build tree the logger sits in src/vmm beside src/seedd; installed, beside seedd.
  std::string dir = own_directory();
  std::string build_tree = dir + "/../vmm/seed-console-logger";
  c.runner.console_logger_binary =
      ::access(build_tree.c_str(), X_OK) == 0 ? build_tree : dir + "/seed-console-logger";
  c.control.ssh_host_key_path = c.runner.state_dir + "/ssh/ssh_host_ed25519_key.pub";
  return c;
}

Result<Config> parse_config(std::string_view text, const std::string& where) {
  auto json = SEED_TRY(parse_json(text, where));
  Config c = default_config();
  JsonReader r(json, where);
  std::string level = "info";
  r.get_enum("log_level", level, {"debug", "info", "warn", "error"});
  r.get("state_dir", c.runner.state_dir).get("runtime_dir", c.runner.runtime_dir);
  auto& v = r.object("vmm");
  v.get_enum("hypervisor", c.driver.hypervisor, {"auto", "cloud-hypervisor", "qemu"});
  v.get_enum("accel", c.driver.accel, {"auto", "kvm", "tcg"});
  v.get("cloud_hypervisor_binary", c.driver.cloud_hypervisor_binary);
  v.get("qemu_binary", c.driver.qemu_binary);
  v.get("virtiofsd_binary", c.runner.virtiofsd_binary);
  v.get("console_logger_binary", c.runner.console_logger_binary);
  v.get("console_log_max_bytes", c.runner.console.max_bytes);
  uint64_t keep = c.runner.console.keep;
  v.get("console_log_keep", keep);
  v.get("stop_timeout_s", c.stop_timeout_s);
  auto& l = r.object("listen");
  l.get("dns", c.listen.dns).get("http", c.listen.http).get("https", c.listen.https);
  r.get("tpm", c.tpm).get("nix_env", c.nix_env).get("ssh_listen", c.ssh_listen);
  auto& ctl = r.object("control");
  std::string socket;
  ctl.get("socket", socket);
  c.control.socket_path = socket.empty() ? c.runner.runtime_dir + "/control.sock" : socket;
  uint64_t max_clients = c.control.max_clients;
  ctl.get("max_clients", max_clients);
  std::vector<std::string> problems = read_node_config(r, c.node);
  read_ingress_limits(r.object("ingress"), c.ingress, problems);
  check_listen_addresses(c.listen, problems);
  read_ssh_limits(r.object("ssh"), c.ssh, problems);
  read_dns_limits(r.object("dns"), c.dns, problems);
  read_acme(r.object("acme"), c.node.acme, problems);
  if (c.control.socket_path.empty() || c.control.socket_path[0] != '/') {
    problems.push_back("control.socket: must be an absolute path");
  }
  if (max_clients == 0 || max_clients > 1024) problems.push_back("control.max_clients: must be between 1 and 1024");
  c.control.max_clients = static_cast<unsigned>(max_clients > 1024 ? 1024 : max_clients);
  SEED_TRY(r.finish());
  if (!problems.empty()) {
    std::string message = where + ": " + std::to_string(problems.size()) + " problem" + (problems.size() == 1 ? "" : "s");
    for (const auto& p : problems) message += "\n  " + p;
    return make_error(Errc::invalid_argument, message).with("file", where).with("stage", "config");
  }
  // Checked before narrowing (2^32 would wrap to 0); each rotation renames every kept file.
  if (keep > 1000) {
    return make_error(Errc::invalid_argument,
                      where + ": vmm.console_log_keep must be at most 1000")
        .with("file", where);
  }
  c.runner.console.keep = static_cast<unsigned>(keep);
  c.log_level = SEED_TRY(log::parse_level(level));
  // The SSH front end keeps its host key in the state dir; seedctl ssh-host-key reads it there.
  c.control.ssh_host_key_path = c.runner.state_dir + "/ssh/ssh_host_ed25519_key.pub";
  if (c.runner.console.max_bytes < 4096) {
    return make_error(Errc::invalid_argument,
                      where + ": vmm.console_log_max_bytes must be at least 4096")
        .with("file", where);
  }
  return c;
}

Result<Config> load_config(const std::string& path) {
  auto text = read_file(path);
  if (!text) return std::move(text).error().with("stage", "config");
  return parse_config(*text, path);
}

}  // namespace seed
