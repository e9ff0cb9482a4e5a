#include "vmm/vm_spec_json.hpp"

#include <algorithm>
#include <limits>

#include "common/json_reader.hpp"

namespace seed::vmm {
namespace {

// Reads an optional array of objects, each element strictly through its own reader.
template <class Fn>
Status read_objects(JsonReader& parent, const std::string& key, const std::string& where,
                    Fn&& read_one) {
  const auto* arr = parent.raw(key);
  if (arr == nullptr) return ok();
  if (!arr->is_array()) {
    return make_error(Errc::invalid_argument, where + ": " + parent.path_of(key) + ": expected an array")
        .with("file", where);
  }
  for (size_t i = 0; i < arr->size(); ++i) {
    JsonReader element((*arr)[i], where, parent.path_of(key) + "[" + std::to_string(i) + "]");
    read_one(element);
    SEED_TRY(element.finish());
  }
  return ok();
}

}  // namespace

nlohmann::json to_json(const VmSpec& spec) {
  nlohmann::json shares = nlohmann::json::array();
  for (const auto& s : spec.shares) {
    shares.push_back({{"tag", s.tag}, {"host_path", s.host_path}, {"read_only", s.read_only}});
  }
  nlohmann::json nets = nlohmann::json::array();
  for (const auto& n : spec.nets) nets.push_back({{"tap", n.tap}, {"mac", n.mac}});
  return {{"name", spec.name},       {"vcpus", spec.vcpus},   {"memory_mib", spec.memory_mib},
          {"kernel", spec.kernel},   {"initrd", spec.initrd}, {"cmdline", spec.cmdline},
          {"shares", shares},        {"nets", nets},          {"tpm_socket", spec.tpm_socket},
          {"hotplug_slots", spec.hotplug_slots}};
}

Result<VmSpec> vm_spec_from_json(const nlohmann::json& j, const std::string& where) {
  VmSpec spec;
  JsonReader r(j, where);
  uint64_t vcpus = 1;
  r.get("name", spec.name, true).get("vcpus", vcpus).get("memory_mib", spec.memory_mib);
  r.get("kernel", spec.kernel, true).get("initrd", spec.initrd).get("cmdline", spec.cmdline);
  r.get("tpm_socket", spec.tpm_socket);
  uint64_t hotplug_slots = 0;
  r.get("hotplug_slots", hotplug_slots);
  // Saturate rather than wrap (2^32 + 1 must not become 1 vCPU): validate() rejects it.
  spec.vcpus = static_cast<unsigned>(std::min<uint64_t>(vcpus, std::numeric_limits<unsigned>::max()));
  spec.hotplug_slots = static_cast<unsigned>(std::min<uint64_t>(hotplug_slots, std::numeric_limits<unsigned>::max()));
  SEED_TRY(read_objects(r, "shares", where, [&](JsonReader& e) {
    FsShare s;
    e.get("tag", s.tag, true).get("host_path", s.host_path, true).get("read_only", s.read_only);
    spec.shares.push_back(s);
  }));
  SEED_TRY(read_objects(r, "nets", where, [&](JsonReader& e) {
    NetInterface n;
    e.get("tap", n.tap, true).get("mac", n.mac, true);
    spec.nets.push_back(n);
  }));
  SEED_TRY(r.finish());
  return spec;
}

}  // namespace seed::vmm
