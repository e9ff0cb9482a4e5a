// Address allocation for instances on the bridge: pure logic, no I/O (address_store.hpp
// persists it). The gateway is the bridge's own address. An instance's IPv6 address, when a
// prefix is configured, uses the same host offset as its IPv4 one (10.0.0.7 <-> fd00::7), so
// the two always agree and one number identifies the instance in either family.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "net/ip_address.hpp"
#include "net/names.hpp"

namespace seed::net {

struct PoolConfig {
  Prefix4 subnet;
  Ipv4 gateway;  // the bridge address; never handed to an instance
  std::optional<Prefix6> subnet6;
  std::optional<Ipv6> gateway6;
};

// From configuration strings. `gateway` empty means the first host address (.1); `subnet6`
// empty means no IPv6. Rejects subnets too small to hold a gateway and one instance, gateways
// outside the subnet (or on its network/broadcast address), and IPv6 prefixes with fewer host
// bits than the IPv4 subnet.
Result<PoolConfig> make_pool_config(const std::string& subnet, const std::string& gateway,
                                    const std::string& subnet6);

struct Assignment {
  Ipv4 ipv4;
  std::optional<Ipv6> ipv6;
  bool operator==(const Assignment&) const = default;
};

class AddressPool {
 public:
  // Fails when an existing assignment does not fit `config` (the subnet changed under
  // running instances) or two instances hold one address.
  static Result<AddressPool> create(PoolConfig config,
                                    std::map<InstanceId, Assignment> assigned = {});

  // The instance's address: its existing one, else the lowest free one. Errc::unavailable
  // when every address is taken.
  Result<Assignment> allocate(const InstanceId& id);
  // False when the instance held nothing (releasing twice is fine).
  bool release(const InstanceId& id);
  std::optional<Assignment> find(const InstanceId& id) const;

  const PoolConfig& config() const { return config_; }
  const std::map<InstanceId, Assignment>& assigned() const { return assigned_; }
  // Usable instance addresses in the subnet (network, broadcast and gateway excluded).
  uint64_t capacity() const;

 private:
  explicit AddressPool(PoolConfig config) : config_(std::move(config)) {}
  Assignment at_offset(uint32_t offset) const;

  PoolConfig config_;
  std::map<InstanceId, Assignment> assigned_;
  std::map<uint32_t, InstanceId> by_ipv4_;  // host offset -> holder: sorted, for lowest-free
};

}  // namespace seed::net
