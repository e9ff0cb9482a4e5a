// A tiny typed facade over libnl-route: one rtnetlink socket, link lookup, the few link
// changes Seed makes (master, MAC, alias, up), deletion, and addresses. Link kinds live in
// their own files (bridge.hpp, tap.hpp, veth.hpp). Everything acts in the network namespace
// the calling thread is in when the socket is opened.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/error.hpp"
#include "net/ip_address.hpp"
#include "net/names.hpp"

struct nl_sock;

namespace seed::net {

// libnl's error code turned into an Error naming the operation and the link.
Error nl_error(int err, const std::string& what, const std::string& link);

class NlSocket {
 public:
  static Result<NlSocket> open();
  nl_sock* get() const { return sock_.get(); }

 private:
  struct Deleter {
    void operator()(nl_sock* s) const;
  };
  std::unique_ptr<nl_sock, Deleter> sock_;
};

struct LinkInfo {
  int ifindex = 0;
  std::string name;
  std::string kind;   // "bridge", "tun", "veth", ... (empty for kinds without link info)
  std::string alias;  // IFLA_IFALIAS; Seed writes the instance identity here
  Mac mac;
  bool up = false;    // administratively up (IFF_UP)
  int master = 0;     // ifindex of the bridge it is enslaved to, or 0
};

// nullopt when no link has that name.
Result<std::optional<LinkInfo>> find_link(const NlSocket& sock, const std::string& name);

// The links enslaved to `master` (a bridge's ports).
Result<std::vector<LinkInfo>> list_ports(const NlSocket& sock, int master);

// find_link for a link that must exist: Errc::not_found otherwise.
Result<LinkInfo> get_link(const NlSocket& sock, const std::string& name);

struct LinkChange {
  std::optional<int> master;
  std::optional<Mac> mac;
  std::optional<std::string> alias;
  bool up = false;  // bring it up (Seed never needs to bring a link down)
};
// Applies only what differs from `current`, so a repeat changes nothing (and emits no events).
Status change_link(const NlSocket& sock, const LinkInfo& current, const LinkChange& change);

// Idempotent: a link that is already gone is success.
Status delete_link(const NlSocket& sock, const std::string& name);

using IpAddress = std::variant<Ipv4, Ipv6>;
struct LinkAddress {
  IpAddress address;
  int prefix_length = 0;
  bool operator==(const LinkAddress&) const = default;
};
std::string to_string(const LinkAddress& a);

// Global-scope addresses on a link.
Result<std::vector<LinkAddress>> list_addresses(const NlSocket& sock, int ifindex);
// Adds `wanted` that are missing and removes other global addresses: the link ends up with
// exactly `wanted` (link-local addresses are the kernel's and stay).
Status sync_addresses(const NlSocket& sock, const LinkInfo& link,
                      const std::vector<LinkAddress>& wanted);

}  // namespace seed::net
