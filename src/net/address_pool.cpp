#include "net/address_pool.hpp"

namespace seed::net {

Result<PoolConfig> make_pool_config(const std::string& subnet, const std::string& gateway,
                                    const std::string& subnet6) {
  PoolConfig c;
  c.subnet = SEED_TRY(parse_prefix4(subnet, "network.subnet"));
  if (c.subnet.length > 30) {
    return make_error(Errc::invalid_argument,
                      "network.subnet " + c.subnet.str() +
                          " is too small: it needs room for a network address, the bridge "
                          "(gateway), at least one instance and a broadcast address; use a /30 "
                          "or larger (a /24 gives 253 instances)")
        .with("setting", "network.subnet");
  }
  c.gateway = gateway.empty() ? Ipv4{c.subnet.network.value + 1}
                              : SEED_TRY(parse_ipv4(gateway, "network.gateway"));
  if (!c.subnet.contains(c.gateway) || c.gateway == c.subnet.network ||
      c.gateway == c.subnet.broadcast()) {
    return make_error(Errc::invalid_argument,
                      "network.gateway " + c.gateway.str() + " is not a host address in " +
                          c.subnet.str() + ": pick an address inside the subnet (usually .1)")
        .with("setting", "network.gateway");
  }
  if (!subnet6.empty()) {
    auto p6 = SEED_TRY(parse_prefix6(subnet6, "network.subnet6"));
    if (128 - p6.length < 32 - c.subnet.length) {
      return make_error(Errc::invalid_argument,
                        "network.subnet6 " + p6.str() + " has fewer host bits than " +
                            c.subnet.str() + ": instance IPv6 addresses mirror their IPv4 host "
                            "part, so use a prefix of /" +
                            std::to_string(96 + c.subnet.length) + " or shorter (a /64 is usual)")
          .with("setting", "network.subnet6");
    }
    c.subnet6 = p6;
    c.gateway6 = p6.at(c.gateway.value - c.subnet.network.value);
  }
  return c;
}

Result<AddressPool> AddressPool::create(PoolConfig config,
                                        std::map<InstanceId, Assignment> assigned) {
  AddressPool pool(std::move(config));
  const auto& c = pool.config_;
  for (auto& [id, a] : assigned) {
    auto where = [&](std::string msg) {
      return make_error(Errc::invalid_argument, std::move(msg))
          .with("instance", id.str())
          .with("address", a.ipv4.str());
    };
    if (!c.subnet.contains(a.ipv4) || a.ipv4 == c.subnet.network ||
        a.ipv4 == c.subnet.broadcast() || a.ipv4 == c.gateway) {
      return where("instance " + id.str() + " holds " + a.ipv4.str() +
                   ", which is not an instance address in the configured subnet " +
                   c.subnet.str() + ": restore the previous network.subnet, or remove the "
                   "instance so it gets a new address");
    }
    uint32_t offset = a.ipv4.value - c.subnet.network.value;
    if (auto [it, fresh] = pool.by_ipv4_.emplace(offset, id); !fresh) {
      return where("instances " + it->second.str() + " and " + id.str() + " both hold " +
                   a.ipv4.str() + ": the address state is corrupt; remove one of them");
    }
    // IPv6 follows the configuration: added when a prefix appears, dropped when it goes.
    a.ipv6 = pool.at_offset(offset).ipv6;
  }
  pool.assigned_ = std::move(assigned);
  return pool;
}

Assignment AddressPool::at_offset(uint32_t offset) const {
  Assignment a{Ipv4{config_.subnet.network.value + offset}, std::nullopt};
  if (config_.subnet6) a.ipv6 = config_.subnet6->at(offset);
  return a;
}

uint64_t AddressPool::capacity() const { return config_.subnet.size() - 3; }

Result<Assignment> AddressPool::allocate(const InstanceId& id) {
  SEED_TRY(validate_instance_id(id));
  if (auto it = assigned_.find(id); it != assigned_.end()) return it->second;
  uint32_t gateway = config_.gateway.value - config_.subnet.network.value;
  uint32_t last = uint32_t(config_.subnet.size() - 2);  // the one before broadcast
  // Lowest free offset: walk the sorted used offsets until the first gap.
  uint32_t candidate = 1;
  for (auto it = by_ipv4_.begin(); candidate <= last; ++candidate) {
    while (it != by_ipv4_.end() && it->first < candidate) ++it;
    if (candidate == gateway) continue;
    if (it != by_ipv4_.end() && it->first == candidate) continue;
    break;
  }
  if (candidate > last) {
    return make_error(Errc::unavailable,
                      "no free address for " + id.str() + ": all " +
                          std::to_string(capacity()) + " instance addresses of " +
                          config_.subnet.str() + " are taken; remove an instance or configure a "
                          "larger network.subnet")
        .with("instance", id.str())
        .with("stage", "network");
  }
  Assignment a = at_offset(candidate);
  assigned_.emplace(id, a);
  by_ipv4_.emplace(candidate, id);
  return a;
}

bool AddressPool::release(const InstanceId& id) {
  auto it = assigned_.find(id);
  if (it == assigned_.end()) return false;
  by_ipv4_.erase(it->second.ipv4.value - config_.subnet.network.value);
  assigned_.erase(it);
  return true;
}

std::optional<Assignment> AddressPool::find(const InstanceId& id) const {
  auto it = assigned_.find(id);
  if (it == assigned_.end()) return std::nullopt;
  return it->second;
}

}  // namespace seed::net
