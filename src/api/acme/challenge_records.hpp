// What seedd's upstream ACME client needs of the DNS server (DESIGN.md §3: the DNS server's
// narrow ACME record interface is the one thing src/api may touch besides reconcile's
// Service): DNS-01 TXT values at `_acme-challenge.<name>` (several per name at once, served
// with a short TTL) and the zone apex's CAA RRset. seedd's wiring implements it over the
// zone store; src/api never includes the DNS server itself.
#pragma once

#include <string>

#include "common/error.hpp"

namespace seed::api::acme {

class ChallengeRecords {
 public:
  virtual ~ChallengeRecords() = default;
  // `owner` is the full name, "_acme-challenge.web.team.seed.example.org". Setting a value
  // twice keeps one copy; clearing a value that is not there succeeds.
  virtual Status set_txt(const std::string& owner, const std::string& value) = 0;
  virtual Status clear_txt(const std::string& owner, const std::string& value) = 0;
  // The apex CAA RRset: only `issuer_domain` may issue, and (RFC 8657) only to `account_uri`.
  virtual Status set_caa(const std::string& issuer_domain, const std::string& account_uri) = 0;
};

}  // namespace seed::api::acme
