#include "net/netlink.hpp"

#include <linux/if_addr.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace seed::net {
namespace {

template <class T, void (*Free)(T*)>
struct Ptr {
  struct D {
    void operator()(T* p) const { Free(p); }
  };
  using type = std::unique_ptr<T, D>;
};
using LinkPtr = Ptr<rtnl_link, rtnl_link_put>::type;
using AddrPtr = Ptr<rtnl_addr, rtnl_addr_put>::type;
using NlAddrPtr = Ptr<nl_addr, nl_addr_put>::type;
using CachePtr = Ptr<nl_cache, nl_cache_free>::type;

Errc errc_of(int err) {
  switch (-std::abs(err)) {
    case -NLE_EXIST: return Errc::already_exists;
    case -NLE_OBJ_NOTFOUND:
    case -NLE_NODEV: return Errc::not_found;
    case -NLE_PERM: return Errc::permission_denied;
    case -NLE_BUSY: return Errc::in_use;
    case -NLE_INVAL:
    case -NLE_RANGE: return Errc::invalid_argument;
    default: return Errc::io;
  }
}

Mac mac_of(rtnl_link* link) {
  Mac m;
  nl_addr* a = rtnl_link_get_addr(link);
  if (a && nl_addr_get_len(a) == 6) std::memcpy(m.bytes.data(), nl_addr_get_binary_addr(a), 6);
  return m;
}

NlAddrPtr to_nl_addr(const LinkAddress& a) {
  nl_addr* out = nullptr;
  if (auto* v4 = std::get_if<Ipv4>(&a.address)) {
    uint32_t be = htonl(v4->value);
    out = nl_addr_build(AF_INET, &be, 4);
  } else {
    out = nl_addr_build(AF_INET6, std::get<Ipv6>(a.address).bytes.data(), 16);
  }
  if (out) nl_addr_set_prefixlen(out, a.prefix_length);
  return NlAddrPtr(out);
}

std::optional<LinkAddress> from_rtnl_addr(rtnl_addr* a) {
  nl_addr* local = rtnl_addr_get_local(a);
  if (!local) return std::nullopt;
  LinkAddress out;
  out.prefix_length = rtnl_addr_get_prefixlen(a);
  if (nl_addr_get_family(local) == AF_INET && nl_addr_get_len(local) == 4) {
    uint32_t be;
    std::memcpy(&be, nl_addr_get_binary_addr(local), 4);
    out.address = Ipv4{ntohl(be)};
  } else if (nl_addr_get_family(local) == AF_INET6 && nl_addr_get_len(local) == 16) {
    Ipv6 v6;
    std::memcpy(v6.bytes.data(), nl_addr_get_binary_addr(local), 16);
    out.address = v6;
  } else {
    return std::nullopt;
  }
  return out;
}

LinkInfo info_of(rtnl_link* raw) {
  LinkInfo info;
  info.ifindex = rtnl_link_get_ifindex(raw);
  info.name = rtnl_link_get_name(raw);
  if (const char* kind = rtnl_link_get_type(raw)) info.kind = kind;
  if (const char* alias = rtnl_link_get_ifalias(raw)) info.alias = alias;
  info.mac = mac_of(raw);
  info.up = (rtnl_link_get_flags(raw) & IFF_UP) != 0;
  info.master = rtnl_link_get_master(raw);
  return info;
}

}  // namespace

Error nl_error(int err, const std::string& what, const std::string& link) {
  return make_error(errc_of(err), what + " " + link + ": " + nl_geterror(err))
      .with("link", link)
      .with("stage", "network");
}

void NlSocket::Deleter::operator()(nl_sock* s) const { nl_socket_free(s); }

Result<NlSocket> NlSocket::open() {
  NlSocket s;
  s.sock_.reset(nl_socket_alloc());
  if (!s.sock_) return make_error(Errc::internal, "cannot allocate a netlink socket");
  if (int err = nl_connect(s.sock_.get(), NETLINK_ROUTE); err < 0) {
    return nl_error(err, "connecting to rtnetlink for", "(all links)");
  }
  return s;
}

Result<std::optional<LinkInfo>> find_link(const NlSocket& sock, const std::string& name) {
  rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(sock.get(), 0, name.c_str(), &raw);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return std::optional<LinkInfo>{};
  if (err < 0) return nl_error(err, "looking up link", name);
  LinkPtr link(raw);
  return std::optional<LinkInfo>{info_of(raw)};
}

