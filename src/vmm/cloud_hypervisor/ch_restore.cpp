#include "vmm/cloud_hypervisor/ch_restore.hpp"

#include <filesystem>
#include <system_error>

#include "common/fd.hpp"

namespace seed::vmm::ch {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kConfigFile = "config.json";  // SNAPSHOT_CONFIG_FILE, vmm/src/migration/mod.rs

Error mismatch(const std::string& what) {
  return make_error(Errc::invalid_argument,
                    "the snapshot cannot be restored as this VM: " + what +
                        "; restore it with the devices it was taken with, or boot the VM instead")
      .with("stage", "restore");
}

}  // namespace

std::string restore_dir(const VmPaths& paths) { return paths.dir + "/ch-restore"; }

Result<json> config_for_restore(const json& snapshot_config, const VmSpec& spec,
                                const VmPaths& paths) {
  if (!snapshot_config.is_object()) {
    return make_error(Errc::protocol, "the snapshot's config.json is not a JSON object")
        .with("stage", "restore");
  }
  json config = snapshot_config;
  if (auto it = config.find("serial"); it != config.end() && it->value("mode", "") == "File") {
    (*it)["file"] = paths.serial_fifo();
  }
  if (auto it = config.find("console"); it != config.end() && it->value("mode", "") == "Pty") {
    it->erase("file");  // the template's pty; CH allocates a fresh one at restore
  }
  if (auto it = config.find("fs"); it != config.end() && it->is_array()) {
    for (auto& device : *it) device["socket"] = paths.fs_socket(device.value("tag", ""));
  }
  const size_t nets = config.contains("net") && config["net"].is_array() ? config["net"].size() : 0;
  if (nets != spec.nets.size()) {
    return mismatch("it has " + std::to_string(nets) + " network interface(s), the VM has " +
                    std::to_string(spec.nets.size()));
  }
  for (size_t i = 0; i < nets; ++i) config["net"][i]["tap"] = spec.nets[i].tap;
  const bool tpm = config.contains("tpm") && !config["tpm"].is_null();
  if (tpm != !spec.tpm_socket.empty()) {
    return mismatch(tpm ? "it has a TPM and the VM has none" : "the VM has a TPM and the snapshot none");
  }
  if (tpm) config["tpm"]["socket"] = spec.tpm_socket;
  return config;
}

Result<std::string> prepare_restore_dir(const std::string& snapshot_dir, const VmSpec& spec,
                                        const VmPaths& paths) {
  const std::string dir = restore_dir(paths);
  auto fail = [&](Error err) {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
    return std::move(err).with("snapshot", snapshot_dir).with("stage", "restore");
  };
  auto text = read_file(snapshot_dir + "/" + kConfigFile);
  if (!text) return fail(std::move(text).error());
  json original = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (original.is_discarded()) {
    return fail(make_error(Errc::protocol, "the snapshot's config.json is not valid JSON"));
  }
  auto config = config_for_restore(original, spec, paths);
  if (!config) return fail(std::move(config).error());

  std::error_code ec;
  fs::remove_all(dir, ec);  // an earlier restore's
  if (!fs::create_directory(dir, ec) || ec) {
    return fail(make_error(Errc::io, "cannot create " + dir + ": " + ec.message()));
  }
  for (const auto& entry : fs::directory_iterator(snapshot_dir, ec)) {
    const auto name = entry.path().filename().string();
    if (name == kConfigFile) continue;
    fs::create_symlink(fs::absolute(entry.path()), dir + "/" + name, ec);
    if (ec) return fail(make_error(Errc::io, "cannot link " + name + " into " + dir + ": " + ec.message()));
  }
  if (ec) return fail(make_error(Errc::io, "cannot list " + snapshot_dir + ": " + ec.message()));
  if (auto st = write_file_atomic(dir + "/" + kConfigFile, config->dump(), 0600); !st) {
    return fail(std::move(st).error());
  }
  return dir;
}

json restore_config(const std::string& source_dir, const ChVersion& version) {
  json body = {{"source_url", "file://" + source_dir}};
  // serde names of MemoryRestoreMode (vmm/src/config.rs): "Copy" (default) and "OnDemand".
  if (ch_supports(version, ChFeature::memory_restore_on_demand)) {
    body["memory_restore_mode"] = "OnDemand";
  }
  return body;
}

}  // namespace seed::vmm::ch
