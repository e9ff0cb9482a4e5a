#include "shoot_node.hpp"

#include "common/fd.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::e2e {

vmm::shoot::ShootImage shoot_image() {
  const std::string guest = vmm::testing::guest_dir();
  auto params = read_file(guest + "/kernel-params");
  std::string cmdline = params ? *params : "console=ttyS0";
  while (!cmdline.empty() && cmdline.back() == '\n') cmdline.pop_back();
  return {guest + "/kernel", guest + "/initrd", cmdline};
}

void enable_shoots(reconcile::EngineConfig& config, const std::string& root) {
  auto& sc = config.shoots;
  sc.pool.dir = root + "/state/shoot-templates";  // as seedd keeps them (node.cpp)
  sc.pool.image = shoot_image();
  sc.pool.tiers = {{vmm::shoot::ShootTier{"small", 1, 256}, 1}};
  sc.pool.max_vms = 2;
  sc.pool.max_memory_mib = 512;
  sc.url = guest_shoot_url(kBridgeAddress, kGuestApiPort);
}

}  // namespace seed::e2e
