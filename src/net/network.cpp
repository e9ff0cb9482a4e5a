#include "net/network.hpp"

#include "common/log.hpp"
#include "net/bridge.hpp"
#include "net/nftables.hpp"
#include "net/ruleset.hpp"
#include "net/tap.hpp"

namespace seed::net {

Result<std::unique_ptr<Network>> Network::open(NetworkConfig config) {
  SEED_TRY(validate_ifname(config.bridge, "network.bridge"));
  auto pool = SEED_TRY(make_pool_config(config.subnet, config.gateway, config.subnet6));
  if (config.state_file.empty()) {
    return make_error(Errc::invalid_argument, "network.state_file is not set")
        .with("setting", "network.state_file");
  }
  auto store = SEED_TRY(AddressStore::open(config.state_file, std::move(pool)));
  return std::unique_ptr<Network>(new Network(std::move(config), std::move(store)));
}

Status Network::ensure_bridge() {
  const auto& pc = pool_config();
  BridgeSpec spec{config_.bridge, {LinkAddress{pc.gateway, pc.subnet.length}}};
  if (pc.gateway6) spec.addresses.push_back(LinkAddress{*pc.gateway6, pc.subnet6->length});
  auto sock = SEED_TRY(NlSocket::open());
  auto bridge = SEED_TRY(net::ensure_bridge(sock, spec));
  // Taps made by an older seedd carry their guest's MAC, which keeps the bridge from
  // forwarding to that guest (tap.hpp): give them the tap address now, while their VMs run.
  for (const auto& port : SEED_TRY(list_ports(sock, bridge.ifindex))) {
    if (port.kind != "tun" || !port.name.starts_with(tap_prefix) || port.mac == tap_mac()) continue;
    LinkChange change;
    change.mac = tap_mac();
    SEED_TRY(change_link(sock, port, change));
    log::info("net.tap_mac_fixed", {{"tap", port.name}});
  }
  return ok();
}

Result<InstanceLink> Network::ensure_instance_link(const InstanceId& id) {
  InstanceLink link{SEED_TRY(tap_name(id)), SEED_TRY(instance_mac(id))};
  auto sock = SEED_TRY(NlSocket::open());
  auto r = ensure_tap(sock, TapSpec{link.tap, config_.bridge, id.str(), config_.tap_owner,
                                    config_.multi_queue_taps});
  if (!r) return std::move(r).error().with("instance", id.str());
  return link;
}

Status Network::remove_instance_link(const InstanceId& id) {
  auto tap = SEED_TRY(tap_name(id));
  auto sock = SEED_TRY(NlSocket::open());
  auto st = remove_tap(sock, tap);
  if (!st) return std::move(st).error().with("instance", id.str());
  return ok();
}

Result<Assignment> Network::allocate_address(const InstanceId& id) {
  auto a = SEED_TRY(addresses_.allocate(id));
  log::info("net.address", {{"instance", id.str()}, {"ipv4", a.ipv4.str()}});
  return a;
}

Status Network::release_address(const InstanceId& id) { return addresses_.release(id); }

Result<FirewallInstance> Network::firewall_instance(const InstanceId& id,
                                                    std::vector<Expose> exposes) const {
  auto a = addresses_.find(id);
  if (!a) {
    return make_error(Errc::not_found, "instance " + id.str() + " has no address yet; allocate "
                                       "one before adding it to the firewall")
        .with("instance", id.str())
        .with("stage", "network");
  }
  FirewallInstance f{id.ns, id.name, SEED_TRY(tap_name(id)), SEED_TRY(instance_mac(id)).str(),
                     a->ipv4.str(), a->ipv6 ? a->ipv6->str() : "", std::move(exposes)};
  return f;
}

Result<std::vector<Error>> Network::apply_firewall(std::vector<FirewallInstance> instances) const {
  const auto& pc = pool_config();
  FirewallSpec spec;
  spec.bridge = config_.bridge;
  spec.subnet = pc.subnet.str();
  spec.gateway = pc.gateway.str();
  if (pc.subnet6) {
    spec.subnet6 = pc.subnet6->str();
    spec.gateway6 = pc.gateway6->str();
  }
  spec.public_addresses = config_.public_addresses;
  spec.guest_api_port = config_.guest_api_port;
  spec.egress = config_.egress;
  spec.instances = std::move(instances);
  auto ruleset = SEED_TRY(render_ruleset(spec));
  SEED_TRY(nft_apply(ruleset.text));
  for (const auto& c : ruleset.conflicts) log::warn("net.expose_conflict", {{"error", c.describe()}});
  log::info("net.firewall_applied", {{"instances", spec.instances.size()},
                                     {"conflicts", ruleset.conflicts.size()}});
  return std::move(ruleset.conflicts);
}

Status Network::remove_firewall() const { return nft_apply(render_removal()); }

}  // namespace seed::net
