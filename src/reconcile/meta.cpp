#include "reconcile/meta.hpp"

#include <set>

#include "common/json_reader.hpp"
#include "vmm/vm_spec.hpp"

namespace seed::reconcile {
namespace {

constexpr int64_t kSchema = 1;
constexpr uint64_t kMinVolume = 1ull << 20;  // 1 MiB
constexpr uint64_t kMaxVolume = 1ull << 50;  // 1 PiB
// Host paths a volume may not cover: they carry the system or the other shares.
const char* const kReservedMounts[] = {"/nix", "/proc", "/sys", "/dev", "/run", "/etc", "/boot", "/seed/tpm"};

bool is_label(const std::string& s, size_t max = 63) {
  return s.size() <= max && vmm::valid_vm_name(s);
}

bool safe_mount_point(const std::string& p) {
  if (p.size() < 2 || p.size() > 255 || p[0] != '/' || p.back() == '/') return false;
  if (p.find("//") != std::string::npos || p.find("/./") != std::string::npos || p.find("/../") != std::string::npos ||
      p.ends_with("/.") || p.ends_with("/..")) {
    return false;
  }
  for (char c : p) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("._-+@/").find(c) == std::string_view::npos) {
      return false;
    }
  }
  for (const char* r : kReservedMounts) {
    std::string_view reserved(r);
    if (p == reserved || (p.starts_with(reserved) && p[reserved.size()] == '/')) return false;
  }
  return true;
}

// Reads an object whose keys are names chosen by the tenant; each entry gets its own strict
// reader. Problems of all entries are gathered into `problems`.
template <class Fn>
void each_entry(const nlohmann::json* map, const std::string& path, std::vector<std::string>& problems, Fn fn) {
  if (map == nullptr) return;
  if (!map->is_object()) {
    problems.push_back(path + ": expected an object");
    return;
  }
  for (const auto& [key, value] : map->items()) fn(key, value, path + "." + key);
}

void collect(JsonReader& reader, std::vector<std::string>& problems) {
  for (auto& p : reader.finish_problems()) problems.push_back(std::move(p));
}

std::optional<uint16_t> read_port(const nlohmann::json& v) {
  if (!v.is_number_integer()) return std::nullopt;
  auto n = v.get<int64_t>();
  if (n < 1 || n > 65535) return std::nullopt;
  return static_cast<uint16_t>(n);
}

}  // namespace

