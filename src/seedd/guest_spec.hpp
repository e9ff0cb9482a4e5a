// A VmSpec for a guest laid out like a NixOS toplevel (kernel, initrd, kernel-params).
#pragma once

#include <string>

#include "vmm/vm_spec.hpp"

namespace seed {

Result<vmm::VmSpec> spec_from_toplevel(const std::string& name, const std::string& toplevel,
                                       const std::string& extra_cmdline);

}  // namespace seed
