// The QEMU driver: the second hypervisor behind the Driver interface, for hosts without
// Cloud Hypervisor or without hardware virtualization (then under TCG). Talks QMP.
#pragma once

#include <string>

#include "vmm/driver.hpp"
#include "vmm/qemu/qemu_args.hpp"

namespace seed::vmm::qemu {

class QemuDriver : public Driver {
 public:
  QemuDriver(std::string binary, Accel accel);
  const VmmDriverInfo& info() const override { return info_; }
  Result<LaunchedVmm> launch(const VmSpec& spec, const VmPaths& paths,
                             const std::optional<std::string>& restore_from) override;
  Result<std::unique_ptr<VmmControl>> connect(const VmPaths& paths) override;

 private:
  std::string binary_;
  Accel accel_;
  unsigned tsc_khz_ = 0;  // measured once: it costs ~20 ms and does not change
  VmmDriverInfo info_;
};

// Paths end up inside QEMU's `exec:` migration URI, which QEMU runs through /bin/sh: only
// plain path characters are allowed so nothing can be injected.
Status check_snapshot_path(const std::string& path);

}  // namespace seed::vmm::qemu
