// Cloud Hypervisor's VmConfig (the body of PUT /api/v1/vm.create), built from a VmSpec by one
// small pure function per section. Each builder is golden-tested on its own, and vm_config()
// only composes them, so a change to one section cannot silently alter another.
//
// Field names and shapes follow vmm/src/api/openapi/cloud-hypervisor.yaml and
// vmm/src/vm_config.rs of the targeted release (see ch_version.hpp). We send only what we
// mean; CH fills the rest with its defaults and vm.info shows the result.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "vmm/vm_paths.hpp"
#include "vmm/vm_spec.hpp"

namespace seed::vmm::ch {

// Direct kernel boot: kernel, initramfs (when set) and command line (when set).
nlohmann::json payload_config(const VmSpec& spec);

// A fixed number of vCPUs (no CPU hotplug: boot_vcpus == max_vcpus).
nlohmann::json cpus_config(const VmSpec& spec);

// Size in bytes. shared=true exactly when the VM has virtio-fs shares or asks for hot-plug
// slots (VmSpec::hotplug_slots: its shares come by vm.add-fs after boot or restore): a
// vhost-user backend (virtiofsd) must map guest memory, and CH refuses vhost-user devices
// otherwise ("Using vhost-user requires using shared memory or huge pages"). CH needs no
// spare ports for hot-plug: vm.add-fs puts the device on PCI segment 0, which has 32 slots
// (vmm/src/pci_segment.rs at v53.0), far more than a shoot's mounts.
// A snapshot keeps the setting (config.json), so a template booted with it gives clones that
// accept vm.add-fs.
nlohmann::json memory_config(const VmSpec& spec);

// The vhost-user-fs device for one share, served by virtiofsd on `socket`; also the body of
// vm.add-fs.
nlohmann::json fs_device_config(const FsShare& share, const std::string& socket);

// One vhost-user-fs device per share, on the socket seedd's virtiofsd listens on. Absent
// (nullopt) without shares: CH treats an empty list and a missing key alike, but vm.info
// then shows no "fs" key, so omitting it keeps the sent and reported configs comparable.
std::optional<nlohmann::json> fs_config(const VmSpec& spec, const VmPaths& paths);

// One virtio-net device per interface on its existing tap. No ip/mask: the tap is addressed
// by src/net (CH never re-addresses an existing tap, in any release).
std::optional<nlohmann::json> net_config(const VmSpec& spec);

// The vTPM on swtpm's control socket; nullopt when the VM has no TPM.
std::optional<nlohmann::json> tpm_config(const VmSpec& spec);

// The legacy serial port (ttyS0) writes the guest console into the VM's FIFO, which the
// console logger reads. Set explicitly: CH's default for the API is Null (nothing logged).
// CH opens the file when vm.create (and vm.restore) runs, and opening a FIFO for writing
// blocks until a reader exists, so the logger must have it open before then.
nlohmann::json serial_config(const VmPaths& paths);

// The virtio-console (hvc0), which is the guest agent's channel. CH cannot serve it on a
// Unix socket: Socket mode exists for the serial port only, and vm.create fails with "No
// socket option support for console device" in every release up to the targeted one. So it
// runs in Pty mode: CH allocates a pseudo-terminal, reports its path in vm.info
// (config.console.file), and ChAgentBridge relays it to paths.agent_socket(), which is what
// the agent client connects to with either hypervisor. Never left at CH's default (Tty),
// which would tie the guest console to the VMM's stdout, our vmm.log.
nlohmann::json console_config(const VmPaths& paths);

// The whole document: the sections above, absent sections left out.
nlohmann::json vm_config(const VmSpec& spec, const VmPaths& paths);

}  // namespace seed::vmm::ch
