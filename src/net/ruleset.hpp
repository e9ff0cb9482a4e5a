// Renders the node's whole firewall from a FirewallSpec: a pure function, golden-tested.
//
// Two tables named `seed`, both owned by seedd and replaced whole in one nft transaction
// (each is created if missing, deleted, and defined again inside a single batch, so the kernel
// swaps old for new atomically and never runs a half-written ruleset):
//   - `inet seed`: NAT (masquerade for guest egress, DNAT of exposed tcp/udp/dns ports),
//     host protection (from the bridge only DNS and the guest API port on the bridge
//     address), inbound forwarding (nothing new enters the bridge from outside unless DNAT'd)
//     and the egress policy (private, CGNAT, link-local and ULA destinations closed unless
//     allowed).
//   - `bridge seed`: what happens at the taps, which the inet family cannot tell apart:
//     anti-spoofing on every port (source MAC, IPv4, IPv6 and ARP sender pinned to the
//     instance; router advertisements refused), namespace isolation of bridged frames, and of
//     packets the host would route from one namespace's instance to another's.
// The rules hold whether or not br_netfilter passes bridged traffic through the inet hooks.
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
