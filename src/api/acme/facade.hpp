// The ACME facade toward instances (RFC 8555), served on the guest listener. The caller is the
// instance that owns the request's source address on the bridge (the anti-spoofing rules make
// that trustworthy): it may order only its own names, and its accounts, orders and
// certificates are invisible to every other instance. Authorizations need no validation toward
// the guest (seedd knows the caller): newOrder starts the Issuer's order, and the guest's
// authorizations turn valid when the Issuer's do (at once for the internal CA; when the
// upstream CA's are in ACME mode). Until then authorizations and orders are pending (or
// processing after finalize) with Retry-After, and any challenge the guest answers only
// acknowledges. finalize passes the guest's CSR to the Issuer unchanged (keys never leave the
// guest). The facade's lock is never held across the Issuer's upstream work: Issuer calls
// return at once and the facade reads their progress when the guest polls.
//
// Resources: directory, newNonce (HEAD/GET), newAccount (201 new, 200 existing,
// onlyReturnExisting), account (POST-as-GET, contact update, deactivation) and its orders,
// keyChange (key rollover),
// newOrder, order, authorization, challenge, finalize, certificate, revokeCert. Every response
// carries Replay-Nonce and Link rel="index"; errors are problem documents with RFC 8555 types.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/acme/acme_store.hpp"
#include "api/acme/issuer.hpp"
#include "api/acme/nonces.hpp"
#include "api/router.hpp"

namespace seed::api::acme {

// Who is calling, from the source address: the instance (an opaque key, never shown to another
// instance), the names it may order and whether its meta turned ACME on.
struct AcmeCaller {
  std::string instance;
  std::vector<std::string> names;
  bool acme_enabled = true;
};
// Errc::not_found when no instance owns the address.
using CallerLookup = std::function<Result<AcmeCaller>(const std::string& source_address)>;

struct FacadeConfig {
  std::string base_url;    // "http://10.100.0.1:8555": what request URLs (the JWS `url`) start with
  std::string state_file;  // the AcmeStore's file
  std::string zone;        // the node's zone: names outside it are refused ("" = no check)
};

class AcmeFacade {
 public:
  static Result<std::unique_ptr<AcmeFacade>> open(FacadeConfig config, CallerLookup callers, Issuer& issuer);
  // Adds the facade's routes (under /acme/) to the guest listener's router.
  void add_routes(Router& router);

 private:
  AcmeFacade(FacadeConfig config, CallerLookup callers, Issuer& issuer, AcmeStore store);
  struct Call;  // one authenticated POST
  using PostHandler = std::function<Response(Call&)>;
  Response post(const Request& request, bool jwk_allowed, const PostHandler& handler);
  Response finish(Response r);  // adds Replay-Nonce and Link: index

  Response directory();
  Response new_account(Call& c);
  Response account(Call& c);
  Response account_orders(Call& c);
  Response new_order(Call& c);
  Response order(Call& c);
  Response authorization(Call& c);
  Response challenge(Call& c);
  Response finalize(Call& c);
  Response certificate(Call& c);
  Response alternate(Call& c);
  Response revoke(Call& c);
  Response key_change(Call& c);

  std::string url(const std::string& path) const { return config_.base_url + path; }
  nlohmann::json order_json(const Order& o) const;
  nlohmann::json challenges_json(const Authorization& a, const Order& o, bool answered) const;
  void refresh(Order& o);  // the Issuer's progress into the order and its authorizations
  Response polled(Response r, const std::string& status) const;  // Retry-After while pending
  Order* own_order(const Call& c, const std::string& id);
  Authorization* own_authorization(const Call& c);

  FacadeConfig config_;
  CallerLookup callers_;
  Issuer& issuer_;
  std::mutex mu_;  // one request at a time touches the store (a node has few instances)
  AcmeStore store_;
  NonceStore nonces_;
};

}  // namespace seed::api::acme
