#include "net/ruleset.hpp"

#include <map>

#include "net/firewall_validate.hpp"
#include "net/names.hpp"

namespace seed::net {
namespace {

constexpr std::string_view header =
    "# Rendered by seedd from its desired state; every apply replaces both seed tables whole.\n"
    "table inet seed\n"
    "delete table inet seed\n"
    "table bridge seed\n"
    "delete table bridge seed\n";

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

void render_nat(const CheckedSpec& s, const ExposePlan& plan, std::string& out) {
  const std::string br = quoted(s.bridge);
  out += "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n";
  for (const auto& f : plan.forwards) {
    const auto& inst = s.instances[f.instance];
    std::string l4(to_string(f.protocol));
    for (const auto& pub : s.public4) {
      out += "\t\tiifname != " + br + " ip daddr " + pub + " " + l4 + " dport " +
             std::to_string(f.public_port) + " dnat ip to " + inst.ipv4 + ":" +
             std::to_string(f.guest_port) + " comment " + quoted(inst.id) + "\n";
    }
    if (inst.ipv6.empty()) continue;
    for (const auto& pub : s.public6) {
      out += "\t\tiifname != " + br + " ip6 daddr " + pub + " " + l4 + " dport " +
             std::to_string(f.public_port) + " dnat ip6 to [" + inst.ipv6 + "]:" +
             std::to_string(f.guest_port) + " comment " + quoted(inst.id) + "\n";
    }
  }
  out += "\t}\n";
  out += "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n";
  out += "\t\tip saddr " + s.subnet + " oifname != " + br + " masquerade\n";
  if (!s.subnet6.empty()) out += "\t\tip6 saddr " + s.subnet6 + " oifname != " + br + " masquerade\n";
  out += "\t}\n";
}

void render_filter(const CheckedSpec& s, std::string& out) {
  const std::string br = quoted(s.bridge);
  // Guests reach the host only on the bridge address (DNS, the API): not on its public or
  // other addresses, where admin services may listen.
  out += "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n";
  out += "\t\tiifname != " + br + " accept\n";
  out += "\t\tip daddr " + s.gateway + " accept\n";
  std::vector<std::string> v6{"fe80::/64", "ff02::/16"};
  if (!s.gateway6.empty()) v6.insert(v6.begin(), s.gateway6);
  out += "\t\tip6 daddr { " + join(v6) + " } accept\n";
  out += "\t\tdrop\n\t}\n";
  // Instances of one namespace talk over the bridge (layer 2); the host never routes a packet
  // from the bridge back into it, which would bypass the bridge-level isolation.
  out += "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n";
  out += "\t\tiifname " + br + " oifname " + br + " drop\n";
  out += "\t\toifname " + br + " ct state established,related accept\n";
  out += "\t\toifname " + br + " ct status dnat accept\n";
  out += "\t\toifname " + br + " drop\n\t}\n";
}

void render_port_chain(const CheckedInstance& i, std::string& out) {
  out += "\tchain port_" + i.tap + " {\n";
  out += "\t\t# " + i.id + "\n";
  out += "\t\tether saddr != " + i.mac + " drop\n";
  out += "\t\tether type arp arp saddr ether != " + i.mac + " drop\n";
  // 0.0.0.0 is the sender of an ARP probe (address conflict detection), harmless.
  out += "\t\tether type arp arp saddr ip != { 0.0.0.0, " + i.ipv4 + " } drop\n";
  out += "\t\tether type ip ip saddr != " + i.ipv4 + " drop\n";
  if (i.ipv6.empty()) {
    out += "\t\tether type ip6 drop\n";
  } else {
    // :: is the source of duplicate address detection; link-local is needed for neighbour
    // discovery. A guest must never act as a router for the others.
    out += "\t\tether type ip6 ip6 saddr != { ::, fe80::/64, " + i.ipv6 + " } drop\n";
    out += "\t\tether type ip6 icmpv6 type { nd-router-advert, nd-redirect } drop\n";
  }
  out += "\t\tether type != { arp, ip, ip6 } drop\n";
  out += "\t}\n";
}

void render_bridge(const CheckedSpec& s, std::string& out) {
  std::vector<std::string> port_map, ns_map;
  std::map<std::string, std::vector<std::string>> ns_ports;
  for (const auto& i : s.instances) {
    port_map.push_back(quoted(i.tap) + " : jump port_" + i.tap);
    ns_map.push_back(quoted(i.tap) + " : jump ns_" + i.ns);
    ns_ports[i.ns].push_back(quoted(i.tap));
  }
  out += "table bridge seed {\n";
  // Ports are recognised by name: every Seed tap starts with tap_prefix. (Matching the bridge
  // itself needs `meta ibrname`, which not every kernel builds; names work everywhere.) Frames
  // from a Seed-named port that is not in the spec (a leftover tap) are dropped.
  const std::string seed_ports = quoted(std::string(tap_prefix) + "*");
  out += "\tchain prerouting {\n\t\ttype filter hook prerouting priority filter; policy accept;\n";
  if (!port_map.empty()) out += "\t\tiifname vmap { " + join(port_map) + " }\n";
  out += "\t\tiifname " + seed_ports + " drop\n\t}\n";
  for (const auto& i : s.instances) render_port_chain(i, out);
  out += "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n";
  if (!ns_map.empty()) out += "\t\tiifname vmap { " + join(ns_map) + " }\n";
  out += "\t\tiifname " + seed_ports + " drop\n";
  out += "\t\toifname " + seed_ports + " drop\n\t}\n";
  for (const auto& [ns, ports] : ns_ports) {
    out += "\tchain ns_" + ns + " {\n";
    out += "\t\toifname { " + join(ports) + " } accept\n";
    out += "\t\tdrop\n\t}\n";
  }
  out += "}\n";
}

}  // namespace

Result<Ruleset> render_ruleset(const FirewallSpec& spec) {
  CheckedSpec s = SEED_TRY(validate_firewall_spec(spec));
  ExposePlan plan = plan_exposes(spec);
  if (!plan.forwards.empty() && s.public4.empty() && s.public6.empty()) {
    return make_error(Errc::invalid_argument,
                      "instances expose tcp/udp/dns ports but no public address is configured: "
                      "set network.public_addresses")
        .with("stage", "network");
  }
  Ruleset r;
  r.text = std::string(header);
  r.text += "table inet seed {\n";
  render_nat(s, plan, r.text);
  render_filter(s, r.text);
  r.text += "}\n";
  render_bridge(s, r.text);
  r.conflicts = std::move(plan.conflicts);
  return r;
}

std::string render_removal() { return std::string(header); }

}  // namespace seed::net
