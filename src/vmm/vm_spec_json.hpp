// VmSpec as JSON, for the VM record seedd re-adopts from and for snapshot directories.
#pragma once

#include <nlohmann/json.hpp>

#include "vmm/vm_spec.hpp"

namespace seed::vmm {

nlohmann::json to_json(const VmSpec& spec);
Result<VmSpec> vm_spec_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace seed::vmm
