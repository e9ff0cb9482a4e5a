// A firewall desired state shared by the golden tests and the real-kernel tests, so the rules
// that are golden-checked are the ones proven to load and to filter packets.
#pragma once

#include "net/firewall_spec.hpp"
#include "net/names.hpp"

namespace seed::net::testing {

// Builds an instance entry with the tap name and MAC Seed derives from its identity.
inline FirewallInstance sample_instance(const std::string& ns, const std::string& name,
                                        const std::string& ipv4, const std::string& ipv6,
                                        std::vector<Expose> exposes = {}) {
  InstanceId id{ns, name};
  return FirewallInstance{ns, name, *tap_name(id), instance_mac(id)->str(), ipv4, ipv6,
                          std::move(exposes)};
}

// alpha/web and alpha/api share a namespace; beta/db is another tenant. web exposes 8080/tcp
// and DNS on 53; db asks for 8080/tcp too (a conflict: web keeps it) and gets 5432/tcp.
// Guests reach seedd's guest API on 9876 and, on the LAN, only what the allow list names.
inline FirewallSpec sample_spec() {
  FirewallSpec s;
  s.bridge = "seed0";
  s.subnet = "10.88.0.0/24";
  s.gateway = "10.88.0.1";
  s.subnet6 = "fd5e:ed00::/64";
  s.gateway6 = "fd5e:ed00::1";
  s.public_addresses = {"192.0.2.1", "2001:db8::1"};
  s.guest_api_port = 9876;
  // The LAN (192.168.7.0/24 in the real-kernel tests) is closed except one service.
  s.egress.allow = {{"192.168.7.2/32", "tcp", 8000}, {"fd00:7::/64", "", 0}};
  s.instances = {
      sample_instance("alpha", "web", "10.88.0.2", "fd5e:ed00::2",
                      {{8080, ExposeProtocol::tcp, 80}, {53, ExposeProtocol::dns, 5353},
                       {443, ExposeProtocol::https, 443}}),
      sample_instance("alpha", "api", "10.88.0.3", "fd5e:ed00::3",
                      {{443, ExposeProtocol::https, 8443}}),
      sample_instance("beta", "db", "10.88.0.4", "",
                      {{8080, ExposeProtocol::tcp, 80}, {5432, ExposeProtocol::tcp, 5432}}),
  };
  return s;
}

}  // namespace seed::net::testing
