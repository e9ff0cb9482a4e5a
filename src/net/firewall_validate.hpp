// Checks a FirewallSpec before anything of it is written into nft syntax: every name must be
// a plain identifier, every address must parse and sit where it belongs, and no two instances
// may share a tap, MAC or address. The result carries canonical strings ready to render.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "net/firewall_spec.hpp"

namespace seed::net {

struct CheckedInstance {
  std::string id;  // "ns/name"
  std::string ns;
  std::string tap;
  std::string mac;   // lowercase
  std::string ipv4;  // canonical
  std::string ipv6;  // canonical, or empty
};

struct CheckedSpec {
  std::string bridge;
  std::string subnet, gateway, subnet6, gateway6;
  std::vector<std::string> public4, public6;
  uint16_t guest_api_port = 0;
  bool internet = true;
  std::vector<EgressRule> allow4, allow6;  // canonical, in the spec's order
  std::vector<CheckedInstance> instances;  // same order as the spec
};

Result<CheckedSpec> validate_firewall_spec(const FirewallSpec& spec);

}  // namespace seed::net
