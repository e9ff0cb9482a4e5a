#include "common/json_reader.hpp"

#include <algorithm>

namespace seed {
namespace {

const nlohmann::json& empty_object() {
  static const nlohmann::json empty = nlohmann::json::object();
  return empty;
}

std::string type_of(const nlohmann::json& v) {
  if (v.is_string()) return "the string " + v.dump();
  if (v.is_boolean()) return "the boolean " + v.dump();
  if (v.is_number_float()) return "the number " + v.dump();
  if (v.is_number()) return "the integer " + v.dump();
  if (v.is_null()) return "null";
  if (v.is_array()) return "an array";
  return "an object";
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

JsonReader::JsonReader(const nlohmann::json& object, std::string where, std::string path)
    : JsonReader(object, std::move(where), std::move(path),
                 std::make_shared<std::vector<std::string>>()) {}

JsonReader::JsonReader(const nlohmann::json& object, std::string where, std::string path,
                       std::shared_ptr<std::vector<std::string>> problems)
    : object_(object), where_(std::move(where)), path_(std::move(path)),
      problems_(std::move(problems)) {
  if (!object_.is_object()) {
    problems_->push_back((path_.empty() ? std::string("top level") : path_) +
                         ": expected an object, got " + type_of(object_));
  }
}

std::string JsonReader::path_of(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

void JsonReader::problem(const std::string& key, const std::string& what) {
  problems_->push_back(path_of(key) + ": " + what);
}

const nlohmann::json* JsonReader::find(const std::string& key, bool required,
                                       const char* expected) {
  known_.insert(key);
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(key);
  if (it == object_.end()) {
    if (required) problem(key, std::string("missing (expected ") + expected + ")");
    return nullptr;
  }
  return &*it;
}

JsonReader& JsonReader::get(const std::string& key, std::string& out, bool required) {
  if (const auto* v = find(key, required, "a string")) {
    if (v->is_string()) out = v->get<std::string>();
    else problem(key, "expected a string, got " + type_of(*v));
  }
  return *this;
}

JsonReader& JsonReader::get(const std::string& key, bool& out, bool required) {
  if (const auto* v = find(key, required, "true or false")) {
    if (v->is_boolean()) out = v->get<bool>();
    else problem(key, "expected true or false, got " + type_of(*v));
  }
  return *this;
}

JsonReader& JsonReader::get(const std::string& key, int64_t& out, bool required) {
  if (const auto* v = find(key, required, "an integer")) {
    if (v->is_number_integer()) out = v->get<int64_t>();
    else problem(key, "expected an integer, got " + type_of(*v));
  }
  return *this;
}

JsonReader& JsonReader::get(const std::string& key, uint64_t& out, bool required) {
  if (const auto* v = find(key, required, "a non-negative integer")) {
    if (v->is_number_unsigned()) out = v->get<uint64_t>();
    else problem(key, "expected a non-negative integer, got " + type_of(*v));
  }
  return *this;
}

JsonReader& JsonReader::get(const std::string& key, std::vector<std::string>& out,
                            bool required) {
  if (const auto* v = find(key, required, "an array of strings")) {
    bool good = v->is_array() && std::all_of(v->begin(), v->end(),
                                             [](const auto& e) { return e.is_string(); });
    if (good) out = v->get<std::vector<std::string>>();
    else problem(key, "expected an array of strings, got " + type_of(*v));
  }
  return *this;
}

JsonReader& JsonReader::get_enum(const std::string& key, std::string& out,
                                 const std::vector<std::string>& allowed, bool required) {
  std::string value = out;
  size_t before = problems_->size();
  get(key, value, required);
  if (problems_->size() != before) return *this;
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    problem(key, "'" + value + "' is not one of: " + list);
    return *this;
  }
  out = value;
  return *this;
}

JsonReader& JsonReader::object(const std::string& key) {
  // Asked again (two parts of a program read one section), the same reader answers, so the
  // unknown-key check knows the keys of both.
  for (auto& child : children_) {
    if (child->path_ == path_of(key)) return *child;
  }
  const auto* v = find(key, false, "an object");
  std::string where = where_;
  children_.push_back(std::unique_ptr<JsonReader>(
      new JsonReader(v != nullptr ? *v : empty_object(), where, path_of(key), problems_)));
  return *children_.back();
}

void JsonReader::check_unknown_keys() {
  if (!object_.is_object()) return;
  for (const auto& [key, value] : object_.items()) {
    if (known_.count(key) != 0) continue;
    std::string hint;
    size_t best = 3;  // suggest only close matches
    for (const auto& k : known_) {
      size_t d = edit_distance(key, k);
      if (d < best) {
        best = d;
        hint = k;
      }
    }
    problem(key, "unknown key" + (hint.empty() ? std::string() : "; did you mean '" + hint + "'?"));
  }
  for (auto& child : children_) child->check_unknown_keys();
}

std::vector<std::string> JsonReader::finish_problems() {
  check_unknown_keys();
  return *problems_;
}

Status JsonReader::finish() {
  check_unknown_keys();
  if (problems_->empty()) return ok();
  std::string message = where_ + ": " + std::to_string(problems_->size()) + " problem" +
                        (problems_->size() == 1 ? "" : "s");
  for (const auto& p : *problems_) message += "\n  " + p;
  return make_error(Errc::invalid_argument, message).with("file", where_);
}

Result<nlohmann::json> parse_json(std::string_view text, const std::string& where) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return make_error(Errc::invalid_argument,
                      where + ": not valid JSON at byte " + std::to_string(e.byte) + ": " +
                          e.what())
        .with("file", where);
  }
}

}  // namespace seed
