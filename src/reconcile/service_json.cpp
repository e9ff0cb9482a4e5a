#include "reconcile/service_json.hpp"

#include <sstream>

#include "common/time_text.hpp"

namespace seed::reconcile {

std::string to_string(InstanceState state) {
  switch (state) {
    case InstanceState::pending: return "pending";
    case InstanceState::starting: return "starting";
    case InstanceState::running: return "running";
    case InstanceState::restarting: return "restarting";
    case InstanceState::failed: return "failed";
    case InstanceState::stopped: return "stopped";
  }
  return "?";
}

nlohmann::json to_json(const Failure& f) { return {{"stage", f.stage}, {"message", f.message}, {"at", f.at}}; }

namespace {
// Deploy lines `status` prints per source; --json has every kept one.
constexpr size_t kDeploysShown = 3;

// Unix seconds as RFC 3339 without fractions (the µs formatter is the one RFC 3339 writer).
std::string seconds_text(int64_t unix_seconds) {
  std::string at = format_rfc3339_us(unix_seconds * 1000000);
  if (auto dot = at.find('.'); dot != std::string::npos) at = at.substr(0, dot) + "Z";
  return at;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

nlohmann::json optional_failure(const std::optional<Failure>& f) { return f ? to_json(*f) : nlohmann::json(nullptr); }
}  // namespace

nlohmann::json to_json(const InstanceView& i) {
  return {{"name", i.id.name},
          {"namespace", i.id.ns},
          {"source", i.source},
          {"state", to_string(i.state)},
          {"generation", i.generation},
          {"desired_generation", i.desired_generation},
          {"toplevel", i.toplevel},
          {"dns_names", i.dns_names},
          {"ipv4", i.ipv4},
          {"ipv6", i.ipv6},
          {"restarts", i.restarts},
          {"started_at", i.started_at},
          {"shoots", {{"ran", i.shoots_ran}, {"running", i.shoots_running}}},
          {"failure", optional_failure(i.failure)}};
}

nlohmann::json to_json(const DeployRecord& d) {
  return {{"because", d.because}, {"started_at", d.started_at}, {"duration_ms", d.duration_ms},
          {"outcome", d.outcome}, {"stage", d.stage},      {"error", d.error}};
}

nlohmann::json to_json(const SourceView& s) {
  nlohmann::json instances = nlohmann::json::array();
  for (const auto& i : s.instances) instances.push_back(to_json(i));
  nlohmann::json deploys = nlohmann::json::array();
  for (const auto& d : s.deploys) deploys.push_back(to_json(d));
  return {{"source", s.record.canonical},   {"namespace", s.record.ns},
          {"planted_by", s.record.planted_by}, {"planted_at", s.record.planted_at},
          {"fetched_at", s.record.fetched_at}, {"fetched_because", s.record.fetched_because},
          {"failure", optional_failure(s.failure)}, {"instances", std::move(instances)},
          {"deploys", std::move(deploys)}};
}

nlohmann::json status_json(const std::vector<SourceView>& sources) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : sources) list.push_back(to_json(s));
  return {{"schema", 1}, {"sources", std::move(list)}};
}

std::string status_text(const std::vector<SourceView>& sources) {
  std::ostringstream out;
  if (sources.empty()) out << "nothing planted\n";
  for (const auto& s : sources) {
    out << s.record.canonical << "  (namespace " << s.record.ns << ")";
    if (s.record.fetched_at != 0) out << "  fetched " << seconds_text(s.record.fetched_at) << " (" << s.record.fetched_because << ")";
    out << "\n";
    if (s.failure) out << "  error [" << s.failure->stage << "]: " << s.failure->message << "\n";
    // The last few deploys, newest first (all of them are in --json).
    for (size_t n = 0; n < s.deploys.size() && n < kDeploysShown; ++n) {
      const auto& d = s.deploys[n];
      out << "  deploy " << seconds_text(d.started_at) << " " << d.because << ": " << d.outcome;
      if (d.outcome != "ok") out << " at " << d.stage;
      out << " in " << d.duration_ms << " ms";
      if (!d.error.empty()) out << ": " << first_line(d.error);
      out << "\n";
    }
    if (s.instances.empty()) out << "  no instances\n";
    for (const auto& i : s.instances) {
      out << "  " << i.id.name << "  " << to_string(i.state);
      if (!i.generation.empty()) out << "  gen " << i.generation;
      if (!i.dns_names.empty()) out << "  " << i.dns_names.front();
      if (!i.ipv4.empty()) out << "  " << i.ipv4;
      if (i.shoots_ran > 0) out << "  shoots " << i.shoots_ran << " ran, " << i.shoots_running << " running";
      out << "\n";
      if (i.failure) out << "    error [" << i.failure->stage << "]: " << i.failure->message << "\n";
    }
  }
  return out.str();
}

nlohmann::json to_json(const LogEntry& e) {
  // A serial console ends lines in CR LF; the CR is no part of the message (the log store drops
  // it, and a VM's plain console.log, read for VMs older than the store, may still have it).
  std::string_view message = e.message;
  if (message.ends_with('\r')) message.remove_suffix(1);
  nlohmann::json j = {{"source", e.source},   {"boot", e.boot},         {"timestamp", e.timestamp_us},
                      {"received", e.received_us}, {"message", message}};
  if (e.source == "journal") {
    j["unit"] = e.unit;
    j["priority"] = e.priority;
    j["boot_id"] = e.boot_id;
    if (e.raw) j["raw"] = true;
  }
  return j;
}

std::string log_line(const LogEntry& e) {
  if (e.source == "boot") {
    return "-- boot " + std::to_string(e.boot) + " " + format_rfc3339_us(e.timestamp_us) + ": " + e.message + " --";
  }
  if (e.source == "journal") {
    std::string who = e.raw ? "(unparsed)" : e.unit.empty() ? "journal" : e.unit;
    return format_rfc3339_us(e.timestamp_us) + " " + who + "[" + std::to_string(e.priority) + "]: " + e.message;
  }
  return e.message;
}

nlohmann::json logs_json(const InstanceId& id, const std::vector<LogEntry>& entries) {
  nlohmann::json lines = nlohmann::json::array(), objects = nlohmann::json::array();
  for (const auto& e : entries) {
    lines.push_back(log_line(e));
    objects.push_back(to_json(e));
  }
  return {{"instance", id.str()}, {"lines", std::move(lines)}, {"entries", std::move(objects)}};
}

nlohmann::json quarantine_json(const std::vector<QuarantineEntry>& entries) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : entries) {
    list.push_back({{"toplevel", e.toplevel}, {"instance", e.instance}, {"reason", e.reason}, {"until", e.until}});
  }
  return {{"schema", 1}, {"quarantine", std::move(list)}};
}

}  // namespace seed::reconcile