Result<InstanceMeta> parse_instance_meta(const nlohmann::json& meta, const std::string& attr,
                                         const std::string& source) {
  const std::string where = source + "#seeds." + attr + ".meta";
  std::vector<std::string> problems;
  InstanceMeta m;
  m.raw = meta;
  JsonReader r(meta, where);
  int64_t schema = 0;
  r.get("schema", schema, true);
  if (meta.is_object() && meta.contains("schema") && schema != kSchema) {
    // Nothing else can be trusted to mean what we think under another schema.
    return make_error(Errc::invalid_argument, where + ": schema " + std::to_string(schema) +
                                                  " is not supported by this seedd (it reads schema 1); "
                                                  "use the seed flake input that matches this node")
        .with("stage", "eval")
        .with("instance", attr);
  }
  r.get("name", m.name, true);
  r.get_enum("system", m.system, {"x86_64-linux", "aarch64-linux"}, true);
  r.get_enum("size", m.size, {"xs", "s", "m", "l", "xl"}, true);
  auto& res = r.object("resources");
  int64_t vcpus = 0, memory = 0;
  res.get("vcpus", vcpus, true).get("memory_mib", memory, true);
  std::string rollout;
  r.get_enum("rollout", rollout, {"recreate", "rolling"}, true);
  r.get("acme", m.acme, true);
  r.object("shoot").get("enable", m.shoot, true);
  const nlohmann::json* expose = r.raw("expose");
  const nlohmann::json* storage = r.raw("storage");
  const nlohmann::json* connect = r.raw("connect");
  const nlohmann::json* health = r.raw("health");
  for (const char* key : {"expose", "storage", "connect", "health"}) {
    if (meta.is_object() && !meta.contains(key)) problems.push_back(r.path_of(key) + ": missing");
  }
  collect(r, problems);

  if (!m.name.empty() && m.name != attr) {
    problems.push_back("name: \"" + m.name + "\" differs from the attribute name seeds." + attr);
  }
  if (!is_label(attr)) problems.push_back("seeds." + attr + ": an instance name must be a DNS label (a-z, 0-9, '-')");
  if (vcpus < 1 || vcpus > 64) problems.push_back("resources.vcpus: must be 1-64, got " + std::to_string(vcpus));
  if (memory < 64 || memory > 1 << 20) problems.push_back("resources.memory_mib: must be 64-1048576, got " + std::to_string(memory));
  m.vcpus = static_cast<unsigned>(std::max<int64_t>(vcpus, 0));
  m.memory_mib = static_cast<uint64_t>(std::max<int64_t>(memory, 0));
  m.rollout = rollout == "rolling" ? Rollout::rolling : Rollout::recreate;

  std::map<std::pair<uint16_t, std::string>, std::string> ports;  // (port, transport) → entry
  each_entry(expose, "expose", problems, [&](const std::string& name, const nlohmann::json& v, const std::string& path) {
    ExposeMeta e;
    JsonReader er(v, where, path);
    int64_t port = 0;
    er.get("port", port, true).get_enum("protocol", e.protocol, {"tcp", "udp", "dns", "http", "grpc"}, true);
    er.get("transports", e.transports, true);
    collect(er, problems);
    if (!is_label(name)) problems.push_back(path + ": entry names must be DNS labels");
    if (port < 1 || port > 65535) problems.push_back(path + ".port: must be 1-65535, got " + std::to_string(port));
    e.port = static_cast<uint16_t>(port);
    std::vector<std::string> want = e.protocol == "dns" ? std::vector<std::string>{"tcp", "udp"}
                                    : e.protocol == "udp" ? std::vector<std::string>{"udp"}
                                                          : std::vector<std::string>{"tcp"};
    if (!e.protocol.empty() && e.transports != want) {
      problems.push_back(path + ".transports: protocol " + e.protocol + " occupies " +
                         nlohmann::json(want).dump() + ", not " + nlohmann::json(e.transports).dump());
    }
    for (const auto& t : e.transports) {
      auto [it, fresh] = ports.emplace(std::make_pair(e.port, t), name);
      if (!fresh) {
        problems.push_back(path + ": port " + std::to_string(port) + "/" + t + " is also exposed by \"" + it->second + "\"");
      }
    }
    m.expose[name] = std::move(e);
  });

  std::set<std::string> mounts;
  each_entry(storage, "storage", problems, [&](const std::string& name, const nlohmann::json& v, const std::string& path) {
    VolumeMeta vol;
    JsonReader vr(v, where, path);
    vr.get("size", vol.size, true).get("bytes", vol.bytes, true).get("mount_point", vol.mount_point, true);
    vr.get("share", vol.share, true);
    collect(vr, problems);
    if (!is_label(name, 28)) problems.push_back(path + ": volume names are DNS labels of at most 28 characters");
    if (vol.bytes < kMinVolume || vol.bytes > kMaxVolume) {
      problems.push_back(path + ".bytes: must be between 1 MiB and 1 PiB, got " + std::to_string(vol.bytes));
    }
    if (!safe_mount_point(vol.mount_point)) {
      problems.push_back(path + ".mount_point: \"" + vol.mount_point +
                         "\" must be an absolute normalised path outside /nix /proc /sys /dev /run /etc /boot /seed/tpm");
    } else if (!mounts.insert(vol.mount_point).second) {
      problems.push_back(path + ".mount_point: " + vol.mount_point + " is used by two volumes");
    }
    if (vol.share != "storage-" + name) problems.push_back(path + ".share: must be \"storage-" + name + "\"");
    m.storage[name] = std::move(vol);
  });

  each_entry(connect, "connect", problems, [&](const std::string& name, const nlohmann::json& v, const std::string& path) {
    ConnectMeta c;
    JsonReader cr(v, where, path);
    cr.get("service", c.service, true).get("env", c.env, true).get("file", c.file, true).get("value", c.value, true);
    const nlohmann::json* port = cr.raw("port");
    collect(cr, problems);
    if (port == nullptr) {
      problems.push_back(path + ".port: missing (an integer or null)");
    } else if (!port->is_null()) {
      c.port = read_port(*port);
      if (!c.port) problems.push_back(path + ".port: must be null or 1-65535");
    }
    if (name.empty() || !std::islower(static_cast<unsigned char>(name[0])) || !is_label(name)) {
      problems.push_back(path + ": connection names are DNS labels starting with a letter");
    }
    std::string env = "SEED_";
    for (char ch : name) env += ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    env += "_HOST";
    if (c.env != env) problems.push_back(path + ".env: must be " + env);
    if (c.file != "/etc/seed/connect/" + name) problems.push_back(path + ".file: must be /etc/seed/connect/" + name);
    // Written into the instance's env file as KEY=VALUE: no line breaks, no shell surprises.
    for (const std::string* s : {&c.service, &c.value}) {
      if (s->empty() || s->size() > 253 || s->find_first_of("\n\r\t \"'$`\\=") != std::string::npos) {
        problems.push_back(path + ": service and value must be host names or host:port");
        break;
      }
    }
    m.connect[name] = std::move(c);
  });

  if (health != nullptr && !health->is_null()) {
    HealthMeta h;
    JsonReader hr(*health, where, "health");
    hr.get_enum("type", h.type, {"http", "command"}, true);
    int64_t timeout = 0;
    hr.get("timeout_s", timeout, true);
    int64_t port = 0;
    if (health->is_object() && health->value("type", "") == "http") {
      hr.get("path", h.path, true).get("port", port, true);
      if (!h.path.starts_with("/") || h.path.find_first_of(" \r\n") != std::string::npos) {
        problems.push_back("health.path: must start with '/' and hold no spaces");
      }
      if (port < 1 || port > 65535) problems.push_back("health.port: must be 1-65535");
      h.port = static_cast<uint16_t>(port);
    } else {
      hr.get("command", h.command, true);
      if (health->is_object() && health->contains("command") && h.command.empty()) {
        problems.push_back("health.command: must not be empty");
      }
    }
    collect(hr, problems);
    if (timeout < 1 || timeout > 3600) problems.push_back("health.timeout_s: must be 1-3600");
    h.timeout_s = static_cast<unsigned>(std::clamp<int64_t>(timeout, 0, 3600));
    m.health = std::move(h);
  }

  if (!problems.empty()) {
    std::string msg = where + " is invalid (" + std::to_string(problems.size()) + " problem" +
                      (problems.size() == 1 ? "" : "s") + "):";
    for (const auto& p : problems) msg += "\n  - " + p;
    return make_error(Errc::invalid_argument, msg).with("stage", "eval").with("instance", attr);
  }
  return m;
}

}  // namespace seed::reconcile
