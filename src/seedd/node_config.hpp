// The node-wide part of seedd's configuration: zone, addresses, storage backend, network,
// ports, ACME and evaluation, read and validated strictly so the file the NixOS host module
// renders is accepted (or refused with every problem at once) by every seedd. node.cpp hands
// each section to the part that acts on it: domain, addresses, network and storage to the
// network, volume driver, DNS zone and engine, `ssh` to the SSH front end, `eval` to nix.
// `api` and `acme` are read and checked but not acted on until src/api exists (the HTTP API
// and ACME facade, issue 15).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json_reader.hpp"
#include "net/firewall_spec.hpp"

namespace seed {

struct NodeConfig {
  std::string domain;  // the zone instances live in; empty: not set (DNS names unavailable)
  std::vector<std::string> public_addresses;
  struct Storage {
    std::string backend = "file";  // file | lvm
    std::string volume_group;      // lvm
    std::string directory = "/var/lib/seed/volumes";  // file
  } storage;
  struct Network {
    std::string bridge = "seed0";
    std::string subnet = "10.100.0.0/16";
    std::string ipv6_prefix;  // empty: no IPv6
    // "egress": {"internet": bool, "allow": ["192.168.1.20/32 tcp/443", ...]}: where guests'
    // own connections may go (docs/firewall.md). Default: the internet, nothing private.
    net::EgressPolicy egress;
  } network;
  uint64_t ssh_port = 22;
  uint64_t api_port = 9876;
  struct Acme {
    std::string directory;  // upstream ACME directory URL; empty: the facade's default
    std::string contact;
    bool internal_ca = false;
  } acme;
  struct Eval {
    std::string user;  // unprivileged user for nix eval; empty: the daemon's own user
    // Flake registry file for indirect inputs (`flake:seed`); empty: nix's global registry.
    std::string flake_registry;
  } eval;
};

// Reads the node keys from the top-level reader (marking them known) and returns the
// problems that go beyond types (values out of range, inconsistent combinations).
std::vector<std::string> read_node_config(JsonReader& top, NodeConfig& out);

}  // namespace seed
