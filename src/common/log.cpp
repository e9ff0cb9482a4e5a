#include "common/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace seed::log {
namespace {

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\t' || c == '\\') return true;
  }
  return false;
}

}  // namespace

void init(Level level) {
  auto logger = spdlog::stderr_logger_st("seed");
  // journald timestamps every line itself; elsewhere humans want the time.
  logger->set_pattern(std::getenv("JOURNAL_STREAM") != nullptr ? "<%l> %v"
                                                                 : "%Y-%m-%dT%H:%M:%S.%e %l %v");
  logger->set_level(to_spdlog(level));
  logger->flush_on(spdlog::level::debug);
  spdlog::set_default_logger(logger);
}

Result<Level> parse_level(std::string_view name) {
  if (name == "debug") return Level::debug;
  if (name == "info") return Level::info;
  if (name == "warn") return Level::warn;
  if (name == "error") return Level::error;
  return make_error(Errc::invalid_argument,
                    "unknown log level '" + std::string(name) + "' (use debug, info, warn, error)");
}

std::string format(std::string_view event, std::initializer_list<Field> fields) {
  std::string line(event);
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    if (!needs_quotes(f.value)) {
      line += f.value;
      continue;
    }
    line += '"';
    for (char c : f.value) {
      if (c == '"' || c == '\\') line += '\\';
      if (c == '\n') {
        line += "\\n";
        continue;
      }
      line += c;
    }
    line += '"';
  }
  return line;
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  auto lvl = to_spdlog(level);
  if (!spdlog::default_logger_raw()->should_log(lvl)) return;
  spdlog::default_logger_raw()->log(lvl, format(event, fields));
}

}  // namespace seed::log
