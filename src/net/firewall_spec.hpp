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

struct FirewallSpec {
  std::string bridge = "seed0";
  std::string subnet;    // "10.0.0.0/24"
  std::string gateway;   // the bridge's IPv4 address, the only host address guests reach
  std::string subnet6;   // optional
  std::string gateway6;  // the bridge's IPv6 address, with subnet6
  // Node addresses that exposed tcp/udp/dns ports are forwarded from.
  std::vector<std::string> public_addresses;
  // Order matters: on a port conflict the instance listed first keeps the port. seedd passes
  // only the exposes of the instance holding each port (reconcile/port_claims.hpp), so this
  // is a safety net there, never what decides.
  std::vector<FirewallInstance> instances;
};

}  // namespace seed::net
