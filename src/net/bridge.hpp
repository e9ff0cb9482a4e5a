// The node bridge (seed0): exists, is a bridge, has its fixed MAC, carries exactly its
// configured addresses and is up. Every tap joins it.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "net/netlink.hpp"

namespace seed::net {

struct BridgeSpec {
  std::string name = "seed0";
  std::vector<LinkAddress> addresses;  // the gateway addresses, with their prefix lengths
  // Set explicitly so the kernel never changes it (a bridge without an assigned MAC takes
  // its lowest port's and follows the taps as instances come and go).
  Mac mac = bridge_mac();
};

// Idempotent. Errc::conflict when a link of that name exists but is not a bridge.
Result<LinkInfo> ensure_bridge(const NlSocket& sock, const BridgeSpec& spec);

}  // namespace seed::net
