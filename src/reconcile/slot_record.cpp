#include "reconcile/slot_record.hpp"

#include <filesystem>

#include "common/fd.hpp"

namespace seed::reconcile {
namespace fs = std::filesystem;

std::string instance_dir(const std::string& dir, const InstanceId& id) {
  return dir + "/instances/" + id.ns + "/" + id.name;
}

std::string seed_share_dir(const std::string& runtime_dir, const InstanceId& id, char letter) {
  return instance_dir(runtime_dir, id) + "/seed-" + std::string(1, letter);
}

std::string slot_record_path(const std::string& state_dir, const InstanceId& id, char letter) {
  return instance_dir(state_dir, id) + "/slot-" + std::string(1, letter) + ".json";
}

Status save_slot_record(const std::string& state_dir, const SlotRecord& r) {
  const std::string path = slot_record_path(state_dir, r.id, r.letter);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return make_error(Errc::io, "cannot create " + fs::path(path).parent_path().string() + ": " + ec.message());
  nlohmann::json j = {{"ns", r.id.ns},           {"name", r.id.name},       {"letter", std::string(1, r.letter)},
                      {"source", r.source},       {"generation", r.generation}, {"toplevel", r.toplevel},
                      {"meta", r.meta},           {"vm_name", r.vm_name},    {"ipv4", r.ipv4},
                      {"ipv6", r.ipv6},           {"started_at", r.started_at}, {"routed", r.routed}};
  if (r.swtpm) j["swtpm"] = *r.swtpm;
  return write_file_atomic(path, j.dump(2) + "\n");
}

Status remove_slot_record(const std::string& state_dir, const InstanceId& id, char letter) {
  std::error_code ec;
  fs::remove(slot_record_path(state_dir, id, letter), ec);
  if (ec) return make_error(Errc::io, "cannot remove the slot record of " + id.str() + ": " + ec.message());
  return {};
}

std::vector<SlotRecord> load_slot_records(const std::string& state_dir, std::vector<Error>& problems) {
  std::vector<SlotRecord> out;
  std::error_code ec;
  const fs::path root = state_dir + "/instances";
  if (!fs::exists(root, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const fs::path p = it->path();
    if (!it->is_regular_file() || p.extension() != ".json" || p.filename().string().rfind("slot-", 0) != 0) continue;
    auto text = read_file(p.string());
    auto j = text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
    try {
      if (!j.is_object()) throw std::runtime_error("not a JSON object");
      SlotRecord r;
      r.id = {j.at("ns").get<std::string>(), j.at("name").get<std::string>()};
      r.letter = j.at("letter").get<std::string>().at(0);
      r.source = j.at("source").get<std::string>();
      r.generation = j.at("generation").get<std::string>();
      r.toplevel = j.at("toplevel").get<std::string>();
      r.meta = j.at("meta");
      r.vm_name = j.at("vm_name").get<std::string>();
      r.ipv4 = j.value("ipv4", "");
      r.ipv6 = j.value("ipv6", "");
      r.started_at = j.value("started_at", int64_t{0});
      r.routed = j.value("routed", false);
      if (j.contains("swtpm")) r.swtpm = j.at("swtpm").get<ProcessRecord>();
      out.push_back(std::move(r));
    } catch (const std::exception& e) {
      problems.push_back(make_error(Errc::protocol, "unreadable slot record " + p.string() + ": " + e.what())
                             .with("stage", "adopt"));
    }
  }
  return out;
}

}  // namespace seed::reconcile
