// ZoneStore: what the server reads and what the rest of seedd writes.
//  - replace(): the reconcile engine hands over the whole desired list; the new zone is built
//    aside and published with one atomic pointer swap (readers see old or new, never a mix).
//  - set/clear_acme_challenge(): the narrow interface the ACME facade uses for DNS-01 TXT
//    records; copy-on-write, also published atomically.
//  - set_caa(): the zone apex's CAA RRset (RFC 8659), which the upstream ACME client sets
//    once it knows its CA and account (RFC 8657 accounturi); published the same way.
// Readers take a Snapshot (two shared_ptr loads) and never block writers or each other.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/error.hpp"
#include "net/dns/zone.hpp"

namespace seed::net::dns {

// One CAA record (RFC 8659 §4.1): flags (bit 7 = issuer critical), a tag such as "issue" or
// "issuewild", and its value, e.g. "letsencrypt.org; accounturi=https://…/acct/123".
struct CaaRecord {
  uint8_t flags = 0;
  std::string tag;
  std::string value;
  bool operator==(const CaaRecord&) const = default;
};

// The CAA RRset that lets only `issuer_domain` issue for the zone, only to `account_uri`
// (RFC 8657; empty: any account of that CA), and no wildcard certificate at all (the facade
// never orders one).
std::vector<CaaRecord> caa_for_account(std::string_view issuer_domain, std::string_view account_uri);

// TXT values per `_acme-challenge.<name>` owner, plus the empty non-terminals they imply,
// and the apex CAA RRset.
struct AcmeRecords {
  KeyMap<std::vector<std::string>> txt;
  KeyMap<int> ancestors;  // lowercased keys of names that exist only because of a challenge
  std::vector<CaaRecord> caa;
};

struct ZoneSnapshot {
  std::shared_ptr<const Zone> zone;
  std::shared_ptr<const AcmeRecords> acme;
};

struct AcmeLimits {
  size_t max_names = 4096;        // distinct challenge owner names
  size_t max_values_per_name = 16;
  size_t max_value_size = 1024;   // bytes; split into 255-byte TXT strings on the wire
};

class ZoneStore {
 public:
  static Result<std::unique_ptr<ZoneStore>> create(ZoneConfig config, AcmeLimits limits = {});

  Status replace(const std::vector<InstanceAddress>& instances);

  // `record_name` is the full owner, e.g. "_acme-challenge.web.team.seed.example.org".
  // Setting a value twice keeps one copy; values of one name are served together (wildcard
  // and base-name validations run at once).
  Status set_acme_challenge(std::string_view record_name, std::string value);
  // Removes one value, or every value of the name when `value` is nullopt. Clearing what is
  // not there succeeds (the ACME facade cleans up after failures too).
  Status clear_acme_challenge(std::string_view record_name,
                              std::optional<std::string_view> value = std::nullopt);

  // Replaces the apex CAA RRset; an empty list removes it. A tag that is not 1–15 letters and
  // digits, or a value over 1024 bytes, is refused and the previous set stays.
  Status set_caa(std::vector<CaaRecord> records);

  ZoneSnapshot snapshot() const { return {zone_.load(), acme_.load()}; }

 private:
  ZoneStore(ZoneConfig config, AcmeLimits limits) : config_(std::move(config)), limits_(limits) {}
  Result<std::string> challenge_key(std::string_view record_name) const;
  void publish_acme(KeyMap<std::vector<std::string>> txt, std::vector<CaaRecord> caa);

  ZoneConfig config_;
  AcmeLimits limits_;
  std::mutex write_mu_;  // writers only; readers never take it
  uint32_t serial_ = 0;
  std::atomic<std::shared_ptr<const Zone>> zone_;
  std::atomic<std::shared_ptr<const AcmeRecords>> acme_;
};

}  // namespace seed::net::dns
