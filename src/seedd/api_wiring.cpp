#include "seedd/api_wiring.hpp"

#include <chrono>

#include "api/acme/internal_ca.hpp"
#include "api/acme/upstream_issuer.hpp"
#include "api/silo_web/silo_web.hpp"
#include "common/log.hpp"
#include "net/dns/endpoint.hpp"
#include "net/dns/zone_store.hpp"

namespace seed {
namespace {

// A listening, non-blocking TCP socket on address:port (net::dns::bind_tcp, seedd's one TCP
// binder), or one error naming the listener and the config key to change.
Result<UniqueFd> listen_tcp(const char* listener, const std::string& address, uint16_t port, const char* hint) {
  const std::string where = address + ":" + std::to_string(port);
  auto at = net::dns::parse_endpoint(where);
  if (!at) {
    return make_error(Errc::invalid_argument, std::string("the HTTP API's ") + listener + " listener: '" + address +
                                                  "' is not an IP address");
  }
  auto fd = net::dns::bind_tcp(*at, 128);
  if (!fd) {
    return make_error(fd.error().code, std::string("the HTTP API's ") + listener + " listener cannot listen on " +
                                           where + " (" + fd.error().message + ")")
        .with("address", where)
        .with("hint", hint);
  }
  return std::move(*fd);
}

uint16_t bound_port(int fd) {
  auto at = net::dns::local_endpoint(fd);
  return at ? at->port() : 0;
}

// The facade's CallerLookup through reconcile's Service: the instance owning the address.
api::acme::CallerLookup callers_of(reconcile::Service& service) {
  return [&service](const std::string& source) -> Result<api::acme::AcmeCaller> {
    auto owner = SEED_TRY(service.instance_by_address(source));
    return api::acme::AcmeCaller{owner.id.str(), std::move(owner.names), owner.acme};
  };
}

class ZoneChallengeRecords final : public api::acme::ChallengeRecords {
 public:
  explicit ZoneChallengeRecords(net::dns::ZoneStore& zone) : zone_(zone) {}
  Status set_txt(const std::string& owner, const std::string& value) override {
    return zone_.set_acme_challenge(owner, value);
  }
  Status clear_txt(const std::string& owner, const std::string& value) override {
    return zone_.clear_acme_challenge(owner, value);
  }
  Status set_caa(const std::string& issuer_domain, const std::string& account_uri) override {
    return zone_.set_caa(net::dns::caa_for_account(issuer_domain, account_uri));
  }

