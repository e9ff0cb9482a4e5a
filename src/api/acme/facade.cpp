#include "api/acme/facade.hpp"

#include <openssl/rand.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>

#include "api/acme/base64url.hpp"
#include "api/acme/jws.hpp"
#include "api/acme/key_change.hpp"
#include "api/acme/order_request.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"

namespace seed::api::acme {

using json = nlohmann::json;

namespace {

constexpr int64_t kOrderLifetime = 7 * 86400;

// seed_acme_orders_total{outcome}: created (newOrder accepted), refused (a name the caller may
// not order, a wildcard, a malformed request), issued (the certificate is in), failed (the
// issuer, e.g. the upstream CA, gave the order up).
void count_order(const char* outcome) {
  metrics::global()
      .counter("seed_acme_orders_total", "ACME orders by outcome (created, refused, issued, failed).", {{"outcome", outcome}})
      .inc();
}

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string rfc3339(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Resource ids: 12 random bytes. Challenge tokens: 32 (RFC 8555 §8.1 asks for at least 128
// bits; certbot refuses a token that decodes to fewer than 16 bytes).
std::string random_id(size_t bytes = 12) {
  unsigned char raw[32];
  bytes = std::min(bytes, sizeof raw);
  if (RAND_bytes(raw, int(bytes)) != 1) throw std::runtime_error("OpenSSL's RAND_bytes failed");
  return base64url_encode(std::string_view(reinterpret_cast<char*>(raw), bytes));
}

int status_for(const std::string& type) {
  if (type == "unauthorized" || type == "orderNotReady") return 403;
  if (type == "rateLimited") return 429;
  if (type == "serverInternal") return 500;
  if (type == "unsupportedMediaType") return 415;
  if (type == "notFound") return 404;
  return 400;
}

Response acme_problem(const std::string& type, std::string detail) {
  const std::string uri = type == "notFound" || type == "unsupportedMediaType" ? "about:blank"
                                                                                : "urn:ietf:params:acme:error:" + type;
  return problem(status_for(type), uri, std::move(detail));
}

Response from_error(const Error& e) {
  if (auto type = e.get("acme_type")) {
    Response r = acme_problem(std::string(*type), e.message);
    if (auto retry = e.get("retry_after")) r.with_header("Retry-After", std::string(*retry));
    return r;
  }
  log::error("acme.failed", {{"error", e.describe()}});
  return acme_problem("serverInternal", "seedd could not complete this request; the node owner finds why in seedd's log");
}

Response json_response(int status, const json& body) {
  Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

std::string spki_of_jwk(const json& jwk) {
  auto key = public_key_from_jwk(jwk);
  if (!key.ok()) return "";
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key->get(), &der);
  if (n <= 0) return "";
  std::string out(reinterpret_cast<char*>(der), size_t(n));
  OPENSSL_free(der);
  return out;
}

// The DER of a PEM chain's first certificate (the leaf), through OpenSSL; "" if unreadable.
std::string leaf_der(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
  X509* leaf = bio != nullptr ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  unsigned char* der = nullptr;
  const int n = leaf != nullptr ? i2d_X509(leaf, &der) : 0;
  X509_free(leaf);
  std::string out = n > 0 ? std::string(reinterpret_cast<char*>(der), size_t(n)) : "";
  OPENSSL_free(der);
  return out;
}

// The Issuer's problem as an RFC 8555 problem document (an order's or a challenge's "error").
json problem_json(const IssuerProblem& p) {
  json j{{"type", "urn:ietf:params:acme:error:" + p.type}, {"detail", p.detail}, {"status", status_for(p.type)}};
  return j;
}

// The guest may answer any of these (its client picks the one it has a solver for); seedd
// validates nothing toward the guest, so the answer only acknowledges.
const char* const kChallengeTypes[] = {"http-01", "dns-01", "tls-alpn-01"};

}  // namespace

// One authenticated POST: the verified JWS, the caller and (with `kid`) the account.
struct AcmeFacade::Call {
  const Request& request;
  Jws jws;
  AcmeCaller caller;
  Account* account = nullptr;  // null only for newAccount/revokeCert by jwk
  json payload;                // parsed, or null for POST-as-GET
};

AcmeFacade::AcmeFacade(FacadeConfig config, CallerLookup callers, Issuer& issuer, AcmeStore store)
    : config_(std::move(config)), callers_(std::move(callers)), issuer_(issuer), store_(std::move(store)) {}

Result<std::unique_ptr<AcmeFacade>> AcmeFacade::open(FacadeConfig config, CallerLookup callers, Issuer& issuer) {
  auto store = SEED_TRY(AcmeStore::load(config.state_file));
  return std::unique_ptr<AcmeFacade>(new AcmeFacade(std::move(config), std::move(callers), issuer, std::move(store)));
}

Response AcmeFacade::finish(Response r) {
  r.with_header("Replay-Nonce", nonces_.issue());
  r.with_header("Link", "<" + url("/acme/directory") + ">;rel=\"index\"");
  return r;
}

void AcmeFacade::add_routes(Router& router) {
  router.add("GET", "/acme/directory", [this](const Request&) { return finish(directory()); });
  router.add("HEAD", "/acme/new-nonce", [this](const Request&) {
    Response r;
    r.content_type.clear();
    return finish(std::move(r));
  });
  router.add("GET", "/acme/new-nonce", [this](const Request&) {
    Response r;
    r.status = 204;
    r.content_type.clear();
    return finish(std::move(r));
  });
  auto route = [&](const char* path, bool jwk_allowed, Response (AcmeFacade::*method)(Call&)) {
    router.add("POST", path, [this, jwk_allowed, method](const Request& r) {
      return post(r, jwk_allowed, [this, method](Call& c) { return (this->*method)(c); });
    });
  };
  route("/acme/new-account", true, &AcmeFacade::new_account);
  route("/acme/acct/*", false, &AcmeFacade::account);
  route("/acme/acct/*/orders", false, &AcmeFacade::account_orders);
  route("/acme/new-order", false, &AcmeFacade::new_order);
  route("/acme/order/*", false, &AcmeFacade::order);
  route("/acme/order/*/finalize", false, &AcmeFacade::finalize);
  route("/acme/authz/*", false, &AcmeFacade::authorization);
  route("/acme/chall/*/*", false, &AcmeFacade::challenge);
  route("/acme/cert/*", false, &AcmeFacade::certificate);
  route("/acme/cert/*/*", false, &AcmeFacade::alternate);
  route("/acme/revoke-cert", false, &AcmeFacade::revoke);
  route("/acme/key-change", false, &AcmeFacade::key_change);
}

Response AcmeFacade::directory() {
  return json_response(200, {{"newNonce", url("/acme/new-nonce")},
                             {"newAccount", url("/acme/new-account")},
                             {"newOrder", url("/acme/new-order")},
                             {"revokeCert", url("/acme/revoke-cert")},
                             {"keyChange", url("/acme/key-change")},
                             {"meta", {{"externalAccountRequired", false}}}});
}

Response AcmeFacade::post(const Request& request, bool jwk_allowed, const PostHandler& handler) {
  auto fail = [&](const std::string& type, std::string detail) { return finish(acme_problem(type, std::move(detail))); };
  if (request.header("content-type") != "application/jose+json") {
    return fail("unsupportedMediaType", "ACME requests are sent as application/jose+json");
  }
  auto caller = callers_(request.source);
  if (!caller.ok()) {
    return fail("unauthorized", "no instance of this node sends from " + request.source +
                                    "; the ACME endpoint serves this node's instances only");
  }
  if (!caller->acme_enabled) {
    return fail("unauthorized", "ACME is turned off for this instance; set seed.acme = true (or remove "
                                "acme = false) in its module and push to use " + url("/acme/directory"));
  }
  auto jws = parse_jws(request.body);
  if (!jws.ok()) return finish(from_error(jws.error()));
  if (!nonces_.consume(jws->nonce)) {
    return fail("badNonce", "the nonce was used before, has expired or was not issued here; retry with the "
                            "Replay-Nonce of this answer");
  }
  if (jws->url != url(request.path)) {
    return fail("unauthorized", "the JWS url " + jws->url + " is not the URL this request was sent to (" +
                                    url(request.path) + ")");
  }
  Call call{request, std::move(*jws), std::move(*caller), nullptr, nullptr};
  std::lock_guard lock(mu_);
  json key;
  if (call.jws.jwk) {
    if (!jwk_allowed) return fail("malformed", "this request must name its account with \"kid\", not \"jwk\"");
    key = *call.jws.jwk;
  } else {
    const std::string prefix = url("/acme/acct/");
    const std::string& kid = *call.jws.kid;
    auto it = kid.rfind(prefix, 0) == 0 ? store_.accounts.find(kid.substr(prefix.size())) : store_.accounts.end();
    // An account of another instance is as unknown as one that never existed.
    if (it == store_.accounts.end() || it->second.owner != call.caller.instance) {
      return fail("accountDoesNotExist", "no account " + kid + " exists for this instance; register with newAccount");
    }
    if (it->second.status != "valid") return fail("unauthorized", "the account " + kid + " is deactivated");
    call.account = &it->second;
    key = it->second.jwk;
  }
  auto pkey = public_key_from_jwk(key);
  if (!pkey.ok()) return finish(from_error(pkey.error()));
  if (auto st = verify_jws(call.jws, pkey->get()); !st) return finish(from_error(st.error()));
  if (!call.jws.post_as_get) {
    call.payload = json::parse(call.jws.payload, nullptr, false);
    if (call.payload.is_discarded() || !call.payload.is_object()) {
      return fail("malformed", "the JWS payload is not a JSON object");
    }
  }
  try {
    return finish(handler(call));
  } catch (const json::exception& e) {
    return fail("malformed", std::string("the request's JSON has a member of the wrong type: ") + e.what());
  }
}

Response AcmeFacade::new_account(Call& c) {
  auto thumbprint = jwk_thumbprint(*c.jws.jwk);
  if (!thumbprint.ok()) return from_error(thumbprint.error());
  const bool only_existing = c.payload.is_object() && c.payload.value("onlyReturnExisting", false);
  if (const Account* existing = store_.account_by_thumbprint(*thumbprint)) {
    if (existing->owner != c.caller.instance) {
      // The same key registered by another instance: refuse without saying whose it is.
      return acme_problem("unauthorized", "this key belongs to an account of another instance; use a key of your own");
    }
    Response r = json_response(200, {{"status", existing->status}, {"contact", existing->contact},
                                     {"orders", url("/acme/acct/" + existing->id + "/orders")}});
    return std::move(r.with_header("Location", url("/acme/acct/" + existing->id)));
  }
  if (only_existing) return acme_problem("accountDoesNotExist", "no account exists for this key");
  Account a;
  a.id = random_id();
  a.owner = c.caller.instance;
  a.jwk = *c.jws.jwk;
  a.thumbprint = *thumbprint;
  if (c.payload.is_object() && c.payload.contains("contact")) a.contact = c.payload["contact"].get<std::vector<std::string>>();
  store_.accounts[a.id] = a;
  if (auto st = store_.save(); !st) {
    store_.accounts.erase(a.id);
    return from_error(st.error());
  }
  log::info("acme.account.created", {{"instance", c.caller.instance}, {"account", a.id}});
  Response r = json_response(201, {{"status", a.status}, {"contact", a.contact}, {"orders", url("/acme/acct/" + a.id + "/orders")}});
  return std::move(r.with_header("Location", url("/acme/acct/" + a.id)));
}

Response AcmeFacade::account(Call& c) {
  if (c.request.params[0] != c.account->id) {
    return acme_problem("unauthorized", "a request about account " + c.request.params[0] + " must be signed by it");
  }
  if (c.payload.is_object()) {
    Account before = *c.account;
    if (c.payload.contains("contact")) c.account->contact = c.payload["contact"].get<std::vector<std::string>>();
    if (c.payload.contains("status")) {
      if (c.payload["status"] != "deactivated") return acme_problem("malformed", "an account's status can only be set to \"deactivated\"");
      c.account->status = "deactivated";
    }
    if (auto st = store_.save(); !st) {
      *c.account = before;
      return from_error(st.error());
    }
  }
  return json_response(200, {{"status", c.account->status}, {"contact", c.account->contact},
                             {"orders", url("/acme/acct/" + c.account->id + "/orders")}});
}

// The account moves to a new key (RFC 8555 §7.3.5): the outer JWS is signed by the current key
// (post() checked it), the inner one by the new key. From then on only the new key is the
// account's; the old one is unknown (a newAccount with it makes a new account).
Response AcmeFacade::key_change(Call& c) {
  if (c.jws.post_as_get) return acme_problem("malformed", "keyChange needs the inner JWS as its payload");
  auto change = decode_key_change(c.jws.payload, c.jws.url);
  if (!change.ok()) return from_error(change.error());
  const std::string account_url = url("/acme/acct/" + c.account->id);
  if (change->account != account_url) {
    return acme_problem("unauthorized", "keyChange's inner JWS names the account " + change->account +
                                            " but the request is signed by " + account_url);
  }
  if (change->old_thumbprint != c.account->thumbprint) {
    return acme_problem("unauthorized", "keyChange's oldKey is not the account's current key; put the key that "
                                        "signs the outer JWS there");
  }
  if (const Account* holder = store_.account_by_thumbprint(change->new_thumbprint)) {
    if (holder->owner != c.caller.instance) {
      // Another instance's key: refuse without saying whose account it is.
      return problem(409, "urn:ietf:params:acme:error:malformed",
                     "the new key belongs to an account of another instance; make a new key");
    }
    Response r = problem(409, "urn:ietf:params:acme:error:malformed",
                         "the new key is already the key of account " + url("/acme/acct/" + holder->id) +
                             "; make a new key for the rollover");
    return std::move(r.with_header("Location", url("/acme/acct/" + holder->id)));
  }
  const Account before = *c.account;
  c.account->jwk = change->new_jwk;
  c.account->thumbprint = change->new_thumbprint;
  if (auto st = store_.save(); !st) {
    *c.account = before;
    return from_error(st.error());
  }
  log::info("acme.account.key_changed", {{"instance", c.caller.instance}, {"account", c.account->id}});
  return json_response(200, {{"status", c.account->status}, {"contact", c.account->contact},
                             {"orders", url("/acme/acct/" + c.account->id + "/orders")}});
}

Response AcmeFacade::account_orders(Call& c) {
  if (c.request.params[0] != c.account->id) return acme_problem("unauthorized", "only the account itself may list its orders");
  json list = json::array();
  for (const auto& [id, o] : store_.orders) {
    if (o.account == c.account->id) list.push_back(url("/acme/order/" + id));
  }
  return json_response(200, {{"orders", list}});
}

json AcmeFacade::order_json(const Order& o) const {
  json ids = json::array(), authz = json::array();
  for (const auto& n : o.names) ids.push_back({{"type", "dns"}, {"value", n}});
  for (const auto& a : o.authorizations) authz.push_back(url("/acme/authz/" + a));
  json j{{"status", o.status}, {"expires", rfc3339(o.expires)}, {"identifiers", ids},
         {"authorizations", authz}, {"finalize", url("/acme/order/" + o.id + "/finalize")}};
  if (!o.certificate.empty()) j["certificate"] = url("/acme/cert/" + o.certificate);
  if (!o.error.is_null()) j["error"] = o.error;
  return j;
}

Response AcmeFacade::polled(Response r, const std::string& status) const {
  if (status == "pending" || status == "processing") r.with_header("Retry-After", "1");
  return r;
}

void AcmeFacade::refresh(Order& o) {
  if (o.status == "valid" || o.status == "invalid") return;
  const IssueState st = issuer_.state(o.upstream);
  const Order before_order = o;
  std::vector<Authorization> before_authz;
  bool changed = false;
  for (const auto& id : o.authorizations) {
    Authorization& a = store_.authorizations[id];
    before_authz.push_back(a);
    std::string status = a.status;
    if (st.authorized.count(a.name) || st.status == "ready" || st.status == "processing" || st.status == "valid") {
      status = "valid";
    } else if (st.status == "invalid") {
      status = "invalid";
    }
    changed |= status != a.status;
    a.status = status;
  }
  std::optional<Certificate> cert;
  if (st.status == "invalid") {
    o.status = "invalid";
    o.error = problem_json(st.problem.value_or(IssuerProblem{"serverInternal", "the order failed", ""}));
  } else if (st.status == "valid" && (o.status == "processing" || o.status == "ready")) {
    cert = Certificate{random_id(), o.id, st.chain, false, st.alternates};
    store_.certificates[cert->id] = *cert;
    o.certificate = cert->id;
    o.status = "valid";
  } else if (st.status == "processing" && o.status == "ready") {
    o.status = "processing";  // a finalize the facade had not saved before a restart
  } else if (o.status == "pending" && st.status == "ready") {
    o.status = "ready";
  }
  changed |= o.status != before_order.status;
  if (!changed) return;
  if (auto saved = store_.save(); !saved) {
    // Shown as before; the next poll tries again.
    log::error("acme.save_failed", {{"error", saved.error().describe()}});
    o = before_order;
    for (const auto& a : before_authz) store_.authorizations[a.id] = a;
    if (cert) store_.certificates.erase(cert->id);
    return;
  }
  if (cert) {
    count_order("issued");
    log::info("acme.certificate.issued", {{"order", o.id}});
  }
  if (o.status == "invalid" && before_order.status != "invalid") count_order("failed");
  if (o.status == "valid" || o.status == "invalid") issuer_.forget(o.upstream);
}

Response AcmeFacade::new_order(Call& c) {
  auto names = order_names(c.payload, c.caller.names, config_.zone);
  if (!names.ok()) {
    count_order("refused");
    return from_error(names.error());
  }
  Order o;
  o.id = random_id();
  o.account = c.account->id;
  o.names = std::move(*names);
  o.expires = now_s() + kOrderLifetime;
  auto handle = issuer_.start_order(o.names);
  if (!handle.ok()) return from_error(handle.error());
  o.upstream = *handle;
  std::vector<Authorization> authz;
  for (const auto& n : o.names) {
    Authorization a{random_id(), o.id, n, "pending", random_id(32)};
    o.authorizations.push_back(a.id);
    authz.push_back(a);
  }
  store_.forget_old(now_s());
  store_.orders[o.id] = o;
  for (const auto& a : authz) store_.authorizations[a.id] = a;
  if (auto st = store_.save(); !st) {
    store_.orders.erase(o.id);
    for (const auto& a : authz) store_.authorizations.erase(a.id);
    issuer_.forget(o.upstream);
    return from_error(st.error());
  }
  count_order("created");
  log::info("acme.order.created", {{"instance", c.caller.instance}, {"order", o.id}, {"names", o.names.size()}});
  Order& stored = store_.orders[o.id];
  refresh(stored);
  Response r = polled(json_response(201, order_json(stored)), stored.status);
  return std::move(r.with_header("Location", url("/acme/order/" + o.id)));
}

// The order, authorization or certificate named by the route's first parameter if it belongs
// to the calling account; null otherwise (another account's is as unknown as a missing one).
Order* AcmeFacade::own_order(const Call& c, const std::string& id) {
  auto it = store_.orders.find(id);
  return it != store_.orders.end() && it->second.account == c.account->id ? &it->second : nullptr;
}

Authorization* AcmeFacade::own_authorization(const Call& c) {
  auto it = store_.authorizations.find(c.request.params[0]);
  return it != store_.authorizations.end() && own_order(c, it->second.order) ? &it->second : nullptr;
}

Response AcmeFacade::order(Call& c) {
  Order* o = own_order(c, c.request.params[0]);
  if (o == nullptr) return acme_problem("notFound", "no order " + c.request.params[0] + " for this account");
  refresh(*o);
  return polled(json_response(200, order_json(*o)), o->status);
}

json AcmeFacade::challenges_json(const Authorization& a, const Order& o, bool answered) const {
  json list = json::array();
  for (const char* type : kChallengeTypes) {
    // A pending challenge the guest has answered is "processing" (RFC 8555 §7.1.6).
    const std::string status = a.status == "pending" && answered ? "processing" : a.status;
    json ch{{"type", type}, {"url", url("/acme/chall/" + a.id + "/" + type)}, {"token", a.token}, {"status", status}};
    if (a.status == "invalid" && !o.error.is_null()) ch["error"] = o.error;
    list.push_back(ch);
  }
  return list;
}

Response AcmeFacade::authorization(Call& c) {
  Authorization* found = own_authorization(c);
  if (found == nullptr) return acme_problem("notFound", "no authorization " + c.request.params[0] + " for this account");
  Order& o = store_.orders[found->order];
  refresh(o);
  const Authorization& a = *found;
  return polled(json_response(200, {{"identifier", {{"type", "dns"}, {"value", a.name}}},
                                    {"status", a.status},
                                    {"expires", rfc3339(o.expires)},
                                    {"challenges", challenges_json(a, o, false)}}),
                a.status);
}

Response AcmeFacade::challenge(Call& c) {
  Authorization* found = own_authorization(c);
  const std::string type = c.request.params.size() > 1 ? c.request.params[1] : "";
  if (found == nullptr || std::find(std::begin(kChallengeTypes), std::end(kChallengeTypes), type) == std::end(kChallengeTypes)) {
    return acme_problem("notFound", "no challenge " + c.request.params[0] + "/" + type + " for this account");
  }
  Order& o = store_.orders[found->order];
  refresh(o);
  // Nothing to validate toward the guest: the challenge is as valid as its authorization,
  // which follows the issuer's. An answer (a JSON payload) is only acknowledged.
  json all = challenges_json(*found, o, c.payload.is_object());
  json mine;
  for (const auto& ch : all) {
    if (ch["type"] == type) mine = ch;
  }
  Response r = polled(json_response(200, mine), found->status);
  return std::move(r.with_header("Link", "<" + url("/acme/authz/" + found->id) + ">;rel=\"up\""));
}

Response AcmeFacade::finalize(Call& c) {
  Order* found = own_order(c, c.request.params[0]);
  if (found == nullptr) return acme_problem("notFound", "no order " + c.request.params[0] + " for this account");
  Order& o = *found;
  refresh(o);
  if (o.status == "valid" || o.status == "processing") return polled(json_response(200, order_json(o)), o.status);
  if (o.status != "ready") {
    return acme_problem("orderNotReady", "the order is " + o.status + ", not ready; poll it until it is ready");
  }
  auto csr = finalize_csr(c.payload);
  if (!csr.ok()) return from_error(csr.error());
  if (csr->names != std::set<std::string>(o.names.begin(), o.names.end())) {
    std::string asked;
    for (const auto& n : csr->names) asked += (asked.empty() ? "" : ", ") + n;
    return acme_problem("badCSR", "the CSR asks for " + asked + " but the order is for exactly its identifiers");
  }
  if (csr->key_spki_der == spki_of_jwk(c.account->jwk)) {
    return acme_problem("badCSR", "the certificate key must not be the account key; make a new key for the CSR");
  }
  // The issuer takes the CSR unchanged; the chain follows (at once from the internal CA).
  if (auto st = issuer_.finalize(o.upstream, *csr); !st) return from_error(st.error());
  o.status = "processing";
  if (auto st = store_.save(); !st) {
    o.status = "ready";
    return from_error(st.error());
  }
  refresh(o);
  Response r = polled(json_response(200, order_json(o)), o.status);
  return std::move(r.with_header("Location", url("/acme/order/" + o.id)));
}

Response AcmeFacade::certificate(Call& c) {
  auto it = store_.certificates.find(c.request.params[0]);
  if (it == store_.certificates.end() || own_order(c, it->second.order) == nullptr) {
    return acme_problem("notFound", "no certificate " + c.request.params[0] + " for this account");
  }
  Response r;
  r.content_type = "application/pem-certificate-chain";
  r.body = it->second.pem;
  // The other chains the upstream CA offered (RFC 8555 §7.4.2).
  for (size_t i = 0; i < it->second.alternates.size(); ++i) {
    r.with_header("Link", "<" + url("/acme/cert/" + it->first + "/" + std::to_string(i)) + ">;rel=\"alternate\"");
  }
  return r;
}

Response AcmeFacade::alternate(Call& c) {
  auto it = store_.certificates.find(c.request.params[0]);
  const std::string& index = c.request.params[1];
  size_t i = 0;
  const bool number = !index.empty() && index.size() < 4 && std::all_of(index.begin(), index.end(), ::isdigit);
  if (number) i = std::stoul(index);
  if (it == store_.certificates.end() || own_order(c, it->second.order) == nullptr || !number ||
      i >= it->second.alternates.size()) {
    return acme_problem("notFound", "no certificate " + c.request.params[0] + "/" + index + " for this account");
  }
  Response r;
  r.content_type = "application/pem-certificate-chain";
  r.body = it->second.alternates[i];
  return r;
}

Response AcmeFacade::revoke(Call& c) {
  if (!c.payload.is_object() || !c.payload.contains("certificate") || !c.payload["certificate"].is_string()) {
    return acme_problem("malformed", "revokeCert needs \"certificate\": the base64url DER of the certificate");
  }
  auto der = base64url_decode(c.payload["certificate"].get<std::string>());
  if (!der) return acme_problem("malformed", "\"certificate\" is not base64url");
  for (auto& [id, cert] : store_.certificates) {
    if (own_order(c, cert.order) == nullptr || leaf_der(cert.pem) != *der) continue;
    if (cert.revoked) return acme_problem("alreadyRevoked", "this certificate is already revoked");
    cert.revoked = true;
    if (auto st = store_.save(); !st) {
      cert.revoked = false;
      return from_error(st.error());
    }
    return json_response(200, json::object());
  }
  return acme_problem("unauthorized", "this account holds no such certificate");
}

}  // namespace seed::api::acme
