// The wire format between seedctl and seedd's control socket, used by both sides.
//
// The client sends one JSON object on one line: {"command": "status", "source": "..."}. The
// server answers with JSON lines, each an object with exactly one of these keys:
//   {"progress": {"stage": "build", "message": "building web"}}   zero or more, in order
//   {"data": "console text"}                                      logs (and logs -f) output
//   {"result": <object>, "text": "human rendering"}               the last line on success
//   {"error": {"code", "message", "stage", "hint", "context"}}    the last line on failure
// docs/seedctl.md is the reference; fields are only ever added.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace seed::control {

enum class Command {
  plant,
  status,
  logs,
  restart,
  unplant,
  quarantine_list,
  quarantine_clear,
  invite_create,
  ssh_host_key,
  ca,
  sessions,  // the session audit: every exec and console session (seedctl sessions)
  shoots,    // the shoot pool: tiers, templates, clones, memory (seedctl shoots)
};

std::string to_string(Command command);
std::optional<Command> command_from_string(std::string_view name);

struct Request {
  Command command = Command::status;
  std::string uri{};     // plant
  std::string source{};  // status ("" = all), unplant
  std::string instance{};  // logs, restart: "name", "name.namespace" or "source/name"
  uint64_t lines = 100;  // logs
  bool follow = false;   // logs
  std::string unit{};    // logs: journal entries of this unit only ("" = everything)
  int64_t since_us = 0;  // logs: received at or after (µs since the epoch; 0 = no limit)
  int64_t boot = 1;      // logs: 0 current boot, -1 previous, ...; 1 (absent) = every boot
  std::string toplevel{};  // quarantine_clear (or all)
  bool all = false;      // quarantine_clear
  uint64_t uses = 1;     // invite_create
  int64_t expires_at = 0;  // invite_create: unix seconds, 0 = never
};

// Limits that both sides check, so a request seedctl accepts is one seedd accepts.
inline constexpr uint64_t max_log_lines = 100000;
inline constexpr uint64_t max_invite_uses = 1000000;

// One line, without the trailing newline.
std::string encode_request(const Request& request);
// Strict: unknown keys, wrong types, a missing field the command needs are invalid_argument
// errors with stage "request" naming the field.
Result<Request> decode_request(std::string_view line);

enum class LineKind { progress, data, result, error };

struct ResponseLine {
  LineKind kind = LineKind::result;
  nlohmann::json body;  // progress: the object; data: the string; result: the result
  std::string text;     // result: its human rendering
  Error error;          // error: decoded
};

// Each returns one line without the newline. Invalid UTF-8 (console output) is replaced, never
// an exception.
std::string encode_progress(std::string_view stage, std::string_view message);
std::string encode_data(std::string_view data);
std::string encode_result(const nlohmann::json& result, std::string_view text);
// The stage comes from the error's "stage" context (or `fallback_stage`), the hint from its
// "hint" context; the remaining context travels as an object.
std::string encode_error(const Error& error, std::string_view fallback_stage);
Result<ResponseLine> decode_response(std::string_view line);

// Parses a code name back ("not_found" → Errc::not_found); Errc::internal when unknown.
Errc errc_from_string(std::string_view name);

// --expires: "30m", "24h", "7d" (from `now`) or absolute unix seconds. invalid_argument for
// anything else, for zero durations and for absolute times not in the future.
Result<int64_t> parse_expiry(std::string_view text, int64_t now);

}  // namespace seed::control
