#include "vmm/console/log_store.hpp"

#include <limits>

#include <nlohmann/json.hpp>

namespace seed::vmm {

using nlohmann::json;

std::string_view to_string(LogSource source) {
  switch (source) {
    case LogSource::boot: return "boot";
    case LogSource::console: return "console";
    case LogSource::journal: return "journal";
  }
  return "console";
}

namespace {

std::optional<LogSource> source_from(std::string_view s) {
  if (s == "boot") return LogSource::boot;
  if (s == "console") return LogSource::console;
  if (s == "journal") return LogSource::journal;
  return std::nullopt;
}

// journald's fields arrive as strings (`journalctl -o json`); the test guest writes numbers.
// Either is accepted.
std::optional<int64_t> integer_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    if (s.empty() || s.size() > 18) return std::nullopt;
    int64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return v;
  }
  return std::nullopt;
}

std::optional<std::string> string_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

LogRecord raw_record(std::string_view line, int64_t received_us) {
  LogRecord r;
  r.source = LogSource::journal;
  r.received_us = received_us;
  r.timestamp_us = received_us;
  r.raw = true;
  r.message = std::string(line);
  return r;
}

bool unit_matches(const std::string& unit, const std::string& wanted) {
  if (unit == wanted) return true;
  // "nginx" selects "nginx.service", as systemctl and journalctl -u do.
  return unit.size() > wanted.size() && unit.compare(0, wanted.size(), wanted) == 0 &&
         unit[wanted.size()] == '.';
}

bool passes(const LogRecord& r, const LogSelection& s) {
  if (s.unit && (r.source != LogSource::journal || r.raw || !unit_matches(r.unit, *s.unit))) return false;
  if (s.since_us && r.received_us < *s.since_us) return false;
  return true;
}

}  // namespace

LogRecord parse_guest_line(std::string_view line, int64_t received_us) {
  json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return raw_record(line, received_us);
  auto message = string_field(j, "message");
  if (!message) message = string_field(j, "MESSAGE");  // journalctl -o json spelling
  if (!message) return raw_record(line, received_us);
  LogRecord r;
  r.source = LogSource::journal;
  r.received_us = received_us;
  r.message = std::move(*message);
  r.unit = string_field(j, "unit").value_or(string_field(j, "_SYSTEMD_UNIT").value_or(""));
  if (r.unit.empty()) r.unit = string_field(j, "SYSLOG_IDENTIFIER").value_or("");
  auto prio = integer_field(j, "priority");
  if (!prio) prio = integer_field(j, "PRIORITY");
  r.priority = prio && *prio >= 0 && *prio <= 7 ? static_cast<int>(*prio) : 6;
  auto ts = integer_field(j, "timestamp");
  if (!ts) ts = integer_field(j, "__REALTIME_TIMESTAMP");
  r.timestamp_us = ts.value_or(received_us);
  r.boot_id = string_field(j, "boot_id").value_or(string_field(j, "_BOOT_ID").value_or(""));
  return r;
}

std::string encode_record(const LogRecord& r) {
  json j = {{"src", to_string(r.source)}, {"rx", r.received_us}, {"msg", r.message}};
  if (r.timestamp_us != r.received_us) j["ts"] = r.timestamp_us;
  if (r.source == LogSource::journal) {
    j["unit"] = r.unit;
    j["prio"] = r.priority;
    j["boot_id"] = r.boot_id;
  }
  if (r.raw) j["raw"] = true;
  if (r.truncated) j["cut"] = true;
  // The guest's bytes need not be UTF-8; JSON must be. Invalid sequences become U+FFFD.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<LogRecord> decode_record(std::string_view line) {
  json j = json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto src = string_field(j, "src");
  auto rx = integer_field(j, "rx");
  auto msg = string_field(j, "msg");
  if (!src || !rx || !msg || !source_from(*src)) return std::nullopt;
  LogRecord r;
  r.source = *source_from(*src);
  r.received_us = *rx;
  r.timestamp_us = integer_field(j, "ts").value_or(*rx);
  r.message = std::move(*msg);
  r.unit = string_field(j, "unit").value_or("");
  r.priority = static_cast<int>(integer_field(j, "prio").value_or(6));
  r.boot_id = string_field(j, "boot_id").value_or("");
  r.raw = j.value("raw", false);
  r.truncated = j.value("cut", false);
  return r;
}

void LineAssembler::feed(std::string_view data, const std::function<void(std::string_view, bool)>& on_line) {
  while (!data.empty()) {
    size_t nl = data.find('\n');
    std::string_view part = data.substr(0, nl);
    size_t room = kMaxLogLineBytes > pending_.size() ? kMaxLogLineBytes - pending_.size() : 0;
    if (part.size() > room) truncated_ = true;
    pending_.append(part.substr(0, room));
    if (nl == std::string_view::npos) return;
    if (!pending_.empty() && pending_.back() == '\r') pending_.pop_back();
    on_line(pending_, truncated_);
    pending_.clear();
    truncated_ = false;
    data.remove_prefix(nl + 1);
  }
}

void LineAssembler::flush_partial(const std::function<void(std::string_view, bool)>& on_line) {
  if (pending_.empty()) return;
  on_line(pending_, truncated_);
  pending_.clear();
  truncated_ = false;
}

std::vector<SelectedRecord> select_records(const std::vector<LogRecord>& records, const LogSelection& selection) {
  // Boot of each record: minus the number of boot markers after it.
  std::vector<int> boots(records.size());
  int markers_after = 0;
  for (size_t i = records.size(); i-- > 0;) {
    boots[i] = -markers_after;
    if (records[i].source == LogSource::boot) ++markers_after;
  }
  std::vector<SelectedRecord> out;
  for (size_t i = records.size(); i-- > 0 && out.size() < selection.lines;) {
    if (selection.boot && boots[i] != *selection.boot) continue;
    if (!passes(records[i], selection)) continue;
    out.push_back({records[i], boots[i]});
  }
  return {out.rbegin(), out.rend()};
}

Result<std::vector<LogRecord>> read_log_records(const std::string& path) {
  auto lines = SEED_TRY(console_tail(path, std::numeric_limits<size_t>::max()));
  std::vector<LogRecord> out;
  out.reserve(lines.size());
  for (const auto& l : lines) {
    // The oldest file may begin mid-line (its start rotated away): not a record, skipped.
    if (auto r = decode_record(l)) out.push_back(std::move(*r));
  }
  return out;
}

Status follow_log_records(const std::string& path, const LogSelection& selection,
                          const std::function<void(const SelectedRecord&)>& on_record,
                          const std::function<bool()>& keep_going) {
  LineAssembler lines;
  return console_follow(
      path,
      [&](std::string_view data) {
        lines.feed(data, [&](std::string_view line, bool) {
          auto r = decode_record(line);
          if (r && passes(*r, selection)) on_record({std::move(*r), 0});
        });
      },
      keep_going);
}

Result<LogStoreWriter> LogStoreWriter::open(std::string path, ConsoleLogLimits limits) {
  return LogStoreWriter(SEED_TRY(ConsoleLogWriter::open(std::move(path), limits)));
}

Status LogStoreWriter::append(const LogRecord& record) {
  return writer_.write(encode_record(record) + "\n");
}

}  // namespace seed::vmm
