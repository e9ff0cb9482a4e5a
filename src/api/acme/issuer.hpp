// Where the facade's certificates come from: the internal CA (completes at once) or, in ACME
// mode, the upstream CA through seedd's own ACME client (asynchronous: an upstream order runs
// on its own thread from the guest's newOrder on). The facade checks who may have which names;
// an Issuer only obtains the authorizations for checked names and turns a checked CSR into a
// certificate chain. Every method returns at once (no network call on the caller's thread), so
// the facade never holds its lock across upstream work.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/acme/csr.hpp"
#include "common/error.hpp"

namespace seed::api::acme {

// An upstream refusal as the guest will see it: the RFC 8555 type without its URN prefix
// ("rateLimited", "rejectedIdentifier", …), the CA's words, and for rateLimited the time the
// limit resets (Retry-After: seconds or an HTTP date; "" when the CA said nothing).
struct IssuerProblem {
  std::string type;
  std::string detail;
  std::string retry_after;
};

// Where one issuer order stands.
struct IssueState {
  // "pending" (authorizations under way), "ready" (every name authorized; waiting for the
  // CSR), "processing" (the CSR is with the CA), "valid" (chain below) or "invalid" (problem).
  std::string status = "pending";
  std::set<std::string> authorized;     // names whose upstream authorization is valid
  std::string chain;                    // PEM, leaf first, once valid
  std::vector<std::string> alternates;  // other chains the CA offered (PEM each)
  std::optional<IssuerProblem> problem;
  int retry_after = 1;  // seconds a guest polling a pending/processing object should wait
};

class Issuer {
 public:
  virtual ~Issuer() = default;
  // Starts obtaining authorizations for `names` (the guest's newOrder) and returns the order's
  // handle. An error (with context "acme_type", e.g. rateLimited while an upstream limit
  // holds, and "retry_after") is passed to the guest as its newOrder's answer.
  virtual Result<std::string> start_order(const std::vector<std::string>& names) = 0;
  // Where the order stands; an unknown handle is "invalid" with a problem saying so.
  virtual IssueState state(const std::string& handle) = 0;
  // Hands the guest's CSR (unchanged) over once the order is "ready"; the chain follows
  // (state turns "processing", then "valid" or "invalid").
  virtual Status finalize(const std::string& handle, const CsrInfo& csr) = 0;
  // The facade has stored the outcome: the issuer may forget the order.
  virtual void forget(const std::string& handle) = 0;
};

}  // namespace seed::api::acme
