// Chooses and builds the hypervisor driver from the configuration:
// `auto` takes Cloud Hypervisor when it is installed and the CPU has vmx/svm with a usable
// /dev/kvm, and QEMU otherwise (under TCG when hardware virtualization is missing).
#pragma once

#include <memory>
#include <string>

#include "vmm/driver.hpp"

namespace seed::vmm {

struct DriverSettings {
  std::string hypervisor = "auto";  // auto | cloud-hypervisor | qemu
  std::string cloud_hypervisor_binary = "cloud-hypervisor";
  std::string qemu_binary = "qemu-system-x86_64";
  std::string accel = "auto";  // auto | kvm | tcg (QEMU only)
};

bool host_has_hardware_virtualization();

Result<std::unique_ptr<Driver>> make_driver(const DriverSettings& settings);

}  // namespace seed::vmm
