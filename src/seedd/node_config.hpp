// The node-wide part of seedd's configuration: zone, addresses, storage backend, network,
// ports, ACME and evaluation, read and validated strictly so the file the NixOS host module
// renders is accepted (or refused with every problem at once) by every seedd. node.cpp hands
// each section to the part that acts on it: domain, addresses, network and storage to the
// network, volume driver, DNS zone and engine, `ssh` to the SSH front end, `eval` to nix.
// `api` and `acme` go to the HTTP API and its ACME facade (seedd/api_wiring.hpp); `acme`
// is read in config.cpp with the other bounded sections.
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
  uint64_t api_port = 9876;        // the guest listener on the bridge address (ACME facade)
  uint64_t api_admin_port = 9877;  // the admin listener on loopback (/healthz); 0 = off
  // The public listener on loopback: the ingress forwards silo.<domain> and hooks.<domain> to
  // it (webhooks, Silo on the web); 0 = off.
  uint64_t api_public_port = 9878;
  // Where the ACME facade's certificates come from ("acme": {...}; read in config.cpp).
  struct Acme {
    std::string upstream = "internal";  // "internal" (seedd's own CA) | "acme" (an upstream CA)
    std::string directory = "https://acme-v02.api.letsencrypt.org/directory";  // upstream "acme"
    std::string email;                  // the upstream account's contact; may be empty
    std::string ca_file;                // PEM to trust for the directory instead of the system's; may be empty
    uint64_t leaf_days = 7;             // upstream "internal": lifetime of a leaf certificate
  } acme;
  // Shoots (docs/shoots.md), "shoot": {...}. Off unless image.kernel is set (the guest every
  // shoot boots: on this machine the hermetic test guest; on NixOS hosts the flake's shoot
  // image). Each tier keeps `pool` clones restored and waiting.
  struct ShootTier {
    std::string name = "small";
    uint64_t vcpus = 1;
    uint64_t memory_mib = 256;
    uint64_t pool = 1;
  };
  struct Shoot {
    std::string kernel, initrd, cmdline;  // "image": {"kernel", "initrd", "cmdline"}
    std::vector<ShootTier> tiers{ShootTier{}};
    uint64_t max_vms = 8;            // shoot VMs on the node, waiting and running
    uint64_t max_memory_mib = 2048;  // their guest memory
    uint64_t per_instance = 4;       // running shoots of one instance
    uint64_t node = 8;               // running shoots on the node
    uint64_t queue = 32;             // waiting requests before 429
    uint64_t max_wait_ms = 10000;    // how long a request may wait before 429
    uint64_t max_timeout_ms = 300000;
    uint64_t output_cap = 4u << 20;  // bytes per stream
    uint64_t max_stdin = 1u << 20;
  } shoot;
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
