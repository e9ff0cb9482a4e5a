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

// What guests may reach on the bridge address: DNS and seedd's guest HTTP listener. Anything
// else the node runs on a wildcard address (the owner's own services, seedd's SSH on "::") is
// not for tenants. Replies to connections the host opened (health checks, the ingress) pass.
void render_input(const CheckedSpec& s, std::string& out) {
  const std::string br = quoted(s.bridge);
  std::string tcp = "53";
  if (s.guest_api_port != 0) tcp = "{ 53, " + std::to_string(s.guest_api_port) + " }";
  out += "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n";
  out += "\t\tiifname != " + br + " accept\n";
  out += "\t\tct state established,related accept\n";
  out += "\t\tip daddr " + s.gateway + " udp dport 53 accept\n";
  out += "\t\tip daddr " + s.gateway + " tcp dport " + tcp + " accept\n";
  out += "\t\tip daddr " + s.gateway + " icmp type echo-request accept\n";
  if (!s.gateway6.empty()) {
    out += "\t\tip6 daddr " + s.gateway6 + " udp dport 53 accept\n";
    out += "\t\tip6 daddr " + s.gateway6 + " tcp dport " + tcp + " accept\n";
  }
  // Neighbour discovery and multicast listener reports keep IPv6 on the bridge working.
  std::vector<std::string> v6{"fe80::/64", "ff02::/16"};
  if (!s.gateway6.empty()) v6.insert(v6.begin(), s.gateway6);
  out += "\t\tip6 daddr { " + join(v6) + " } icmpv6 type { echo-request, nd-neighbor-solicit, "
         "nd-neighbor-advert, nd-router-solicit, mld-listener-report, mld2-listener-report } accept\n";
  out += "\t\tdrop\n\t}\n";
}

// Destinations closed to guests unless network.egress.allow opens them: private (RFC 1918),
// shared CGNAT space, link-local and unique-local. Public addresses stay open (internet).
constexpr std::string_view closed4 = "{ 10.0.0.0/8, 100.64.0.0/10, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16 }";
constexpr std::string_view closed6 = "{ fc00::/7, fe80::/10 }";

std::string allow_rule(const EgressRule& r) {
  const bool v6 = r.cidr.find(':') != std::string::npos;
  std::string line = std::string("\t\t") + (v6 ? "ip6" : "ip") + " daddr " + r.cidr;
  if (!r.protocol.empty()) line += " " + r.protocol + " dport " + std::to_string(r.port);
  return line + " accept\n";
}

// Guests' own connections leaving the node. Replies (to a client that reached an exposed port
// from the LAN, say) always pass; then the allow list; then the closed ranges and the node's
// own subnets; then the internet, unless it is off.
void render_egress(const CheckedSpec& s, std::string& out) {
  out += "\tchain egress {\n";
  out += "\t\tct state established,related accept\n";
  for (const auto& r : s.allow4) out += allow_rule(r);
  for (const auto& r : s.allow6) out += allow_rule(r);
  out += "\t\tip daddr " + std::string(closed4) + " drop\n";
  out += "\t\tip6 daddr " + std::string(closed6) + " drop\n";
  out += "\t\tip daddr " + s.subnet + " drop\n";
  if (!s.subnet6.empty()) out += "\t\tip6 daddr " + s.subnet6 + " drop\n";
  if (!s.internet) out += "\t\tdrop\n";
  out += "\t}\n";
}

void render_filter(const CheckedSpec& s, std::string& out) {
  const std::string br = quoted(s.bridge);
  render_input(s, out);
  // Nothing new enters the bridge from outside unless it was DNAT'd to an exposed port.
  // Traffic from the bridge back into it (bridged frames seen here when br_netfilter is on, or
  // packets the host routes between two instances) is left to the bridge table, which knows
  // namespaces. Traffic from the bridge out of the node follows the egress policy.
  const std::string inbound = "\t\tiifname != " + br + " oifname " + br;
  out += "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n";
  out += inbound + " ct state established,related accept\n";
  out += inbound + " ct status dnat accept\n";
  out += inbound + " drop\n";
  out += "\t\tiifname " + br + " oifname != " + br + " jump egress\n\t}\n";
  render_egress(s, out);
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
  // A verdict, so the base chain's drop of unknown Seed ports is not reached on return.
  out += "\t\taccept\n\t}\n";
}

