// Which exposed ports get forwarded, and which are refused as conflicts. Pure.
//
// tcp and udp exposes claim (protocol, public port); dns claims both udp and tcp. http, https
// and grpc are served by the shared ingress proxy: they claim the tcp port for the ingress as a
// whole, so many instances can share 80/443 there, but no tcp/dns expose can take such a port
// (and the other way round). The instance listed first keeps a contested port; every later
// claim gets its own Errc::conflict error. Nothing is ever silently overridden. (Which instance
// may have a port at all, the first to claim it, is decided before this: the reconcile
// engine's port_claims.hpp.)
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "net/firewall_spec.hpp"

namespace seed::net {

enum class L4 { tcp, udp };
std::string_view to_string(L4 p);
std::string_view to_string(ExposeProtocol p);

struct PortForward {
  size_t instance = 0;  // index into FirewallSpec::instances
  L4 protocol = L4::tcp;
  uint16_t public_port = 0;
  uint16_t guest_port = 0;
};

struct ExposePlan {
  std::vector<PortForward> forwards;  // DNAT rules, in spec order
  std::vector<Error> conflicts;       // one per refused expose, in spec order
};

ExposePlan plan_exposes(const FirewallSpec& spec);

}  // namespace seed::net
