#include "net/bridge.hpp"

#include <netlink/route/link/bridge.h>

#include "common/log.hpp"
#include "common/reverter.hpp"

namespace seed::net {

Result<LinkInfo> ensure_bridge(const NlSocket& sock, const BridgeSpec& spec) {
  SEED_TRY(validate_ifname(spec.name, "network.bridge"));
  auto found = SEED_TRY(find_link(sock, spec.name));
  Reverter revert;  // a bridge this call created goes again if a later step fails
  if (!found) {
    if (int err = rtnl_link_bridge_add(sock.get(), spec.name.c_str()); err < 0) {
      return nl_error(err, "creating bridge", spec.name);
    }
    revert.add([&] { (void)delete_link(sock, spec.name); });
    log::info("net.bridge_created", {{"bridge", spec.name}});
    found = SEED_TRY(get_link(sock, spec.name));
  } else if (found->kind != "bridge") {
    return make_error(Errc::conflict,
                      "link " + spec.name + " exists but is a " +
                          (found->kind.empty() ? std::string("device without a kind") : found->kind) +
                          ", not a bridge: rename it or configure another network.bridge")
        .with("link", spec.name)
        .with("stage", "network");
  }
  SEED_TRY(sync_addresses(sock, *found, spec.addresses));
  LinkChange change;
  change.mac = spec.mac;
  change.up = true;
  SEED_TRY(change_link(sock, *found, change));
  auto result = SEED_TRY(get_link(sock, spec.name));
  revert.success();
  return result;
}

}  // namespace seed::net
