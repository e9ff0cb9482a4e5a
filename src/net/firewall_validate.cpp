#include "net/firewall_validate.hpp"

#include <map>

#include "net/egress_rule.hpp"
#include "net/ip_address.hpp"
#include "net/names.hpp"

namespace seed::net {
namespace {

Error tag(Error e, const std::string& instance = "") {
  if (!instance.empty()) e.with("instance", instance);
  return std::move(e).with("stage", "network");
}

// Records `value` as used by `who`; an error naming both when it already was.
Status unique(std::map<std::string, std::string>& used, const std::string& what,
              const std::string& value, const std::string& who) {
  auto [it, fresh] = used.emplace(value, who);
  if (fresh) return ok();
  return tag(make_error(Errc::invalid_argument, "instances " + it->second + " and " + who +
                                                    " have the same " + what + " " + value +
                                                    "; each instance needs its own"),
             who);
}

}  // namespace

Result<CheckedSpec> validate_firewall_spec(const FirewallSpec& spec) {
  CheckedSpec out;
  SEED_TRY(validate_ifname(spec.bridge, "network.bridge"));
  out.bridge = spec.bridge;
  auto subnet = SEED_TRY(parse_prefix4(spec.subnet, "network.subnet"));
  auto gateway = SEED_TRY(parse_ipv4(spec.gateway, "network.gateway"));
  if (!subnet.contains(gateway)) {
    return tag(make_error(Errc::invalid_argument, "network.gateway " + gateway.str() +
                                                      " is outside network.subnet " +
                                                      subnet.str()));
  }
  out.subnet = subnet.str();
  out.gateway = gateway.str();
  std::optional<Prefix6> subnet6;
  if (!spec.subnet6.empty()) {
    subnet6 = SEED_TRY(parse_prefix6(spec.subnet6, "network.subnet6"));
    out.subnet6 = subnet6->str();
    if (!spec.gateway6.empty()) {
      out.gateway6 = SEED_TRY(parse_ipv6(spec.gateway6, "network.gateway6")).str();
    }
  }
  for (const auto& a : spec.public_addresses) {
    if (a.find(':') != std::string::npos) {
      out.public6.push_back(SEED_TRY(parse_ipv6(a, "network.public_addresses")).str());
    } else {
      out.public4.push_back(SEED_TRY(parse_ipv4(a, "network.public_addresses")).str());
    }
  }
  out.guest_api_port = spec.guest_api_port;
  if (spec.guest_api_port == 53) {
    return tag(make_error(Errc::invalid_argument,
                          "the guest API port is 53, which guests already use for DNS; choose "
                          "another api.port"));
  }
  out.internet = spec.egress.internet;
  for (size_t n = 0; n < spec.egress.allow.size(); ++n) {
    // Re-read from the text form: only what parse_egress_rule accepts reaches nft syntax.
    const auto& in = spec.egress.allow[n];
    auto rule = SEED_TRY(parse_egress_rule(to_string(in), "network.egress.allow[" + std::to_string(n) + "]"));
    if (rule != in) {
      return tag(make_error(Errc::invalid_argument, "network.egress.allow[" + std::to_string(n) + "] \"" +
                                                        to_string(in) + "\" is not canonical (" +
                                                        to_string(rule) + "); build rules with parse_egress_rule"));
    }
    (rule.cidr.find(':') == std::string::npos ? out.allow4 : out.allow6).push_back(rule);
  }
  std::map<std::string, std::string> ids, taps, macs, v4s, v6s;
  for (const auto& in : spec.instances) {
    CheckedInstance c;
    InstanceId id{in.ns, in.name};
    c.id = id.str();
    c.ns = in.ns;
    SEED_TRY(validate_instance_id(id));
    SEED_TRY(unique(ids, "identity", c.id, c.id));
    if (auto st = validate_ifname(in.tap, "tap"); !st) return tag(std::move(st).error(), c.id);
    c.tap = in.tap;
    SEED_TRY(unique(taps, "tap", c.tap, c.id));
    auto mac = parse_mac(in.mac, "mac");
    if (!mac) return tag(std::move(mac).error(), c.id);
    if ((mac->bytes[0] & 1) != 0) {
      return tag(make_error(Errc::invalid_argument,
                            "mac " + mac->str() + " of " + c.id + " is a multicast address"),
                 c.id);
    }
    if (*mac == tap_mac() || *mac == bridge_mac()) {
      return tag(make_error(Errc::invalid_argument,
                            "mac " + mac->str() + " of " + c.id +
                                " is the host side's own address (taps or bridge); give the "
                                "instance its instance_mac()"),
                 c.id);
    }
    c.mac = mac->str();
    SEED_TRY(unique(macs, "mac", c.mac, c.id));
    auto v4 = parse_ipv4(in.ipv4, "ipv4");
    if (!v4) return tag(std::move(v4).error(), c.id);
    if (!subnet.contains(*v4) || *v4 == subnet.network || *v4 == subnet.broadcast() ||
        *v4 == gateway) {
      return tag(make_error(Errc::invalid_argument,
                            "ipv4 " + v4->str() + " of " + c.id +
                                " is not an instance address in " + subnet.str() +
                                " (outside it, or its network, broadcast or gateway address); "
                                "allocate addresses from the configured subnet"),
                 c.id);
    }
    c.ipv4 = v4->str();
    SEED_TRY(unique(v4s, "ipv4", c.ipv4, c.id));
    if (!in.ipv6.empty()) {
      auto v6 = parse_ipv6(in.ipv6, "ipv6");
      if (!v6) return tag(std::move(v6).error(), c.id);
      if (!subnet6 || !subnet6->contains(*v6)) {
        return tag(make_error(Errc::invalid_argument,
                              "ipv6 " + v6->str() + " of " + c.id + " is outside " +
                                  (subnet6 ? "network.subnet6 " + subnet6->str()
                                           : std::string("any configured IPv6 prefix")) +
                                  "; allocate addresses from the configured prefix"),
                   c.id);
      }
      c.ipv6 = v6->str();
      SEED_TRY(unique(v6s, "ipv6", c.ipv6, c.id));
    }
    for (const auto& e : in.exposes) {
      if (e.public_port == 0 || e.guest_port == 0) {
        return tag(make_error(Errc::invalid_argument,
                              "expose of " + c.id + " uses port 0; ports are 1-65535"),
                   c.id);
      }
    }
    out.instances.push_back(std::move(c));
  }
  return out;
}

}  // namespace seed::net
