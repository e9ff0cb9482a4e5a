#include "storage/lvm_report.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

namespace seed::storage::lvm {
namespace {

using nlohmann::json;

Error bad_report(const std::string& why, const std::string& text) {
  return make_error(Errc::protocol, "cannot understand lvm's JSON report: " + why)
      .with("output", text.substr(0, 600));
}

// The rows of the one report section named `key` ("vg" or "lv").
Result<const json*> rows(const json& doc, const std::string& key, const std::string& text) {
  if (!doc.is_object() || !doc.contains("report") || !doc["report"].is_array()) {
    return bad_report("no \"report\" array", text);
  }
  for (const auto& section : doc["report"]) {
    if (section.is_object() && section.contains(key) && section[key].is_array()) {
      return &section[key];
    }
  }
  return bad_report("no \"" + key + "\" section", text);
}

Result<std::string> field(const json& row, const char* name, const std::string& text) {
  if (!row.is_object() || !row.contains(name) || !row[name].is_string()) {
    return bad_report(std::string("a row lacks the string field \"") + name + "\"", text);
  }
  return row[name].get<std::string>();
}

Result<uint64_t> bytes(const json& row, const char* name, const std::string& text) {
  std::string s = SEED_TRY(field(row, name, text));
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return bad_report(std::string("field \"") + name + "\" is not a byte count: \"" + s +
                          "\" (was --units b --nosuffix passed?)",
                      text);
  }
  return v;
}

Result<json> parse(const std::string& text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return bad_report("not JSON", text);
  return doc;
}

}  // namespace

Result<std::vector<VgReport>> parse_vgs(const std::string& text) {
  json doc = SEED_TRY(parse(text));
  const json* list = SEED_TRY(rows(doc, "vg", text));
  std::vector<VgReport> out;
  for (const auto& row : *list) {
    VgReport r;
    r.name = SEED_TRY(field(row, "vg_name", text));
    r.size = SEED_TRY(bytes(row, "vg_size", text));
    r.free = SEED_TRY(bytes(row, "vg_free", text));
    r.extent_size = SEED_TRY(bytes(row, "vg_extent_size", text));
    if (r.extent_size == 0) return bad_report("vg_extent_size is 0", text);
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<LvReport>> parse_lvs(const std::string& text) {
  json doc = SEED_TRY(parse(text));
  const json* list = SEED_TRY(rows(doc, "lv", text));
  std::vector<LvReport> out;
  for (const auto& row : *list) {
    LvReport r;
    r.name = SEED_TRY(field(row, "lv_name", text));
    r.vg = SEED_TRY(field(row, "vg_name", text));
    r.size = SEED_TRY(bytes(row, "lv_size", text));
    r.path = SEED_TRY(field(row, "lv_path", text));
    r.attr = SEED_TRY(field(row, "lv_attr", text));
    r.pool = SEED_TRY(field(row, "pool_lv", text));
    out.push_back(std::move(r));
  }
  return out;
}

Error classify_failure(const RunResult& result, const std::string& what) {
  const std::string& err = result.err;
  // lvm indents each message line by two spaces; keep the first one for the headline.
  std::string first = err.substr(0, err.find('\n'));
  first.erase(0, first.find_first_not_of(' '));
  Errc code = Errc::process_failed;
  std::string hint = "see lvm's message";
  if (err.find("Volume group") != std::string::npos && err.find("not found") != std::string::npos) {
    code = Errc::not_found;
    hint = "check the configured volume group (`vgs` lists them)";
  } else if (err.find("already exists") != std::string::npos) {
    code = Errc::already_exists;
    hint = "the volume is already there; nothing was changed";
  } else if (err.find("insufficient free space") != std::string::npos ||
             err.find("Insufficient free space") != std::string::npos) {
    code = Errc::invalid_argument;
    hint = "choose a smaller size or add space to the volume group";
  } else if (err.find("Failed to find logical volume") != std::string::npos) {
    code = Errc::not_found;
    hint = "the logical volume (or thin pool) does not exist";
  }
  return make_error(code, what + " failed: " + (first.empty() ? result.status.describe() : first) +
                              "; " + hint)
      .with("exit", result.status.describe())
      .with("stderr", err);
}

}  // namespace seed::storage::lvm