 private:
  net::dns::ZoneStore& zone_;
};

// The webhook routes' targets through reconcile's Service.
api::webhook::WebhookTargets webhook_targets(reconcile::Service& service) {
  api::webhook::WebhookTargets t;
  t.secret = [&service](const std::string& hook) -> std::optional<std::string> {
    auto secret = service.webhook_secret(hook);
    if (secret) return *secret;
    // A store that cannot answer refuses the delivery (401); the forge retries later.
    log::warn("webhook.lookup_failed", {{"error", secret.error().describe()}});
    return std::nullopt;
  };
  t.trigger = [&service](const std::string& hook, const std::string& because) {
    return service.trigger_webhook(hook, because);
  };
  return t;
}

}  // namespace

std::unique_ptr<api::acme::ChallengeRecords> zone_challenge_records(net::dns::ZoneStore& zone) {
  return std::make_unique<ZoneChallengeRecords>(zone);
}

std::string upstream_acme_dir(const std::string& state_dir) { return state_dir + "/acme-upstream"; }

std::string silo_host(const std::string& domain) { return "silo." + domain; }
std::string webhook_host(const std::string& domain) { return "hooks." + domain; }

std::map<std::string, net::ingress::BackendAddr> public_routes(const std::string& domain, uint16_t public_port) {
  if (public_port == 0) return {};
  const net::ingress::BackendAddr to_public{"127.0.0.1", public_port, kPublicLocalBackend};
  return {{silo_host(domain), to_public}, {webhook_host(domain), to_public}};
}

std::map<std::string, net::ingress::BackendAddr> public_tls_routes(const std::string& domain, uint16_t public_port) {
  if (public_port == 0) return {};
  const net::ingress::BackendAddr to_tls{"127.0.0.1", public_port, kPublicTlsLocalBackend};
  return {{silo_host(domain), to_tls}, {webhook_host(domain), to_tls}};
}

std::string own_certificate_dir(const std::string& state_dir) { return state_dir + "/own-tls"; }

std::string webhook_base_url(const std::string& domain, bool https) {
  return (https ? "https://" : "http://") + webhook_host(domain);
}

std::string guest_acme_url(const std::string& guest_address, uint16_t port) {
  return "http://" + guest_address + ":" + std::to_string(port) + "/acme/directory";
}

std::string guest_shoot_url(const std::string& guest_address, uint16_t port) {
  return "http://" + guest_address + ":" + std::to_string(port);
}

std::string internal_ca_dir(const std::string& state_dir) { return state_dir + "/acme-ca"; }

Result<std::unique_ptr<api::acme::Issuer>> make_issuer(const NodeConfig::Acme& acme, const std::string& state_dir,
                                                       const std::string& domain,
                                                       api::acme::ChallengeRecords* records) {
  if (acme.upstream == "internal") {
    api::acme::InternalCaConfig cc;
    cc.dir = internal_ca_dir(state_dir);
    cc.domain = domain;
    cc.leaf_lifetime = std::chrono::hours(24 * acme.leaf_days);
    auto ca = SEED_TRY(api::acme::InternalCa::open(cc));
    return std::unique_ptr<api::acme::Issuer>(std::move(ca));
  }
  if (acme.upstream != "acme" || records == nullptr) {
    return make_error(Errc::invalid_argument, "acme.upstream \"" + acme.upstream + "\" needs a DNS zone to answer DNS-01 in")
        .with("stage", "config")
        .with("hint", "set acme.upstream to \"acme\" or \"internal\" (services.seed.acme.upstream)");
  }
  api::acme::UpstreamConfig uc;
  uc.directory_url = acme.directory;
  uc.state_dir = upstream_acme_dir(state_dir);
  uc.email = acme.email;
  uc.ca_file = acme.ca_file;
  auto upstream = SEED_TRY(api::acme::UpstreamIssuer::open(uc, *records));
  return std::unique_ptr<api::acme::Issuer>(std::move(upstream));
}

Api::~Api() {
  if (handoff) {  // each waits for a handover in progress
    handoff->set_local_backend(kPublicLocalBackend, nullptr);
    handoff->set_local_backend(kPublicTlsLocalBackend, nullptr);
  }
  if (server) server->stop();
}

Result<std::unique_ptr<Api>> start_api(const ApiSettings& s, reconcile::Service& service) {
  auto out = std::make_unique<Api>();
  UniqueFd guest = SEED_TRY(listen_tcp("guest", s.guest_address, s.guest_port,
                                       "another program holds the port on the bridge address: choose another "
                                       "api.port (services.seed.api.port)"));
  out->guest_port = bound_port(guest.get());
  UniqueFd admin;
  if (s.admin_port != 0) {
    admin = SEED_TRY(listen_tcp("admin", "127.0.0.1", s.admin_port,
                                "another program holds the port on loopback: choose another api.admin_port "
                                "(services.seed.api.adminPort), or 0 to turn the admin listener off"));
    out->admin_port = bound_port(admin.get());
  }
  if (s.zone != nullptr) out->records = zone_challenge_records(*s.zone);
  UniqueFd pub;
  if (s.public_port != 0) {
    pub = SEED_TRY(listen_tcp("public", "127.0.0.1", s.public_port,
                              "another program holds the port on loopback: choose another api.public_port "
                              "(services.seed.api.publicPort), or 0 to turn webhooks and Silo on the web off"));
    out->public_port = bound_port(pub.get());
  }
  out->issuer = SEED_TRY(make_issuer(s.acme, s.state_dir, s.domain, out->records.get()));
  if (pub && s.acme.upstream == "internal" && s.own_certificate_lifetime.count() > 0) {
    // Tests only (ApiSettings::own_certificate_lifetime): seedd's own names from a second
    // handle on the same CA (same root) with a lifetime of seconds.
    api::acme::InternalCaConfig cc;
    cc.dir = internal_ca_dir(s.state_dir);
    cc.domain = s.domain;
    cc.leaf_lifetime = s.own_certificate_lifetime;
    auto short_lived = SEED_TRY(api::acme::InternalCa::open(cc));
    out->own_issuer = std::move(short_lived);
  }
  api::acme::FacadeConfig fc;
  fc.base_url = "http://" + s.guest_address + ":" + std::to_string(out->guest_port);
  fc.state_file = s.state_dir + "/acme-facade.json";
  fc.zone = s.domain;
  out->facade = SEED_TRY(api::acme::AcmeFacade::open(fc, callers_of(service), *out->issuer));

  std::vector<api::Listener> listeners;
  api::Router guest_routes;
  out->facade->add_routes(guest_routes);
  if (s.shoots) {
    out->shoot = std::make_unique<api::shoot::ShootRoutes>(api::shoot::targets_of(service));
    out->shoot->add_routes(guest_routes);
  }
  listeners.push_back({"guest", std::move(guest), std::move(guest_routes)});
  if (pub) {
    // The ingress forwards silo.<domain> and hooks.<domain> here (public_routes), and on the
    // https port to the TLS side (public_tls_routes): the same routes on both, each listener
    // with its own Router. The webhook routes go first: the router takes the first match, so
    // POST /webhook/<id> is a delivery even if a Silo repository is called "webhook" (its
    // pages still answer; docs/api.md).
    out->webhooks = std::make_unique<api::webhook::WebhookRoutes>(webhook_targets(service));
    auto routes_for = [&](const std::string& scheme) {
      api::Router r;
      out->webhooks->add_routes(r);
      api::silo_web::add_silo_web_routes(r, {.root = s.state_dir + "/silo", .clone_base = scheme + silo_host(s.domain)});
      return r;
    };
    listeners.push_back({"public", std::move(pub), routes_for("http://")});
    // No socket of its own: its connections only come from the ingress (add_connection).
    out->tls = std::make_shared<api::tls::TlsCredentials>();
    listeners.push_back({"public-tls", UniqueFd(), routes_for("https://"), out->tls});
  }
  if (admin) {
    api::Router admin_routes;
    admin_routes.add("GET", "/healthz", [](const api::Request&) {
      api::Response r;
      r.content_type = "text/plain";
      r.body = "ok\n";
      return r;
    });
    out->usage = std::make_unique<api::admin::UsageHistory>();
    out->admin = std::make_unique<api::admin::AdminRoutes>(service, metrics::global(), *out->usage);
    out->admin->add_routes(admin_routes);
    listeners.push_back({"admin", std::move(admin), std::move(admin_routes)});
  }
  out->server = SEED_TRY(api::HttpServer::start(std::move(listeners), s.limits));
  if (out->tls) {
    // Once everything else is up (a start error leaves no certificate order behind): the
    // stored certificate is served from here on, or the first order starts.
    api::tls::CertKeeperConfig kc;
    kc.dir = own_certificate_dir(s.state_dir);
    kc.names = {silo_host(s.domain), webhook_host(s.domain)};
    kc.issuer_id = s.acme.upstream == "internal" ? "internal" : "acme " + s.acme.directory;
    if (out->own_issuer) kc.min_renewal_interval = std::chrono::seconds(1);  // tests: renewed within seconds
    out->own_certificate = SEED_TRY(api::tls::CertKeeper::start(
        kc, out->own_issuer ? *out->own_issuer : *out->issuer,
        [tls = out->tls](const std::string& chain, const std::string& key) {
          if (auto set = tls->set(chain, key); !set) {
            log::error("tls.certificate.unusable", {{"error", set.error().describe()}});
          }
        }));
  }
  if (s.ingress != nullptr && out->public_port != 0) {
    // The ingress hands silo.<domain> and hooks.<domain> over with the client's address, so the
    // per-source limits and the webhook log see each forge, not the ingress on loopback.
    out->handoff = s.ingress;
    s.ingress->set_local_backend(kPublicLocalBackend, [server = out->server.get()](UniqueFd fd, const sockaddr* client, socklen_t len) {
      return server->add_connection("public", std::move(fd), client, len);
    });
    // The same on the https port, still encrypted: the TLS side ends it with seedd's own
    // certificate and sees the client's address for its per-source limits too.
    s.ingress->set_local_backend(kPublicTlsLocalBackend, [server = out->server.get()](UniqueFd fd, const sockaddr* client, socklen_t len) {
      return server->add_connection("public-tls", std::move(fd), client, len);
    });
  }
  if (out->usage) {
    out->usage->start(service, std::chrono::seconds(10));
    out->metrics = std::make_unique<seedd::NodeMetrics>(
        metrics::global(), seedd::MetricSources{&service, s.dns, s.ingress, out->server.get()});
  }
  auto on_loopback = [](uint16_t port) { return port ? "127.0.0.1:" + std::to_string(port) : std::string("off"); };
  log::info("api.listening", {{"guest", fc.base_url},
                              {"public", on_loopback(out->public_port)},
                              {"admin", on_loopback(out->admin_port)},
                              {"acme_upstream", s.acme.upstream}});
  return out;
}

}  // namespace seed
