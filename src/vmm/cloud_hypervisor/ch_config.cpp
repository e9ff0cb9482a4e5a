#include "vmm/cloud_hypervisor/ch_config.hpp"

namespace seed::vmm::ch {

using nlohmann::json;

json payload_config(const VmSpec& spec) {
  json payload = {{"kernel", spec.kernel}};
  if (!spec.initrd.empty()) payload["initramfs"] = spec.initrd;
  if (!spec.cmdline.empty()) payload["cmdline"] = spec.cmdline;
  return payload;
}

json cpus_config(const VmSpec& spec) {
  return {{"boot_vcpus", spec.vcpus}, {"max_vcpus", spec.vcpus}};
}

json memory_config(const VmSpec& spec) {
  // hotplug_slots: the VM gets its shares by vm.add-fs later (a shoot template and so its
  // clones), and memory cannot become shared after boot.
  const bool shared = !spec.shares.empty() || spec.hotplug_slots > 0;
  return {{"size", spec.memory_mib * 1024 * 1024}, {"shared", shared}};
}

json fs_device_config(const FsShare& share, const std::string& socket) {
  // The id names the device in vm.info and for vm.remove-device; CH reserves ids starting
  // with '_' for the ones it invents, so ours can never collide with them.
  return {{"id", "fs-" + share.tag},
          {"tag", share.tag},
          {"socket", socket},
          {"num_queues", 1},
          {"queue_size", 1024}};
}

std::optional<json> fs_config(const VmSpec& spec, const VmPaths& paths) {
  if (spec.shares.empty()) return std::nullopt;
  json list = json::array();
  for (const auto& share : spec.shares) list.push_back(fs_device_config(share, paths.fs_socket(share.tag)));
  return list;
}

std::optional<json> net_config(const VmSpec& spec) {
  if (spec.nets.empty()) return std::nullopt;
  json list = json::array();
  for (size_t i = 0; i < spec.nets.size(); ++i) {
    list.push_back({{"id", "net" + std::to_string(i)},
                    {"tap", spec.nets[i].tap},
                    {"mac", spec.nets[i].mac}});
  }
  return list;
}

std::optional<json> tpm_config(const VmSpec& spec) {
  if (spec.tpm_socket.empty()) return std::nullopt;
  return json{{"socket", spec.tpm_socket}};
}

json serial_config(const VmPaths& paths) {
  return {{"mode", "File"}, {"file", paths.serial_fifo()}};
}

json console_config(const VmPaths& /*paths*/) {
  // The agent socket is served by ChAgentBridge from the pty CH reports; see the header.
  return {{"mode", "Pty"}};
}

json vm_config(const VmSpec& spec, const VmPaths& paths) {
  json config = {
      {"payload", payload_config(spec)},
      {"cpus", cpus_config(spec)},
      {"memory", memory_config(spec)},
      {"serial", serial_config(paths)},
      {"console", console_config(paths)},
  };
  if (auto fs = fs_config(spec, paths)) config["fs"] = std::move(*fs);
  if (auto net = net_config(spec)) config["net"] = std::move(*net);
  if (auto tpm = tpm_config(spec)) config["tpm"] = std::move(*tpm);
  return config;
}

}  // namespace seed::vmm::ch
