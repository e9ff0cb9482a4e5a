// Tests and bench only: the part of seedd that ACME mode is made of, in a process of its own so
// a test can kill -9 it mid-order and start it again on the same state directory. It wires
// what seedd's start_node wires for ACME (seedd/api_wiring's make_issuer and
// zone_challenge_records over a real ZoneStore, the real DNS server, the facade on a real
// HTTP listener), on loopback: the caller lookup maps 127.0.0.1 to one instance "team/web"
// with the names given, standing in for the engine's bridge addresses (the acme-e2e test
// shows the engine's lookup with guests on the bridge).
//
//   acme_node STATE_DIR ZONE DNS_PORT API_PORT DIRECTORY_URL CA_FILE NAME[,NAME…]
//
// Runs until killed. Prints "ready" on stdout once both listeners answer.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "api/acme/facade.hpp"
#include "api/http_server.hpp"
#include "api/testing/listen.hpp"
#include "net/dns/server.hpp"
#include "net/dns/zone_store.hpp"
#include "seedd/api_wiring.hpp"

using namespace seed;

int main(int argc, char** argv) {
  if (argc != 8) {
    std::cerr << "usage: acme_node STATE_DIR ZONE DNS_PORT API_PORT DIRECTORY_URL CA_FILE NAME[,NAME...]\n";
    return 2;
  }
  const std::string state = argv[1], zone_name = argv[2], dns_port = argv[3], directory = argv[5], ca_file = argv[6];
  const uint16_t api_port = static_cast<uint16_t>(std::stoi(argv[4]));
  std::vector<std::string> names;
  std::stringstream list(argv[7]);
  for (std::string n; std::getline(list, n, ',');) names.push_back(n);
  auto fail = [](const Error& e) {
    std::cerr << "acme_node: " << e.describe() << "\n";
    return 1;
  };

  net::dns::ZoneConfig zc;
  zc.domain = zone_name;
  zc.nameservers = {{"ns1." + zone_name, "127.0.0.1", ""}};
  auto zone = net::dns::ZoneStore::create(zc);
  if (!zone) return fail(zone.error());
  net::dns::ServerConfig dc;
  dc.public_listen = {"127.0.0.1:" + dns_port};
  auto dns = net::dns::Server::start(dc, **zone);
  if (!dns) return fail(dns.error());

  NodeConfig::Acme acme;
  acme.upstream = "acme";
  acme.directory = directory;
  acme.ca_file = ca_file;
  acme.email = "ops@example.org";
  auto records = zone_challenge_records(**zone);
  auto issuer = make_issuer(acme, state, zone_name, records.get());
  if (!issuer) return fail(issuer.error());

  uint16_t bound = api_port;
  UniqueFd socket = api_port == 0 ? api::testing::listen_on("127.0.0.1", &bound) : UniqueFd();
  if (api_port != 0) {
    // A fixed port: the same URL before and after a kill -9, as a guest's client keeps it.
    auto at = net::dns::parse_endpoint("127.0.0.1:" + std::to_string(api_port));
    auto fd = net::dns::bind_tcp(*at, 64);
    if (!fd) return fail(fd.error());
    socket = std::move(*fd);
  }
  api::acme::FacadeConfig fc;
  fc.base_url = "http://127.0.0.1:" + std::to_string(bound);
  fc.state_file = state + "/acme-facade.json";
  fc.zone = zone_name;
  api::acme::CallerLookup lookup = [names](const std::string& source) -> Result<api::acme::AcmeCaller> {
    if (source == "127.0.0.1") return api::acme::AcmeCaller{"team/web", names, true};
    return make_error(Errc::not_found, "no instance");
  };
  auto facade = api::acme::AcmeFacade::open(fc, lookup, **issuer);
  if (!facade) return fail(facade.error());
  api::Router routes;
  (*facade)->add_routes(routes);
  std::vector<api::Listener> listeners;
  listeners.push_back({"guest", std::move(socket), std::move(routes)});
  auto server = api::HttpServer::start(std::move(listeners), api::HttpLimits{});
  if (!server) return fail(server.error());
  std::cout << "ready " << bound << std::endl;

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  (*server)->stop();
  return 0;
}
