// ZoneStore: what the server reads and what the rest of seedd writes.
//  - replace(): the reconcile engine hands over the whole desired list; the new zone is built
//    aside and published with one atomic pointer swap (readers see old or new, never a mix).
//  - set/clear_acme_challenge(): the narrow interface the ACME facade uses for DNS-01 TXT
//    records; copy-on-write, also published atomically.
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

// TXT values per `_acme-challenge.<name>` owner, plus the empty non-terminals they imply.
struct AcmeRecords {
  KeyMap<std::vector<std::string>> txt;
  KeyMap<int> ancestors;  // lowercased keys of names that exist only because of a challenge
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

  ZoneSnapshot snapshot() const { return {zone_.load(), acme_.load()}; }

 private:
  ZoneStore(ZoneConfig config, AcmeLimits limits) : config_(std::move(config)), limits_(limits) {}
  Result<std::string> challenge_key(std::string_view record_name) const;
  void publish_acme(KeyMap<std::vector<std::string>> txt);

  ZoneConfig config_;
  AcmeLimits limits_;
  std::mutex write_mu_;  // writers only; readers never take it
  uint32_t serial_ = 0;
  std::atomic<std::shared_ptr<const Zone>> zone_;
  std::atomic<std::shared_ptr<const AcmeRecords>> acme_;
};

}  // namespace seed::net::dns
