// Structured logging on spdlog: a stable, greppable event name followed by key=value fields,
// e.g. `vm.started vm=web pid=4242 driver=qemu`. journald adds its own timestamps, so under
// systemd (JOURNAL_STREAM set) lines carry only the level.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/error.hpp"

namespace seed::log {

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  template <class N>
    requires std::is_arithmetic_v<N>
  Field(std::string_view k, N v) : key(k), value(std::to_string(v)) {}
  std::string_view key;
  std::string value;
};

enum class Level { debug, info, warn, error };

// Configures the default logger once, from main(). Without it, spdlog's defaults apply.
void init(Level level);
Result<Level> parse_level(std::string_view name);

// The formatted line without level or timestamp; values with spaces, quotes or '=' are quoted.
std::string format(std::string_view event, std::initializer_list<Field> fields);

void write(Level level, std::string_view event, std::initializer_list<Field> fields);
inline void debug(std::string_view e, std::initializer_list<Field> f = {}) { write(Level::debug, e, f); }
inline void info(std::string_view e, std::initializer_list<Field> f = {}) { write(Level::info, e, f); }
inline void warn(std::string_view e, std::initializer_list<Field> f = {}) { write(Level::warn, e, f); }
inline void error(std::string_view e, std::initializer_list<Field> f = {}) { write(Level::error, e, f); }

}  // namespace seed::log