Result<std::vector<LinkInfo>> list_ports(const NlSocket& sock, int master) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_link_alloc_cache(sock.get(), AF_UNSPEC, &raw); err < 0) {
    return nl_error(err, "listing the ports of link", std::to_string(master));
  }
  CachePtr cache(raw);
  std::vector<LinkInfo> out;
  for (nl_object* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
    auto* l = reinterpret_cast<rtnl_link*>(o);
    if (rtnl_link_get_master(l) == master) out.push_back(info_of(l));
  }
  return out;
}

Result<LinkInfo> get_link(const NlSocket& sock, const std::string& name) {
  auto found = find_link(sock, name);
  if (!found) return std::move(found).error();
  if (!found->has_value()) {
    return make_error(Errc::not_found, "link " + name + " does not exist")
        .with("link", name)
        .with("stage", "network");
  }
  return std::move(**found);
}

Status change_link(const NlSocket& sock, const LinkInfo& current, const LinkChange& change) {
  LinkPtr orig(rtnl_link_alloc());
  LinkPtr want(rtnl_link_alloc());
  if (!orig || !want) return make_error(Errc::internal, "cannot allocate a netlink link");
  rtnl_link_set_ifindex(orig.get(), current.ifindex);
  rtnl_link_set_name(orig.get(), current.name.c_str());
  bool any = false;
  if (change.master && *change.master != current.master) {
    rtnl_link_set_master(want.get(), *change.master);
    any = true;
  }
  if (change.mac && *change.mac != current.mac) {
    NlAddrPtr a(nl_addr_build(AF_LLC, change.mac->bytes.data(), 6));
    rtnl_link_set_addr(want.get(), a.get());
    any = true;
  }
  if (change.alias && *change.alias != current.alias) {
    rtnl_link_set_ifalias(want.get(), change.alias->c_str());
    any = true;
  }
  if (change.up && !current.up) {
    rtnl_link_set_flags(want.get(), IFF_UP);
    any = true;
  }
  if (!any) return ok();
  if (int err = rtnl_link_change(sock.get(), orig.get(), want.get(), 0); err < 0) {
    return nl_error(err, "changing link", current.name);
  }
  return ok();
}

Status delete_link(const NlSocket& sock, const std::string& name) {
  LinkPtr link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  int err = rtnl_link_delete(sock.get(), link.get());
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return ok();
  if (err < 0) return nl_error(err, "deleting link", name);
  return ok();
}

std::string to_string(const LinkAddress& a) {
  std::string addr = std::visit([](const auto& v) { return v.str(); }, a.address);
  return addr + "/" + std::to_string(a.prefix_length);
}

Result<std::vector<LinkAddress>> list_addresses(const NlSocket& sock, int ifindex) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_addr_alloc_cache(sock.get(), &raw); err < 0) {
    return nl_error(err, "listing addresses of link", std::to_string(ifindex));
  }
  CachePtr cache(raw);
  std::vector<LinkAddress> out;
  for (nl_object* o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_scope(a) != RT_SCOPE_UNIVERSE) continue;
    if (auto la = from_rtnl_addr(a)) out.push_back(*la);
  }
  return out;
}

Status sync_addresses(const NlSocket& sock, const LinkInfo& link,
                      const std::vector<LinkAddress>& wanted) {
  auto present = SEED_TRY(list_addresses(sock, link.ifindex));
  auto make = [&](const LinkAddress& a) {
    AddrPtr addr(rtnl_addr_alloc());
    NlAddrPtr local = to_nl_addr(a);
    rtnl_addr_set_ifindex(addr.get(), link.ifindex);
    rtnl_addr_set_family(addr.get(), nl_addr_get_family(local.get()));
    rtnl_addr_set_local(addr.get(), local.get());
    rtnl_addr_set_prefixlen(addr.get(), a.prefix_length);
    // No duplicate address detection on the bridge: the address is ours by configuration,
    // and DAD would leave it "tentative" (unusable) for a second after every start.
    if (nl_addr_get_family(local.get()) == AF_INET6) rtnl_addr_set_flags(addr.get(), IFA_F_NODAD);
    return addr;
  };
  for (const auto& p : present) {
    if (std::find(wanted.begin(), wanted.end(), p) != wanted.end()) continue;
    if (int err = rtnl_addr_delete(sock.get(), make(p).get(), 0); err < 0 && err != -NLE_NOADDR) {
      return nl_error(err, "removing stale address " + to_string(p) + " from", link.name);
    }
  }
  for (const auto& w : wanted) {
    if (std::find(present.begin(), present.end(), w) != present.end()) continue;
    if (int err = rtnl_addr_add(sock.get(), make(w).get(), 0); err < 0 && err != -NLE_EXIST) {
      return nl_error(err, "adding address " + to_string(w) + " to", link.name);
    }
  }
  return ok();
}

}  // namespace seed::net
