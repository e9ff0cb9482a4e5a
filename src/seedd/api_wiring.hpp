// seedd's HTTP API, wired (DESIGN.md §11): the guest listener on the bridge address (the ACME
// facade, whose callers are looked up through reconcile's Service by source address), the
// public listener on loopback behind the ingress (webhooks; Silo on the web), reached by Host
// as silo.<domain> and hooks.<domain>, and the admin listener on loopback (/healthz, /metrics,
// the status page and JSON API: docs/api.md). seedd binds every socket itself, so a busy port
// is one start error naming the listener and the address.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "api/acme/challenge_records.hpp"
#include "api/acme/facade.hpp"
#include "api/admin/admin_routes.hpp"
#include "api/admin/usage_history.hpp"
#include "api/acme/issuer.hpp"
#include "api/http_server.hpp"
#include "api/shoot/shoot_routes.hpp"
#include "api/tls/cert_keeper.hpp"
#include "api/tls/tls_credentials.hpp"
#include "api/webhook/webhook_routes.hpp"
#include "common/error.hpp"
#include "reconcile/service.hpp"
#include "seedd/node_config.hpp"
#include "seedd/node_metrics.hpp"

namespace seed {

struct ApiSettings {
  std::string guest_address;  // the bridge's IPv4 address (the guests' gateway)
  uint16_t guest_port = 0;    // api.port (0 = any, for tests)
  uint16_t admin_port = 0;    // api.admin_port on 127.0.0.1; 0 = no admin listener
  uint16_t public_port = 0;   // api.public_port on 127.0.0.1 (the ingress forwards to it); 0 = none
  std::string domain;         // the node's zone
  std::string state_dir;      // the CA (acme-ca/) and the facade's accounts and orders
  NodeConfig::Acme acme;
  api::HttpLimits limits;
  // What /metrics collects besides the engine (absent parts are left out).
  const net::dns::Server* dns = nullptr;
  // Also where the public listener takes its connections from (kPublicLocalBackend).
  net::ingress::Server* ingress = nullptr;
  bool shoots = false;  // POST /shoot on the guest listener
  // Where ACME mode publishes DNS-01 TXT and the apex CAA (required for acme.upstream "acme").
  net::dns::ZoneStore* zone = nullptr;
  // Tests only: seedd's own certificate's lifetime with the internal CA (0 = acme.leaf_days,
  // as the guests' leaves), so a test sees it renewed and swapped within seconds.
  std::chrono::seconds own_certificate_lifetime{0};
};

// The URL instances find in SEED_ACME_URL: the facade's directory on the guest listener, by
// the bridge's IP literal (Caddy accepts a plain-HTTP directory only on an internal IP).
std::string guest_acme_url(const std::string& guest_address, uint16_t port);

// The URL instances with shoots on find in SEED_SHOOT_URL: the guest listener's base; they
// POST to $SEED_SHOOT_URL/shoot.
std::string guest_shoot_url(const std::string& guest_address, uint16_t port);
// seedd's own hostnames, which the ingress routes to the public listeners (by Host on the http
// port, by SNI on the https port): silo.<domain> (Silo on the web) and hooks.<domain> (where
// forges deliver webhooks). One label under the domain, so no instance (<name>.<ns>.<domain>)
// can take them.
std::string silo_host(const std::string& domain);
std::string webhook_host(const std::string& domain);
// The routes go to the ingress's local backend of this name: the public listener registers it
// and takes each connection over a socketpair with the client's address (the loopback port is
// the fallback while seedd starts, before the listener is registered).
inline constexpr const char* kPublicLocalBackend = "seedd.public";
std::map<std::string, net::ingress::BackendAddr> public_routes(const std::string& domain, uint16_t public_port);
// The same names on the https port, by SNI, to the TLS side of the public listener: the
// ingress hands the still-encrypted connection over to this local backend and seedd ends TLS
// with its own certificate (docs/api.md). While it is not registered (a moment at start) the
// fallback is the plain public port, where such a handshake fails: never another backend.
inline constexpr const char* kPublicTlsLocalBackend = "seedd.public-tls";
std::map<std::string, net::ingress::BackendAddr> public_tls_routes(const std::string& domain, uint16_t public_port);
// Where seedd keeps its own certificate (cert.pem, key.pem: 0600).
std::string own_certificate_dir(const std::string& state_dir);
// What `ssh <node> webhook <repo>` prints before /webhook/<id>: https in ACME mode (a publicly
// trusted certificate, which forges verify), http with the internal CA (whose root forges do
// not have; both schemes are served either way).
std::string webhook_base_url(const std::string& domain, bool https);

// Where the internal CA keeps ca.key (0600) and ca.pem; `seedctl ca` reads ca.pem there.
std::string internal_ca_dir(const std::string& state_dir);

// Where ACME mode keeps its upstream account (account.key 0600, account.json) and orders.
std::string upstream_acme_dir(const std::string& state_dir);

// The DNS server's narrow ACME record interface over the zone store (DESIGN.md §3).
std::unique_ptr<api::acme::ChallengeRecords> zone_challenge_records(net::dns::ZoneStore& zone);

// THE factory of the facade's upstream: the internal CA for acme.upstream "internal"; for
// "acme" seedd's own ACME client of acme.directory, answering DNS-01 through `records`
// (which must outlive the issuer).
Result<std::unique_ptr<api::acme::Issuer>> make_issuer(const NodeConfig::Acme& acme, const std::string& state_dir,
                                                       const std::string& domain,
                                                       api::acme::ChallengeRecords* records);

struct Api {
  std::unique_ptr<api::acme::ChallengeRecords> records;  // ACME mode's TXT/CAA, over the zone
  std::unique_ptr<api::acme::Issuer> issuer;
  std::unique_ptr<api::acme::Issuer> own_issuer;  // tests only: ApiSettings::own_certificate_lifetime
  std::unique_ptr<api::acme::AcmeFacade> facade;
  std::unique_ptr<api::admin::UsageHistory> usage;  // the status page's CPU/memory samples
  std::unique_ptr<api::admin::AdminRoutes> admin;
  std::unique_ptr<api::shoot::ShootRoutes> shoot;   // when ApiSettings::shoots
  std::unique_ptr<seedd::NodeMetrics> metrics;      // collectors on metrics::global()
  std::unique_ptr<api::webhook::WebhookRoutes> webhooks;  // on the public listeners
  std::shared_ptr<api::tls::TlsCredentials> tls;  // what the public TLS listener serves
  std::unique_ptr<api::tls::CertKeeper> own_certificate;  // feeds `tls`; uses `issuer`
  net::ingress::Server* handoff = nullptr;    // where kPublicLocalBackend (and the TLS one) are registered
  std::unique_ptr<api::HttpServer> server;  // declared last: stopped first
  uint16_t guest_port = 0;                  // as bound
  uint16_t admin_port = 0;
  uint16_t public_port = 0;
  ~Api();
};

// Binds the listeners, opens the issuer and the facade and starts the server. Errors carry
// stage "start" (or "config" for a bad acme section) and name what failed; nothing is left
// running or bound.
Result<std::unique_ptr<Api>> start_api(const ApiSettings& settings, reconcile::Service& service);

}  // namespace seed
