// What one VM of an instance gets from the node (docs/guest-contract.md section 3): the files
// on its `seed` share and its VmSpec (kernel and initrd of the toplevel, shares, NIC, TPM).
// Pure apart from writing the share's files, so the contract is testable without a VM.
#pragma once

#include <map>
#include <string>

#include "common/error.hpp"
#include "reconcile/meta.hpp"
#include "reconcile/plan_types.hpp"
#include "vmm/vm_spec.hpp"

namespace seed::reconcile {

struct GuestInputs {
  InstanceId id;
  std::string vm_name;
  std::string generation;
  std::string toplevel;
  InstanceMeta meta;
  std::string domain;       // the node's zone: the instance is <name>.<ns>.<domain>
  std::string tap;
  std::string mac;
  std::string ipv4_cidr;    // "10.88.0.5/24"
  std::string gateway4;
  std::string ipv6_cidr;    // "" without IPv6
  std::string gateway6;
  std::string nameserver;   // seedd's DNS for guests (the bridge address)
  std::string seed_share;   // host directory of the `seed` share (written by write_seed_share)
  std::string tpm_share;    // host directory of the `seed-tpm` share
  std::string tpm_socket;   // "" without a TPM
  std::string store_dir = "/nix/store";
  std::map<std::string, std::string> volume_paths;  // volume name → host mount path
  std::map<std::string, std::string> env_extra;     // SEED_ACME_URL, SEED_SHOOT_URL when enabled
};

// <toplevel>/kernel-params as one line. Errc::not_found (stage "boot") naming the toplevel
// when it is not a NixOS system or was garbage-collected.
Result<std::string> read_kernel_params(const std::string& toplevel);

std::string instance_fqdn(const InstanceId& id, const std::string& domain);
// The full name a `seed.connect` service reaches: `<service>.<ns>.<domain>` for an instance
// name, the service itself when it is a DNS name (has a dot).
std::string connect_fqdn(const std::string& ns, const std::string& service, const std::string& domain);

// Writes env, network.json, instance.json and connect/<conn> into `seed_share` (created if
// missing; every file replaced atomically).
Status write_seed_share(const GuestInputs& in);

// Boots `toplevel` (kernel, initrd, kernel-params) with the meta's vcpus and memory, the
// shares nix-store (ro), seed (ro), seed-tpm and storage-<volume>, one NIC and the TPM.
// The kernel command line also carries `seed.fs=`/`seed.net=` so a guest without the NixOS
// guest module (the hermetic test guest) mounts the same shares at the same places.
Result<vmm::VmSpec> guest_vm_spec(const GuestInputs& in);

}  // namespace seed::reconcile
