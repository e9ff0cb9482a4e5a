// Renders the node's whole firewall from a FirewallSpec: a pure function, golden-tested.
//
// Two tables named `seed`, both owned by seedd and replaced whole in one nft transaction
// (each is created if missing, deleted, and defined again inside a single batch, so the kernel
// swaps old for new atomically and never runs a half-written ruleset):
//   - `inet seed`: NAT (masquerade for guest egress, DNAT of exposed tcp/udp/dns ports),
//     host protection (from the bridge only the bridge address is reachable) and routed
//     forwarding (nothing new enters the bridge unless DNAT'd; the host never routes between
//     two bridge ports).
//   - `bridge seed`: what happens between the taps of one bridge, which the inet family never
//     sees: anti-spoofing on every port (source MAC, IPv4, IPv6 and ARP sender pinned to the
//     instance; router advertisements refused) and namespace isolation of bridged frames.
// Other tables are left alone, and so are bridges whose ports are not named like Seed's taps.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "net/expose_plan.hpp"
#include "net/firewall_spec.hpp"

namespace seed::net {

struct Ruleset {
  std::string text;             // one nft batch
  std::vector<Error> conflicts;  // exposes refused (see expose_plan.hpp); the rest applies
};

// Errc::invalid_argument for a spec that cannot be rendered safely (bad or duplicate names,
// MACs or addresses, an address outside the subnet); the message names the instance and field.
Result<Ruleset> render_ruleset(const FirewallSpec& spec);

// The batch that removes both seed tables (and succeeds when they are already gone).
std::string render_removal();

}  // namespace seed::net
