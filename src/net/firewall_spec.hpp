// The desired state of the node's firewall: everything ruleset.hpp needs to render the `seed`
// tables, as plain values. The reconcile engine fills it from its instances; nothing in it is
// trusted until validate_firewall_spec() has checked it (names end up inside nft syntax).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace seed::net {

enum class ExposeProtocol { tcp, udp, dns, http, https, grpc };

struct Expose {
  uint16_t public_port = 0;
  ExposeProtocol protocol = ExposeProtocol::tcp;
  uint16_t guest_port = 0;
};

struct FirewallInstance {
  std::string ns;
  std::string name;
  std::string tap;   // the bridge port the instance's frames arrive on
  std::string mac;
  std::string ipv4;
  std::string ipv6;  // empty: the instance has no IPv6 address
  std::vector<Expose> exposes;
};

// One destination guests may reach even though it is private: a prefix, optionally narrowed
// to one TCP or UDP port. Written "192.168.1.0/24", "192.168.1.20 tcp/443", "fd00::5 udp/53"
// (parse_egress_rule in egress_rule.hpp).
struct EgressRule {
  std::string cidr;      // canonical prefix ("192.168.1.20/32")
  std::string protocol;  // "", "tcp" or "udp"
  uint16_t port = 0;     // with a protocol; 0 with none
  bool operator==(const EgressRule&) const = default;
};

// Where guests' own connections may go beyond the node (docs/firewall.md). Private, CGNAT,
// link-local and unique-local destinations and the node's own ranges are closed unless a rule
// in `allow` opens them: a homelab's LAN is not the tenants' to probe.
struct EgressPolicy {
  bool internet = true;            // everything else (public addresses); false: only `allow`
  std::vector<EgressRule> allow;
};

struct FirewallSpec {
  std::string bridge = "seed0";
  std::string subnet;    // "10.0.0.0/24"
  std::string gateway;   // the bridge's IPv4 address, the only host address guests reach
  std::string subnet6;   // optional
  std::string gateway6;  // the bridge's IPv6 address, with subnet6
  // Node addresses that exposed tcp/udp/dns ports are forwarded from.
  std::vector<std::string> public_addresses;
  // Guests reach the bridge address only for DNS (53) and seedd's guest HTTP listener (the
  // ACME facade, shoot: api.port). 0: no guest listener.
  uint16_t guest_api_port = 0;
  EgressPolicy egress;
  // Order matters: on a port conflict the instance listed first keeps the port. seedd passes
  // only the exposes of the instance holding each port (reconcile/port_claims.hpp), so this
  // is a safety net there, never what decides.
  std::vector<FirewallInstance> instances;
};

}  // namespace seed::net
