#include "seedd/guest_spec.hpp"

#include "reconcile/guest_setup.hpp"

namespace seed {

Result<vmm::VmSpec> spec_from_toplevel(const std::string& name, const std::string& toplevel,
                                       const std::string& extra_cmdline) {
  vmm::VmSpec spec;
  spec.name = name;
  spec.kernel = toplevel + "/kernel";
  spec.initrd = toplevel + "/initrd";
  auto params = reconcile::read_kernel_params(toplevel);
  if (!params) {
    return std::move(params).error().with("stage", "prepare").with(
        "hint", "build the guest first (tests/guest/build-guest.sh " + toplevel + ")");
  }
  std::string cmdline = *params;
  if (!extra_cmdline.empty()) cmdline += " " + extra_cmdline;
  spec.cmdline = cmdline;
  spec.memory_mib = 256;
  return spec;
}

}  // namespace seed
