#include "control/control_protocol.hpp"

#include <array>
#include <charconv>
#include <utility>

#include "common/json_reader.hpp"

namespace seed::control {
namespace {

constexpr std::array<std::pair<Command, std::string_view>, 12> command_names{{
    {Command::plant, "plant"},
    {Command::status, "status"},
    {Command::logs, "logs"},
    {Command::restart, "restart"},
    {Command::unplant, "unplant"},
    {Command::quarantine_list, "quarantine_list"},
    {Command::quarantine_clear, "quarantine_clear"},
    {Command::invite_create, "invite_create"},
    {Command::ssh_host_key, "ssh_host_key"},
    {Command::ca, "ca"},
    {Command::sessions, "sessions"},
    {Command::shoots, "shoots"},
}};

constexpr std::array<Errc, 13> all_codes{
    Errc::invalid_argument, Errc::not_found, Errc::already_exists, Errc::in_use,
    Errc::cannot_shrink,    Errc::permission_denied, Errc::unavailable, Errc::timeout,
    Errc::io,               Errc::process_failed, Errc::protocol, Errc::conflict, Errc::internal};

// Console output is arbitrary bytes: replace what is not UTF-8 instead of throwing.
std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Error request_error(std::string message) {
  return make_error(Errc::invalid_argument, std::move(message))
      .with("stage", "request")
      .with("hint", "use a seedctl of the same version as seedd");
}

}  // namespace

std::string to_string(Command command) {
  for (const auto& [c, name] : command_names) {
    if (c == command) return std::string(name);
  }
  return "?";
}

std::optional<Command> command_from_string(std::string_view name) {
  for (const auto& [c, n] : command_names) {
    if (n == name) return c;
  }
  return std::nullopt;
}

std::string encode_request(const Request& r) {
  nlohmann::json j{{"command", to_string(r.command)}};
  switch (r.command) {
    case Command::plant: j["uri"] = r.uri; break;
    case Command::status:
      if (!r.source.empty()) j["source"] = r.source;
      break;
    case Command::logs:
      j["instance"] = r.instance;
      j["lines"] = r.lines;
      j["follow"] = r.follow;
      if (!r.unit.empty()) j["unit"] = r.unit;
      if (r.since_us != 0) j["since_us"] = r.since_us;
      if (r.boot <= 0) j["boot"] = r.boot;
      break;
    case Command::restart: j["instance"] = r.instance; break;
    case Command::unplant: j["source"] = r.source; break;
    case Command::quarantine_clear:
      if (r.all) j["all"] = true;
      else j["toplevel"] = r.toplevel;
      break;
    case Command::invite_create:
      j["uses"] = r.uses;
      j["expires_at"] = r.expires_at;
      break;
    case Command::quarantine_list:
    case Command::ssh_host_key:
    case Command::ca:
    case Command::sessions:
    case Command::shoots: break;
  }
  return dump(j);
}

Result<Request> decode_request(std::string_view line) {
  auto json = parse_json(line, "request");
  if (!json) return request_error("the request is not JSON: " + json.error().message);
  if (!json->is_object()) return request_error("the request must be a JSON object");
  JsonReader r(*json, "request");
  std::string name;
  r.get("command", name, true);
  Request req;
  r.get("uri", req.uri).get("source", req.source).get("instance", req.instance);
  r.get("lines", req.lines).get("follow", req.follow);
  r.get("unit", req.unit).get("since_us", req.since_us).get("boot", req.boot);
  r.get("toplevel", req.toplevel).get("all", req.all);
  r.get("uses", req.uses).get("expires_at", req.expires_at);
  if (auto st = r.finish(); !st) return request_error(st.error().message);
  auto command = command_from_string(name);
  if (!command) return request_error("unknown command \"" + name + "\"");
  req.command = *command;
  auto need = [&](const std::string& value, const char* field) -> Status {
    if (value.empty()) return request_error(name + " needs a non-empty \"" + field + "\"");
    return ok();
  };
  switch (req.command) {
    case Command::plant: SEED_TRY(need(req.uri, "uri")); break;
    case Command::logs:
      SEED_TRY(need(req.instance, "instance"));
      if (req.lines > max_log_lines) {
        return request_error("lines must be at most " + std::to_string(max_log_lines));
      }
      if (req.boot > 0 && req.boot != 1) return request_error("boot must be 0 (current), -1 (previous), ...");
      if (req.follow && req.boot < 0) return request_error("follow shows the current boot only (boot 0)");
      break;
    case Command::restart: SEED_TRY(need(req.instance, "instance")); break;
    case Command::unplant: SEED_TRY(need(req.source, "source")); break;
    case Command::quarantine_clear:
      if (req.all == !req.toplevel.empty()) {
        return request_error("quarantine_clear needs exactly one of \"toplevel\" and \"all\"");
      }
      break;
    case Command::invite_create:
      if (req.uses == 0 || req.uses > max_invite_uses) {
        return request_error("uses must be between 1 and " + std::to_string(max_invite_uses));
      }
      if (req.expires_at < 0) return request_error("expires_at must not be negative");
      break;
    case Command::status:
    case Command::quarantine_list:
    case Command::ssh_host_key:
    case Command::ca:
    case Command::sessions:
    case Command::shoots: break;
  }
  return req;
}

std::string encode_progress(std::string_view stage, std::string_view message) {
  return dump({{"progress", {{"stage", stage}, {"message", message}}}});
}

std::string encode_data(std::string_view data) { return dump({{"data", data}}); }

std::string encode_result(const nlohmann::json& result, std::string_view text) {
  return dump({{"result", result}, {"text", text}});
}

std::string encode_error(const Error& error, std::string_view fallback_stage) {
  nlohmann::json context = nlohmann::json::object();
  std::string stage(error.get("stage").value_or(fallback_stage));
  std::string hint(error.get("hint").value_or(""));
  for (const auto& [k, v] : error.context) {
    if (k != "stage" && k != "hint") context[k] = v;
  }
  return dump({{"error",
                {{"code", to_string(error.code)},
                 {"message", error.message},
                 {"stage", stage},
                 {"hint", hint},
                 {"context", std::move(context)}}}});
}

Errc errc_from_string(std::string_view name) {
  for (Errc c : all_codes) {
    if (to_string(c) == name) return c;
  }
  return Errc::internal;
}

Result<ResponseLine> decode_response(std::string_view line) {
  auto bad = [&](const std::string& what) {
    return make_error(Errc::protocol, "seedd sent a line seedctl cannot read: " + what)
        .with("stage", "control")
        .with("hint", "use a seedctl of the same version as seedd");
  };
  auto json = parse_json(line, "response");
  if (!json) return bad(json.error().message);
  if (!json->is_object()) return bad("not a JSON object");
  ResponseLine out;
  if (auto it = json->find("progress"); it != json->end() && it->is_object()) {
    out.kind = LineKind::progress;
    out.body = *it;
  } else if (auto d = json->find("data"); d != json->end() && d->is_string()) {
    out.kind = LineKind::data;
    out.body = *d;
  } else if (auto r = json->find("result"); r != json->end()) {
    out.kind = LineKind::result;
    out.body = *r;
    if (auto t = json->find("text"); t != json->end() && t->is_string()) out.text = t->get<std::string>();
  } else if (auto e = json->find("error"); e != json->end() && e->is_object()) {
    out.kind = LineKind::error;
    auto str = [&](const char* key) {
      auto f = e->find(key);
      return f != e->end() && f->is_string() ? f->get<std::string>() : std::string();
    };
    out.error = make_error(errc_from_string(str("code")), str("message"));
    if (auto c = e->find("context"); c != e->end() && c->is_object()) {
      for (const auto& [k, v] : c->items()) {
        if (v.is_string()) out.error.with(k, v.get<std::string>());
      }
    }
    out.error.with("stage", str("stage"));
    if (!str("hint").empty()) out.error.with("hint", str("hint"));
  } else {
    return bad("no progress, data, result or error key");
  }
  return out;
}

Result<int64_t> parse_expiry(std::string_view text, int64_t now) {
  auto bad = [&] {
    return make_error(Errc::invalid_argument,
                      "--expires \"" + std::string(text) +
                          "\" is not a duration (30m, 24h, 7d) or a future unix time in seconds")
        .with("stage", "usage");
  };
  if (text.empty()) return bad();
  int64_t unit = 0;
  switch (text.back()) {
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: break;
  }
  std::string_view digits = unit != 0 ? text.substr(0, text.size() - 1) : text;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value <= 0) {
    return bad();
  }
  if (unit == 0) {
    if (value <= now) return bad();
    return value;
  }
  // Ten years is far beyond any sensible invite and keeps the product far from overflow.
  constexpr int64_t max_seconds = int64_t{10} * 365 * 86400;
  if (value > max_seconds / unit) return bad();
  return now + value * unit;
}

}  // namespace seed::control
