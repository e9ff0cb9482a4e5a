// The QEMU command line for a VmSpec, as a pure function (golden-tested). QEMU takes its whole
// device model on the command line, so this is the counterpart of Cloud Hypervisor's VmConfig.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vmm/vm_paths.hpp"
#include "vmm/vm_spec.hpp"

namespace seed::vmm::qemu {

enum class Accel { tcg, kvm };

struct QemuArgsInput {
  std::string binary = "qemu-system-x86_64";
  Accel accel = Accel::tcg;
  int control_fd = 3;  // the listening QMP socket, bound by seedd
  int agent_fd = 4;    // the listening agent socket, bound by seedd
  int console_fd = 5;  // the listening console socket (ssh -t node console), bound by seedd
  // The listening exec sockets (ssh node exec), bound by seedd: exec_ports of them, on
  // consecutive fds from exec_fd.
  int exec_fd = 6;
  unsigned exec_ports = 0;
  bool incoming = false;  // start waiting for a snapshot stream (migrate-incoming)
  // Under TCG, microvm has no HPET or PM timer to calibrate the TSC against and about one boot
  // in seven hangs; telling the kernel the TSC rate avoids that. 0: not passed.
  unsigned tsc_khz = 0;
};

// microvm is the lean machine; it has no TPM interface, so a VM with a TPM uses q35.
// microvm has no hot-plug either, so a VM with spare hot-plug ports also uses q35.
bool uses_q35(const VmSpec& spec);
// The id of the i-th spare PCIe root port (VmSpec::hotplug_slots), the bus add_fs plugs into.
std::string hotplug_port_id(unsigned index);

std::vector<std::string> qemu_args(const VmSpec& spec, const VmPaths& paths,
                                   const QemuArgsInput& input);

}  // namespace seed::vmm::qemu
