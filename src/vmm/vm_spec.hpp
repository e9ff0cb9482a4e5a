// VmSpec: what one microVM should be, independent of the hypervisor that runs it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace seed::vmm {

struct FsShare {
  std::string tag;        // the guest mounts it with `mount -t virtiofs <tag> <dir>`
  std::string host_path;  // directory shared from the host
  bool read_only = false; // enforced on the host (virtiofsd sees a read-only bind mount)
};

struct NetInterface {
  std::string tap;  // an existing tap device (created by src/net)
  std::string mac;  // "52:54:00:12:34:56"
};

struct VmSpec {
  std::string name;  // unique on the node; names the VM's runtime directory
  unsigned vcpus = 1;
  uint64_t memory_mib = 512;
  std::string kernel;
  std::string initrd;  // empty: none
  std::string cmdline;
  std::vector<FsShare> shares;
  std::vector<NetInterface> nets;
  std::string tpm_socket;  // swtpm's control socket; empty: no TPM
  // Empty PCIe root ports left for virtio-fs hot-plug (VmmControl::add_fs), for shoot clones
  // that get their shares after a restore. QEMU: more than 0 makes the machine q35 (microvm
  // has no hot-plug).
  unsigned hotplug_slots = 0;
};

// Checks the spec before anything is created (stage "prepare"): files exist and are
// readable, names and MACs are well-formed, shares have unique tags.
Status validate(const VmSpec& spec);

bool valid_vm_name(const std::string& name);
bool valid_mac(const std::string& mac);

}  // namespace seed::vmm
