// The names a slot of an instance goes by in each driver (see live_instance.hpp).
#pragma once

#include <string>

#include "net/names.hpp"
#include "reconcile/plan_types.hpp"

namespace seed::reconcile {

inline net::InstanceId slot_net_id(const InstanceId& id, char letter) {
  return {letter == 'a' ? id.ns : id.ns + "-" + std::string(1, letter), id.name};
}

// swtpm state directory key ("<ns>.<name>", "<ns>-b.<name>").
inline std::string slot_tpm_key(const InstanceId& id, char letter) {
  const auto n = slot_net_id(id, letter);
  return n.ns + "." + n.name;
}

// VM names are [a-z0-9-]{1,63}: "<ns>-<letter>-<name>", with a long name cut and made unique
// by a hash (digest.hpp) of the whole.
std::string slot_vm_name(const InstanceId& id, char letter);

}  // namespace seed::reconcile
