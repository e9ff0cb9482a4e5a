// Strict reading of JSON objects into typed structs, for configuration and any other document
// a human writes. Unknown keys and wrong types are errors that name the exact path
// ("vmm.shutdown_timeout_s: expected an integer, got the string \"10\"") and, for a misspelt
// key, the nearest known one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace seed {

class JsonReader {
 public:
  // `where` names the document for error messages (a file path); `path` is the object's path.
  JsonReader(const nlohmann::json& object, std::string where, std::string path = "");

  // Each getter leaves `out` untouched when the key is absent (so defaults survive) unless
  // the key is required. All report into one error list; check finish() at the end.
  JsonReader& get(const std::string& key, std::string& out, bool required = false);
  JsonReader& get(const std::string& key, bool& out, bool required = false);
  JsonReader& get(const std::string& key, int64_t& out, bool required = false);
  JsonReader& get(const std::string& key, uint64_t& out, bool required = false);
  JsonReader& get(const std::string& key, std::vector<std::string>& out, bool required = false);
  // One of a fixed set of strings.
  JsonReader& get_enum(const std::string& key, std::string& out,
                       const std::vector<std::string>& allowed, bool required = false);
  // A nested object: returns a reader for it (an empty object when absent), owned by this one;
  // the same reader each time it is asked for.
  JsonReader& object(const std::string& key);

  // The raw value of a key this reader does not interpret itself (an array of objects, say);
  // marks it known. nullptr when absent.
  const nlohmann::json* raw(const std::string& key) { return find(key, false, "a value"); }

  // Fails on unknown keys (here and in nested readers) and on every recorded problem.
  Status finish();
  // The same checks, returning the problems ("path: what") for a caller that gathers them
  // from several readers into one message.
  std::vector<std::string> finish_problems();

  std::string path_of(const std::string& key) const;

 private:
  JsonReader(const nlohmann::json& object, std::string where, std::string path,
             std::shared_ptr<std::vector<std::string>> problems);
  const nlohmann::json* find(const std::string& key, bool required, const char* expected);
  void problem(const std::string& key, const std::string& what);
  void check_unknown_keys();

  const nlohmann::json& object_;
  std::string where_;
  std::string path_;
  std::set<std::string> known_;
  std::shared_ptr<std::vector<std::string>> problems_;
  std::vector<std::unique_ptr<JsonReader>> children_;
};

// Parses a JSON document, reporting the byte offset of a syntax error.
Result<nlohmann::json> parse_json(std::string_view text, const std::string& where);

}  // namespace seed
