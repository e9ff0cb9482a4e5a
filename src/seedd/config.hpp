// seedd's configuration: one JSON file (what the NixOS host module renders). Every key is
// optional; unknown or mistyped keys are errors naming the key and the file.
#pragma once

#include <string>

#include "common/error.hpp"
#include "common/log.hpp"
#include "control/control_config.hpp"
#include "net/dns/server.hpp"
#include "net/ingress/server.hpp"
#include "seedd/node_config.hpp"
#include "sshcli/server.hpp"
#include "vmm/driver_factory.hpp"
#include "vmm/vm_runner.hpp"

namespace seed {

struct Config {
  log::Level log_level = log::Level::info;
  vmm::DriverSettings driver;
  vmm::RunnerSettings runner;
  uint64_t stop_timeout_s = 10;
  NodeConfig node;
  // Where seedd's own services listen. Empty lists default from node.public_addresses
  // (DNS on :53, ingress on :80 and :443 of each).
  struct Listen {
    std::vector<std::string> dns;    // "ADDRESS:PORT"
    std::vector<std::string> http;   // "ADDRESS:PORT", public port 80 routes
    std::vector<std::string> https;  // "ADDRESS:PORT", public port 443 routes (SNI passthrough)
  } listen;
  std::string ssh_listen = "::";     // the SSH front end's address (its port: node.ssh.port; 0 = off)
  bool tpm = true;                   // give every instance a vTPM (swtpm)
  std::vector<std::string> nix_env;  // extra KEY=VALUE for nix (NIX_REMOTE=daemon, NIX_CONFIG, ...)
  // seedctl's socket ("control": {"socket", "max_clients"}; default <runtime_dir>/control.sock)
  // and the server's limits (docs/seedctl.md).
  control::ControlConfig control;
  // The ingress's limits ("ingress": {"max_connections", "max_per_source", "header_timeout_s",
  // "connect_timeout_s", "idle_timeout_s"}); its listeners come from `listen`.
  net::ingress::ServerConfig ingress;
  // The SSH front end's limits ("ssh": {"max_sessions", "max_per_source"}, beside the node's
  // "port"); its address, port and directories are set by node.cpp.
  sshcli::ServerConfig ssh;
  // The DNS server's TCP limits ("dns": {"max_tcp_connections", "max_tcp_per_source",
  // "tcp_idle_timeout_s", "tcp_message_timeout_s", "tcp_max_life_s"}); its listeners come
  // from `listen`.
  net::dns::ServerConfig dns;
};

// Defaults for the paths of helper binaries that ship beside seedd.
Config default_config();
Result<Config> parse_config(std::string_view text, const std::string& where);
Result<Config> load_config(const std::string& path);

}  // namespace seed
