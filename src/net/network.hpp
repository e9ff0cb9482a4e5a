// What the reconcile engine uses from src/net: the node's bridge, an instance's tap and
// addresses, and the firewall's desired state. Everything is idempotent, acts in the network
// namespace of the calling thread, and reports failures as Errors naming the instance.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "net/address_store.hpp"
#include "net/firewall_spec.hpp"
#include "net/names.hpp"

namespace seed::net {

struct NetworkConfig {
  std::string bridge = "seed0";
  std::string subnet = "10.88.0.0/24";
  std::string gateway;   // default: the subnet's first host address
  std::string subnet6;   // optional, e.g. "fd5e:ed00::/64"
  std::vector<std::string> public_addresses;  // where exposed tcp/udp/dns ports arrive
  uint16_t guest_api_port = 0;                 // seedd's guest HTTP listener; 0: none
  EgressPolicy egress;                         // where guests' connections may go
  std::string state_file;                      // the address allocations (JSON)
  std::optional<uid_t> tap_owner;              // when the VMM runs unprivileged
  bool multi_queue_taps = false;               // must match how the VMM opens taps
};

struct InstanceLink {
  std::string tap;
  Mac mac;
};

class Network {
 public:
  static Result<std::unique_ptr<Network>> open(NetworkConfig config);

  Status ensure_bridge();

  // The instance's tap (created if missing, attached, up) and MAC. Idempotent.
  Result<InstanceLink> ensure_instance_link(const InstanceId& id);
  Status remove_instance_link(const InstanceId& id);

  // Stable across restarts; released only by release_address (when the instance is removed).
  Result<Assignment> allocate_address(const InstanceId& id);
  Status release_address(const InstanceId& id);
  // Every instance holding an address (it got a tap and address and was not removed since).
  const std::map<InstanceId, Assignment>& addresses() const { return addresses_.pool().assigned(); }

  // A firewall entry for an instance that has an address, filled from what Network knows.
  Result<FirewallInstance> firewall_instance(const InstanceId& id,
                                             std::vector<Expose> exposes) const;
  // Replaces the whole seed ruleset in one transaction. Returns the exposes refused as
  // conflicts (everything else is applied); an Error when nothing was applied.
  Result<std::vector<Error>> apply_firewall(std::vector<FirewallInstance> instances) const;
  Status remove_firewall() const;

  const NetworkConfig& config() const { return config_; }
  const PoolConfig& pool_config() const { return addresses_.pool().config(); }

 private:
  Network(NetworkConfig config, AddressStore addresses)
      : config_(std::move(config)), addresses_(std::move(addresses)) {}

  NetworkConfig config_;
  AddressStore addresses_;
};

}  // namespace seed::net
