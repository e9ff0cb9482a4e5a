#include "net/veth.hpp"

#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

namespace seed::net {

Result<LinkInfo> ensure_veth(const NlSocket& sock, const VethSpec& spec) {
  SEED_TRY(validate_ifname(spec.name, "veth"));
  SEED_TRY(validate_ifname(spec.peer, "veth peer"));
  if (auto found = SEED_TRY(find_link(sock, spec.name))) {
    if (found->kind != "veth") {
      return make_error(Errc::conflict, "link " + spec.name + " exists but is not a veth")
          .with("link", spec.name);
    }
    return *found;
  }
  rtnl_link* link = rtnl_link_veth_alloc();
  if (!link) return make_error(Errc::internal, "cannot allocate a veth link");
  rtnl_link_set_name(link, spec.name.c_str());
  rtnl_link* peer = rtnl_link_veth_get_peer(link);
  rtnl_link_set_name(peer, spec.peer.c_str());
  if (spec.peer_netns_fd >= 0) rtnl_link_set_ns_fd(peer, spec.peer_netns_fd);
  int err = rtnl_link_add(sock.get(), link, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put(peer);
  rtnl_link_veth_release(link);
  if (err < 0) return nl_error(err, "creating veth pair", spec.name + "/" + spec.peer);
  return get_link(sock, spec.name);
}

}  // namespace seed::net
