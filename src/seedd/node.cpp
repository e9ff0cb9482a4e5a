#include "seedd/node.hpp"

#include <pwd.h>

#include <filesystem>
#include <tuple>

#include "common/log.hpp"
#include "net/dns/endpoint.hpp"
#include "storage/command_runner.hpp"
#include "storage/file_driver.hpp"
#include "storage/lvm_driver.hpp"
#include "vmm/driver_factory.hpp"

namespace seed {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> on_each(const std::vector<std::string>& addresses, const std::string& port) {
  std::vector<std::string> out;
  for (const auto& a : addresses) out.push_back((a.find(':') != std::string::npos ? "[" + a + "]" : a) + ":" + port);
  return out;
}

// The ingress listeners of one "listen" list. The config check already parsed each entry with
// the same parser, so a failure here means the config was not checked: say so.
Result<std::vector<net::ingress::ListenerConfig>> ingress_listeners(const std::vector<std::string>& entries,
                                                                     uint16_t public_port,
                                                                     net::ingress::Protocol protocol) {
  std::vector<net::ingress::ListenerConfig> out;
  for (const auto& entry : entries) {
    auto endpoint = SEED_TRY(net::dns::parse_endpoint(entry));
    out.push_back({net::dns::address_string(endpoint.addr), endpoint.port(), public_port, protocol});
  }
  return out;
}

// A failure of one part of the node while it starts: stage "start" and the part's name, so
// seedd's exit message and `systemctl status` say which part could not start. A part that
// found its configuration wrong keeps stage "config" (the fix is in the config file).
template <class T>
Result<T> starting(const char* part, Result<T> result) {
  if (result) return result;
  Error e = std::move(result).error();
  if (e.get("stage") != std::optional<std::string_view>("config")) {
    if (auto inner = e.get("stage")) e.with("step", std::string(*inner));
    e.with("stage", "start");
  }
  return std::move(e.with("part", part));
}

}  // namespace

Node::~Node() {
  // The engine's shutdown first: it kills a nix eval or build in flight, so a plant that a
  // front end is waiting on returns now ("seedd is shutting down") instead of after its
  // build. Then the front ends (they call into the engine), then the engine itself.
  if (engine) engine->shutdown();
  api.reset();
  if (ssh) ssh->stop();
  ssh.reset();
  control.reset();
  engine.reset();
  if (ingress) ingress->stop();
  if (dns) dns->stop();
}

