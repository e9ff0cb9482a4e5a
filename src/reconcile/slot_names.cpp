#include "reconcile/slot_names.hpp"

#include "common/digest.hpp"

namespace seed::reconcile {

std::string slot_vm_name(const InstanceId& id, char letter) {
  std::string name = id.ns + "-" + std::string(1, letter) + "-" + id.name;
  if (name.size() <= 63) return name;
  const Sha256 d = sha256(name);
  const std::string hash = base32_lower(d.data(), d.size()).substr(0, 8);
  name = name.substr(0, 63 - 9);
  while (!name.empty() && name.back() == '-') name.pop_back();
  return name + "-" + hash;
}

}  // namespace seed::reconcile
