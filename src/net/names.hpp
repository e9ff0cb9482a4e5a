// Names derived from an instance's identity (namespace + instance name): its tap device name
// and its MAC address. Both are pure functions of the identity, so seedd finds the same tap
// after a restart without storing anything, and two nodes never disagree.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace seed::net {

struct InstanceId {
  std::string ns;    // tenant namespace, a DNS label
  std::string name;  // instance name, a DNS label
  auto operator<=>(const InstanceId&) const = default;
  std::string str() const { return ns + "/" + name; }  // for logs, errors and link aliases
};

// Both parts must be DNS labels (1-63 of a-z, 0-9, '-', not starting or ending with '-'):
// they become DNS names (<instance>.<namespace>.<domain>) and nftables identifiers.
Status validate_instance_id(const InstanceId& id);

// "sd" + 13 base32 characters of SHA-256(identity) = 15 characters, the longest name Linux
// allows (IFNAMSIZ - 1). 65 bits of a cryptographic hash: tenants pick names, so a weak hash
// would let one tenant craft a name whose tap collides with another's. The link alias records
// the identity as well, and ensure_tap refuses a tap whose alias names someone else.
inline constexpr std::string_view tap_prefix = "sd";
Result<std::string> tap_name(const InstanceId& id);

struct Mac {
  std::array<uint8_t, 6> bytes{};
  auto operator<=>(const Mac&) const = default;
  std::string str() const;  // "02:ab:..."
};
Result<Mac> parse_mac(std::string_view text, std::string_view what);

// The guest's own MAC (the VMM's `mac=`): locally administered (bit 1 of the first octet
// set), unicast (bit 0 clear), from a hash of the identity that is independent of the tap
// name's hash. Never equal to tap_mac() or bridge_mac().
Result<Mac> instance_mac(const InstanceId& id);

// The host side of every Seed tap. It must differ from the guest's MAC: the bridge keeps a
// local FDB entry for each port's own address and delivers frames sent to it to the host, so a
// tap carrying its guest's MAC swallows every frame other guests send that guest. All taps
// share this one address (as Xen's vifs share fe:ff:ff:ff:ff:ff), which no guest MAC can equal,
// so no tenant can pick a name whose tap address shadows another tenant's guest; the kernel
// keeps one local FDB entry for a MAC several ports carry.
Mac tap_mac();
// The bridge's own address (the gateway's MAC guests see). Set explicitly so it stays put:
// a bridge without one takes the lowest port MAC and changes it as taps come and go.
Mac bridge_mac();

// Linux interface names: 1-15 characters, no '/', no whitespace, not "." or "..". Seed keeps
// to [A-Za-z0-9_.-] so names are safe inside nftables rules as well.
Status validate_ifname(std::string_view name, std::string_view what);

}  // namespace seed::net
