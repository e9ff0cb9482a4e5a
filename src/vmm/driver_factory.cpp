#include "vmm/driver_factory.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/process.hpp"
#include "vmm/cloud_hypervisor/ch_driver.hpp"
#include "vmm/qemu/qemu_driver.hpp"

namespace seed::vmm {

bool host_has_hardware_virtualization() {
  auto cpuinfo = read_file("/proc/cpuinfo");
  if (!cpuinfo) return false;
  bool flag = cpuinfo->find(" vmx") != std::string::npos || cpuinfo->find(" svm") != std::string::npos;
  UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  return flag && kvm.valid();
}

Result<std::unique_ptr<Driver>> make_driver(const DriverSettings& s) {
  const bool hw = host_has_hardware_virtualization();
  std::string choice = s.hypervisor;
  if (choice == "auto") {
    choice = hw && find_executable(s.cloud_hypervisor_binary) ? "cloud-hypervisor" : "qemu";
    log::info("vmm.driver.selected", {{"driver", choice}, {"hardware_virtualization", hw ? "yes" : "no"}});
  }
  if (choice == "cloud-hypervisor") {
    if (!find_executable(s.cloud_hypervisor_binary)) {
      return make_error(Errc::unavailable, "cloud-hypervisor binary not found: " + s.cloud_hypervisor_binary)
          .with("binary", s.cloud_hypervisor_binary);
    }
    return std::unique_ptr<Driver>(std::make_unique<ch::CloudHypervisorDriver>(s.cloud_hypervisor_binary));
  }
  if (choice == "qemu") {
    if (!find_executable(s.qemu_binary)) {
      return make_error(Errc::unavailable, "QEMU binary not found: " + s.qemu_binary + " (install qemu-system-x86)")
          .with("binary", s.qemu_binary);
    }
    qemu::Accel accel = s.accel == "kvm" || (s.accel == "auto" && hw) ? qemu::Accel::kvm : qemu::Accel::tcg;
    return std::unique_ptr<Driver>(std::make_unique<qemu::QemuDriver>(s.qemu_binary, accel));
  }
  return make_error(Errc::invalid_argument,
                    "unknown hypervisor '" + s.hypervisor + "' (use auto, cloud-hypervisor or qemu)");
}

}  // namespace seed::vmm