Result<std::unique_ptr<Node>> start_node(const Config& config) {
  auto node = std::make_unique<Node>();
  const std::string state = config.runner.state_dir;
  const std::string run = config.runner.runtime_dir;
  std::error_code ec;
  fs::create_directories(state, ec);
  fs::create_directories(run, ec);

  reconcile::EngineParts parts;
  net::NetworkConfig nc;
  nc.bridge = config.node.network.bridge;
  nc.subnet = config.node.network.subnet;
  nc.subnet6 = config.node.network.ipv6_prefix;
  nc.public_addresses = config.node.public_addresses;
  // The guest HTTP listener (ACME facade, shoot) is api.port on the bridge address
  // (start_api below); the firewall lets guests reach it there and nowhere else.
  nc.guest_api_port = static_cast<uint16_t>(config.node.api_port);
  nc.egress = config.node.network.egress;
  nc.state_file = state + "/addresses.json";
  parts.network = SEED_TRY(starting("network", net::Network::open(nc)));
  if (config.node.storage.backend == "lvm") {
    parts.volumes = std::make_unique<storage::LvmDriver>(
        storage::LvmDriverConfig{config.node.storage.volume_group, "", state + "/volumes"},
        std::make_unique<storage::SystemRunner>());
  } else {
    parts.volumes = std::make_unique<storage::FileDriver>(
        storage::FileDriverConfig{config.node.storage.directory, state + "/volumes"},
        std::make_unique<storage::SystemRunner>());
  }
  log::info("node.storage", {{"driver", parts.volumes->info().name}});
  tpm::TpmSettings ts;
  ts.state_root = state + "/tpm";
  ts.run_root = run + "/tpm";
  ts.ca_dir = state + "/tpm-ca";
  parts.tpms = std::make_unique<tpm::TpmManager>(ts);
  parts.vm_driver = SEED_TRY(starting("vm driver", vmm::make_driver(config.driver)));
  parts.runner = config.runner;
  parts.nix.env = config.nix_env;
  parts.nix.flake_registry = config.node.eval.flake_registry;
  if (!config.node.eval.user.empty()) {
    // Unprivileged evaluation through the nix daemon, which builds in its sandbox.
    const passwd* pw = ::getpwnam(config.node.eval.user.c_str());
    if (pw == nullptr) {
      return make_error(Errc::invalid_argument, "eval.user '" + config.node.eval.user + "' does not exist")
          .with("stage", "config")
          .with("hint", "create the user (the NixOS host module does) or leave eval.user empty");
    }
    parts.nix.uid = pw->pw_uid;
    parts.nix.gid = pw->pw_gid;
    parts.nix.env.push_back("NIX_REMOTE=daemon");
    parts.nix.env.push_back("HOME=" + std::string(pw->pw_dir));
  }

  const std::string gateway = parts.network->pool_config().gateway.str();
  const std::string domain = config.node.domain.empty() ? "seed.local" : config.node.domain;
  net::dns::ZoneConfig zc;
  zc.domain = domain;
  zc.nameservers = {{"ns1." + domain, config.node.public_addresses.empty() ? gateway : config.node.public_addresses[0], ""}};
  // seedd's own names (public_routes) point at the node, where the ingress routes them to it.
  for (const auto& [host, backend] : public_routes(domain, static_cast<uint16_t>(config.node.api_public_port))) {
    if (config.node.public_addresses.empty()) zc.hosts.push_back({host, gateway, ""});
    for (const auto& a : config.node.public_addresses) {
      const bool v6 = a.find(':') != std::string::npos;
      zc.hosts.push_back({host, v6 ? "" : a, v6 ? a : ""});
    }
  }
  node->zone = SEED_TRY(starting("dns zone", net::dns::ZoneStore::create(zc)));
  net::dns::ServerConfig dc = config.dns;
  dc.public_listen = config.listen.dns.empty() ? on_each(config.node.public_addresses, "53") : config.listen.dns;
  dc.guest_listen = {gateway + ":53"};
  SEED_TRY(starting("bridge", parts.network->ensure_bridge()));  // the guest listener binds the bridge address
  node->dns = SEED_TRY(starting("dns", net::dns::Server::start(dc, *node->zone)));

  net::ingress::ServerConfig ic = config.ingress;
  const auto http = config.listen.http.empty() ? on_each(config.node.public_addresses, "80") : config.listen.http;
  const auto https = config.listen.https.empty() ? on_each(config.node.public_addresses, "443") : config.listen.https;
  for (auto [entries, public_port, protocol] : {std::tuple{&http, uint16_t{80}, net::ingress::Protocol::http},
                                                 std::tuple{&https, uint16_t{443}, net::ingress::Protocol::tls}}) {
    auto listeners = SEED_TRY(starting("ingress", ingress_listeners(*entries, public_port, protocol)));
    ic.listeners.insert(ic.listeners.end(), listeners.begin(), listeners.end());
  }
  if (!ic.listeners.empty()) node->ingress = SEED_TRY(starting("ingress", net::ingress::Server::start(ic)));

  parts.zone = node->zone.get();
  parts.ingress = node->ingress.get();
  reconcile::EngineConfig ec_;
  ec_.state_dir = state;
  ec_.runtime_dir = run;
  ec_.domain = domain;
  ec_.with_tpm = config.tpm;
  ec_.stop_grace = std::chrono::seconds(config.stop_timeout_s);
  ec_.acme_url = guest_acme_url(gateway, nc.guest_api_port);
  const auto& shoot = config.node.shoot;
  if (!shoot.kernel.empty()) {
    auto& sc = ec_.shoots;
    sc.pool.dir = state + "/shoot-templates";  // kept across restarts (docs/shoots.md)
    sc.pool.image = {shoot.kernel, shoot.initrd, shoot.cmdline};
    for (const auto& t : shoot.tiers) {
      sc.pool.tiers.push_back({{t.name, static_cast<unsigned>(t.vcpus), t.memory_mib}, static_cast<unsigned>(t.pool)});
    }
    sc.pool.max_vms = static_cast<unsigned>(shoot.max_vms);
    sc.pool.max_memory_mib = shoot.max_memory_mib;
    sc.gate = {static_cast<unsigned>(shoot.per_instance), static_cast<unsigned>(shoot.node),
               static_cast<unsigned>(shoot.queue), std::chrono::milliseconds(shoot.max_wait_ms)};
    sc.max_timeout = std::chrono::milliseconds(shoot.max_timeout_ms);
    sc.output_cap = shoot.output_cap;
    sc.max_stdin = shoot.max_stdin;
    sc.url = guest_shoot_url(gateway, nc.guest_api_port);
  }
  ec_.node_routes = public_routes(domain, static_cast<uint16_t>(config.node.api_public_port));
  // On the https port only when the ingress listens on one (the ingress refuses routes for a
  // port it has no listener for; then seedd's names are plain HTTP only).
  if (!https.empty()) ec_.node_tls_routes = public_tls_routes(domain, static_cast<uint16_t>(config.node.api_public_port));
  node->engine = SEED_TRY(starting("engine", reconcile::Engine::open(ec_, std::move(parts))));
  SEED_TRY(starting("engine", node->engine->start()));
  ApiSettings as;
  as.guest_address = gateway;
  as.guest_port = nc.guest_api_port;
  as.admin_port = static_cast<uint16_t>(config.node.api_admin_port);
  as.public_port = static_cast<uint16_t>(config.node.api_public_port);
  as.domain = domain;
  as.state_dir = state;
  as.acme = config.node.acme;
  as.dns = node->dns.get();
  as.ingress = node->ingress.get();
  // A shoot holds its HTTP thread while it runs: enough threads that ACME is never starved.
  if (!shoot.kernel.empty()) as.limits.threads = std::max<unsigned>(as.limits.threads, static_cast<unsigned>(shoot.node) + 2);
  as.shoots = !shoot.kernel.empty();
  as.zone = node->zone.get();
  node->api = SEED_TRY(starting("api", start_api(as, *node->engine)));
  // The session audit: the SSH front end records every exec and console session into it,
  // `seedctl sessions` lists it.
  node->audit = std::make_unique<AuditLog>(state + "/sessions.audit.jsonl");
  control::ControlConfig cc = config.control;
  cc.audit = node->audit.get();
  if (config.node.acme.upstream == "internal") cc.ca_root_path = internal_ca_dir(state) + "/ca.pem";  // seedctl ca
  node->control = SEED_TRY(starting("control socket", control::start_control_server(cc, *node->engine)));
  if (config.node.ssh_port != 0) {
    sshcli::ServerConfig sc = config.ssh;  // its limits
    sc.listen_address = config.ssh_listen;
    sc.port = static_cast<uint16_t>(config.node.ssh_port);
    sc.host_key_dir = state + "/ssh";
    sc.silo_root = state + "/silo";  // where the engine resolves silo:NAME too
    sc.audit = node->audit.get();
    // `webhook <repo>` prints this URL only when forges can reach it (the public listener).
    if (config.node.api_public_port != 0) sc.webhook_base_url = webhook_base_url(domain, config.node.acme.upstream == "acme");
    node->ssh = std::make_unique<sshcli::Server>();
    SEED_TRY(starting("ssh", node->ssh->start(sc, *node->engine)));
  }
  return node;
}

}  // namespace seed
