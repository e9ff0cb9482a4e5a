#include "net/address_store.hpp"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "common/json_reader.hpp"

namespace seed::net {
namespace {

Result<std::map<InstanceId, Assignment>> parse_state(const std::string& text,
                                                     const std::string& path) {
  auto doc = SEED_TRY(parse_json(text, path));
  JsonReader top(doc, path);
  int64_t version = 0;
  top.get("version", version, true);
  const nlohmann::json* list = top.raw("instances");
  SEED_TRY(top.finish());
  if (version != 1) {
    return make_error(Errc::invalid_argument,
                      path + ": unknown address state version " + std::to_string(version) +
                          "; it was written by a newer seedd")
        .with("file", path);
  }
  std::map<InstanceId, Assignment> out;
  if (list == nullptr) return out;
  if (!list->is_array()) {
    return make_error(Errc::invalid_argument, path + ": instances must be an array")
        .with("file", path);
  }
  for (size_t i = 0; i < list->size(); ++i) {
    JsonReader r((*list)[i], path, "instances[" + std::to_string(i) + "]");
    InstanceId id;
    std::string v4, v6;
    r.get("namespace", id.ns, true).get("name", id.name, true).get("ipv4", v4, true);
    r.get("ipv6", v6);
    SEED_TRY(r.finish());
    SEED_TRY(validate_instance_id(id));
    Assignment a{SEED_TRY(parse_ipv4(v4, r.path_of("ipv4"))), std::nullopt};
    out.emplace(id, a);  // ipv6 is recomputed from the configuration by AddressPool::create
  }
  return out;
}

}  // namespace

Result<AddressStore> AddressStore::open(std::string path, PoolConfig config) {
  std::map<InstanceId, Assignment> assigned;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    auto text = SEED_TRY(read_file(path));
    auto parsed = parse_state(text, path);
    if (!parsed) return std::move(parsed).error().with("stage", "network");
    assigned = std::move(*parsed);
  }
  auto pool = AddressPool::create(std::move(config), std::move(assigned));
  if (!pool) return std::move(pool).error().with("file", path);
  return AddressStore(std::move(path), std::move(*pool));
}

Status AddressStore::save() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [id, a] : pool_.assigned()) {
    nlohmann::json e{{"namespace", id.ns}, {"name", id.name}, {"ipv4", a.ipv4.str()}};
    if (a.ipv6) e["ipv6"] = a.ipv6->str();
    list.push_back(std::move(e));
  }
  nlohmann::json doc{{"version", 1}, {"instances", std::move(list)}};
  auto st = write_file_atomic(path_, doc.dump(2) + "\n", 0600);
  if (!st) return std::move(st).error().with("file", path_).with("stage", "network");
  return ok();
}

Result<Assignment> AddressStore::allocate(const InstanceId& id) {
  if (auto existing = pool_.find(id)) return *existing;
  auto a = SEED_TRY(pool_.allocate(id));
  if (auto st = save(); !st) {
    pool_.release(id);
    return std::move(st).error();
  }
  return a;
}

Status AddressStore::release(const InstanceId& id) {
  auto held = pool_.find(id);
  if (!held) return ok();
  pool_.release(id);
  if (auto st = save(); !st) {
    // Put it back: the file still says the instance holds it, and memory must agree.
    auto restored = AddressPool::create(pool_.config(), [&] {
      auto m = pool_.assigned();
      m.emplace(id, *held);
      return m;
    }());
    if (restored) pool_ = std::move(*restored);
    return std::move(st).error();
  }
  return ok();
}

}  // namespace seed::net