struct NsMembers {
  std::vector<std::string> ports, ipv4, ipv6;
};

// Isolation of bridged frames: a frame from a namespace's port may only leave on a port of the
// same namespace.
void render_bridge_forward(const CheckedSpec& s, const std::map<std::string, NsMembers>& ns,
                           const std::string& seed_ports, std::string& out) {
  std::vector<std::string> map;
  for (const auto& i : s.instances) map.push_back(quoted(i.tap) + " : jump ns_" + i.ns);
  out += "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n";
  if (!map.empty()) out += "\t\tiifname vmap { " + join(map) + " }\n";
  out += "\t\tiifname " + seed_ports + " drop\n";
  out += "\t\toifname " + seed_ports + " drop\n\t}\n";
  for (const auto& [name, m] : ns) {
    out += "\tchain ns_" + name + " {\n";
    out += "\t\toifname { " + join(m.ports) + " } accept\n";
    out += "\t\tdrop\n\t}\n";
  }
}

// Isolation of routed packets: a guest could send a packet for another namespace's instance
// to the gateway's MAC and let the host route it. Whatever the host sends to a port must come
// from the host, from outside the subnet, or from the same namespace.
void render_bridge_output(const CheckedSpec& s, const std::map<std::string, NsMembers>& ns,
                          std::string& out) {
  std::vector<std::string> map;
  for (const auto& i : s.instances) map.push_back(quoted(i.tap) + " : jump to_ns_" + i.ns);
  out += "\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n";
  if (!map.empty()) out += "\t\toifname vmap { " + join(map) + " }\n";
  out += "\t}\n";
  for (const auto& [name, m] : ns) {
    auto v4 = m.ipv4;
    v4.insert(v4.begin(), s.gateway);
    out += "\tchain to_ns_" + name + " {\n";
    out += "\t\tip saddr " + s.subnet + " ip saddr != { " + join(v4) + " } drop\n";
    if (!s.subnet6.empty()) {
      auto v6 = m.ipv6;
      if (!s.gateway6.empty()) v6.insert(v6.begin(), s.gateway6);
      if (v6.empty()) {
        out += "\t\tip6 saddr " + s.subnet6 + " drop\n";
      } else {
        out += "\t\tip6 saddr " + s.subnet6 + " ip6 saddr != { " + join(v6) + " } drop\n";
      }
    }
    out += "\t}\n";
  }
}

void render_bridge(const CheckedSpec& s, std::string& out) {
  std::vector<std::string> port_map;
  std::map<std::string, NsMembers> ns;
  for (const auto& i : s.instances) {
    port_map.push_back(quoted(i.tap) + " : jump port_" + i.tap);
    auto& m = ns[i.ns];
    m.ports.push_back(quoted(i.tap));
    m.ipv4.push_back(i.ipv4);
    if (!i.ipv6.empty()) m.ipv6.push_back(i.ipv6);
  }
  // Ports are recognised by name: every Seed tap starts with tap_prefix. (Matching the bridge
  // itself needs `meta ibrname`, which not every kernel builds; names work everywhere.) Frames
  // from a Seed-named port that is not in the spec (a leftover tap) are dropped.
  const std::string seed_ports = quoted(std::string(tap_prefix) + "*");
  out += "table bridge seed {\n";
  out += "\tchain prerouting {\n\t\ttype filter hook prerouting priority filter; policy accept;\n";
  if (!port_map.empty()) out += "\t\tiifname vmap { " + join(port_map) + " }\n";
  out += "\t\tiifname " + seed_ports + " drop\n\t}\n";
  for (const auto& i : s.instances) render_port_chain(i, out);
  render_bridge_forward(s, ns, seed_ports, out);
  render_bridge_output(s, ns, out);
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
