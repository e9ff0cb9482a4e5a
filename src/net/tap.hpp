// Persistent tap devices, one per instance, attached to the bridge. Netlink cannot create a
// tun/tap device, so creation goes through /dev/net/tun (TUNSETIFF + TUNSETPERSIST); the
// device then outlives our fd and the VMM opens it by name. Everything else is netlink.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/error.hpp"
#include "net/netlink.hpp"

namespace seed::net {

// The tap's own MAC is always tap_mac() (names.hpp), never the guest's: the guest's MAC is
// the VMM's business (`mac=`), and a port carrying it would swallow frames meant for the guest.
struct TapSpec {
  std::string name;
  std::string bridge;
  std::string owner_identity;  // written as the link alias ("seed:<ns>/<name>")
  std::optional<uid_t> owner;  // TUNSETOWNER: lets an unprivileged VMM open it
  // Must match how the VMM will open it: the kernel refuses to attach a multi-queue opener to
  // a single-queue tap and the other way round.
  bool multi_queue = false;
};

std::string tap_alias(const std::string& identity);

// Idempotent: creates the tap if missing, then makes master, MAC, alias and up state right
// (a tap made by an older seedd with its guest's MAC gets tap_mac(); the VM keeps running).
// Errc::conflict when a link of that name exists that is not a tap, or is a tap owned by
// another instance (its alias says so).
Result<LinkInfo> ensure_tap(const NlSocket& sock, const TapSpec& spec);

// Idempotent: a missing tap is success.
Status remove_tap(const NlSocket& sock, const std::string& name);

}  // namespace seed::net
