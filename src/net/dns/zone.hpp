// The node's zone as an immutable snapshot: `<instance>.<namespace>.<domain>` A/AAAA, the
// apex SOA and NS, and the name servers' own addresses when they live inside the zone.
// Built in one go from a plain desired-state list and then only read, so any number of
// threads may look names up without locks.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "net/dns/name.hpp"

namespace seed::net::dns {

// One instance as the reconcile engine sees it. Addresses in text form; empty = none.
struct InstanceAddress {
  std::string ns;        // tenant namespace, one DNS label
  std::string instance;  // instance name, one DNS label
  std::string ipv4;
  std::string ipv6;
};

struct NameServer {
  std::string name;  // FQDN; when inside the zone its addresses are served (glue)
  std::string ipv4;
  std::string ipv6;
};

struct ZoneConfig {
  std::string domain;                   // e.g. "seed.example.org"
  std::vector<NameServer> nameservers;  // at least one
  // The node's own names inside the zone (silo.<domain>, hooks.<domain>: the ingress routes
  // them to seedd), answered with the node's addresses like glue, without NS records.
  std::vector<NameServer> hosts;
  std::string hostmaster;               // SOA RNAME as a name; default "hostmaster.<domain>"
  uint32_t ttl = 60;                    // every positive answer
  uint32_t negative_ttl = 30;           // SOA MINIMUM: how long NXDOMAIN/NODATA are cached
  uint32_t refresh = 3600, retry = 600, expire = 1209600;
};

using Ipv4 = std::array<uint8_t, 4>;
using Ipv6 = std::array<uint8_t, 16>;

struct ZoneNode {
  std::vector<Ipv4> a;
  std::vector<Ipv6> aaaa;
  bool apex = false;
  std::string ns;  // the tenant namespace an instance name belongs to ("" otherwise)
};

// Hash and equality that accept std::string_view, so lookups never build a std::string.
struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
struct KeyEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};
template <class V>
using KeyMap = std::unordered_map<std::string, V, KeyHash, KeyEq>;

class Zone {
 public:
  // Validates everything (labels, addresses, duplicates) and builds the snapshot; nothing is
  // partially applied: either the whole new zone or an error naming the first bad entry.
  static Result<std::shared_ptr<const Zone>> build(const ZoneConfig& config,
                                                   const std::vector<InstanceAddress>& instances,
                                                   uint32_t serial);

  const Name& apex() const { return apex_; }
  const ZoneConfig& config() const { return config_; }
  uint32_t serial() const { return serial_; }
  const Name& hostmaster() const { return hostmaster_; }
  const std::vector<Name>& nameservers() const { return ns_names_; }

  // The node for a lowercased wire key; empty non-terminals exist as nodes without data.
  const ZoneNode* find(std::string_view key) const;
  const ZoneNode* find(const Name& name) const;

 private:
  Zone() = default;
  Name apex_;
  Name hostmaster_;
  ZoneConfig config_;
  uint32_t serial_ = 0;
  std::vector<Name> ns_names_;
  KeyMap<ZoneNode> nodes_;
};

// "192.0.2.1" / "2001:db8::1" → bytes; Errc::invalid_argument naming `what`.
Result<Ipv4> parse_ipv4(const std::string& text, std::string_view what);
Result<Ipv6> parse_ipv6(const std::string& text, std::string_view what);

}  // namespace seed::net::dns
