// The stable JSON form of the service's views: `seedctl status --json` and
// `ssh <node> status --json` print exactly this, so scripts written against one work with the
// other. Fields are only ever added (schema stays 1 until something is removed or changes
// meaning); docs/reconcile.md lists them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reconcile/service.hpp"

namespace seed::reconcile {

nlohmann::json to_json(const Failure& failure);
nlohmann::json to_json(const InstanceView& instance);
nlohmann::json to_json(const DeployRecord& deploy);
nlohmann::json to_json(const SourceView& source);
// {"schema": 1, "sources": [...]}
nlohmann::json status_json(const std::vector<SourceView>& sources);

// A one-instance-per-line table for humans (what `status` prints without --json).
std::string status_text(const std::vector<SourceView>& sources);

// One log entry: {"source", "boot", "timestamp", "received", "message"} and, for journal
// entries, "unit", "priority", "boot_id" (and "raw": true for a line that was no entry).
// Timestamps are µs since the epoch.
nlohmann::json to_json(const LogEntry& entry);
// One line for humans: a console line as it was printed; a journal entry as
// "<RFC 3339 time> <unit>[<priority>]: <message>"; a boot marker as "-- boot <n> <time>: VM started --".
std::string log_line(const LogEntry& entry);
// {"instance": "<name>.<namespace>", "lines": [...log_line...], "entries": [...to_json...]}:
// what `seedctl logs --json` and the admin API's /api/v1/logs answer.
nlohmann::json logs_json(const InstanceId& id, const std::vector<LogEntry>& entries);
// {"schema": 1, "quarantine": [{"toplevel", "instance", "reason", "until"}]}
nlohmann::json quarantine_json(const std::vector<QuarantineEntry>& entries);

}  // namespace seed::reconcile
