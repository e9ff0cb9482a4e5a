#include "net/tap.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <cstring>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/reverter.hpp"

namespace seed::net {
namespace {

Status create_persistent_tap(const TapSpec& spec) {
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd) {
    return errno_error("opening /dev/net/tun to create tap " + spec.name, errno)
        .with("stage", "network")
        .with("hint", "load the tun module (modprobe tun) and run seedd as root");
  }
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, spec.name.c_str(), IFNAMSIZ - 1);
  // IFF_VNET_HDR: VMMs use virtio-net headers; it is only a default, the opener sets its own.
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (spec.multi_queue) ifr.ifr_flags |= IFF_MULTI_QUEUE;
  auto fail = [&](const char* step) {
    return errno_error(std::string(step) + " for tap " + spec.name, errno)
        .with("link", spec.name)
        .with("stage", "network");
  };
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) < 0) return fail("TUNSETIFF");
  if (spec.owner && ::ioctl(fd.get(), TUNSETOWNER, static_cast<unsigned long>(*spec.owner)) < 0) {
    return fail("TUNSETOWNER");
  }
  if (::ioctl(fd.get(), TUNSETPERSIST, 1) < 0) return fail("TUNSETPERSIST");
  return ok();
}

}  // namespace

std::string tap_alias(const std::string& identity) { return "seed:" + identity; }

Result<LinkInfo> ensure_tap(const NlSocket& sock, const TapSpec& spec) {
  SEED_TRY(validate_ifname(spec.name, "tap"));
  const std::string alias = tap_alias(spec.owner_identity);
  auto bridge = SEED_TRY(find_link(sock, spec.bridge));
  if (!bridge) {
    return make_error(Errc::not_found, "bridge " + spec.bridge + " does not exist; ensure the "
                                       "bridge before the instance's tap")
        .with("link", spec.name)
        .with("stage", "network");
  }
  auto found = SEED_TRY(find_link(sock, spec.name));
  if (found && found->kind != "tun") {
    return make_error(Errc::conflict, "link " + spec.name + " exists but is a " +
                                          (found->kind.empty() ? "device without a kind" : found->kind) +
                                          ", not a tap; remove it so instance " +
                                          spec.owner_identity + " can have its tap")
        .with("link", spec.name)
        .with("stage", "network");
  }
  if (found && !found->alias.empty() && found->alias != alias) {
    return make_error(Errc::conflict, "tap " + spec.name + " belongs to " + found->alias +
                                          ", not to " + spec.owner_identity +
                                          " (a tap name collision); remove that instance first")
        .with("link", spec.name)
        .with("stage", "network");
  }
  // A tap this call created is deleted again if a later step fails: no half-set-up tap stays.
  Reverter revert;
  if (!found) {
    SEED_TRY(create_persistent_tap(spec));
    revert.add([&] { (void)delete_link(sock, spec.name); });
    log::info("net.tap_created", {{"tap", spec.name}, {"instance", spec.owner_identity}});
    found = SEED_TRY(get_link(sock, spec.name));
  }
  LinkChange change;
  change.master = bridge->ifindex;
  change.mac = tap_mac();
  change.alias = alias;
  change.up = true;
  SEED_TRY(change_link(sock, *found, change));
  auto result = SEED_TRY(get_link(sock, spec.name));
  revert.success();
  return result;
}

Status remove_tap(const NlSocket& sock, const std::string& name) {
  SEED_TRY(validate_ifname(name, "tap"));
  auto found = SEED_TRY(find_link(sock, name));
  if (!found) return ok();
  if (found->kind != "tun") {
    return make_error(Errc::conflict, "refusing to delete " + name + ": it is a " +
                                          found->kind + ", not a tap")
        .with("link", name)
        .with("stage", "network");
  }
  SEED_TRY(delete_link(sock, name));
  log::info("net.tap_removed", {{"tap", name}});
  return ok();
}

}  // namespace seed::net
