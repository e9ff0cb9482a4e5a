// veth pairs: a cheap stand-in for an instance in tests (the far end lives in its own network
// namespace and behaves like a guest's NIC), and the uplink of a test "node".
#pragma once

#include <string>

#include "common/error.hpp"
#include "net/netlink.hpp"

namespace seed::net {

struct VethSpec {
  std::string name;       // stays in the caller's namespace
  std::string peer;       // the far end's name
  int peer_netns_fd = -1;  // an open /run/netns/<name> (or /proc/<pid>/ns/net); -1: stay here
};

// Idempotent on the near end: an existing veth named `name` is success.
Result<LinkInfo> ensure_veth(const NlSocket& sock, const VethSpec& spec);

}  // namespace seed::net
