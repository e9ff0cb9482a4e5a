// The per-VM structured log store: what `logs` reads. One JSON object per line, in arrival
// order, in a size-capped rotated set of files (log.jsonl, log.jsonl.1, ...) written by the
// seed-console-logger process with the same ConsoleLogWriter (and limits) as console.log.
//
// Three kinds of record:
//   boot     written by the logger when the VM starts (one per VMM launch); starts a boot
//   console  one serial-console line, stamped with the host time it arrived
//   journal  one entry from the guest's log channel (the `seed.log` port), whose wire format
//            is one JSON object per line:
//              {"unit": "nginx.service", "priority": 6, "timestamp": <µs since epoch>,
//               "message": "...", "boot_id": "..."}
//            A line that is not such an object (garbage, a bare string, too long) is kept as
//            a raw record with the text as its message: the guest is never trusted to be
//            well-formed, and nothing it sends makes the logger fail.
// Arrival order is the order `logs` shows: both channels are read by one process as the VMM
// hands their bytes over, so it is the order in which the host saw them. The guest's own
// timestamp is shown, and kept, but is never used to reorder (the guest's clock may be off).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "vmm/console/console_log.hpp"

namespace seed::vmm {

enum class LogSource { boot, console, journal };
std::string_view to_string(LogSource source);

struct LogRecord {
  LogSource source = LogSource::console;
  int64_t received_us = 0;   // host clock when it arrived (µs since epoch)
  int64_t timestamp_us = 0;  // the entry's own time: the guest's for journal entries, else received_us
  std::string unit;          // journal only
  int priority = 6;          // syslog priority 0 (emerg) .. 7 (debug); 6 (info) when not given
  std::string boot_id;       // journal only: the guest's boot id
  std::string message;
  bool raw = false;          // a journal line that was not a valid entry; message holds its text
  bool truncated = false;    // the line was longer than kMaxLogLineBytes and was cut
};

// Longest line kept from either channel; the rest of a longer line is dropped (the record
// says truncated).
constexpr size_t kMaxLogLineBytes = 16 * 1024;

// One line of the log channel (without its newline) as a journal record. Never fails.
LogRecord parse_guest_line(std::string_view line, int64_t received_us);

// The store's line for a record (no newline) and back. decode fails (nullopt) only on a
// line seedd did not write: readers skip those.
std::string encode_record(const LogRecord& record);
std::optional<LogRecord> decode_record(std::string_view line);

// Turns the bytes of one channel into lines: at most kMaxLogLineBytes each, CR before LF
// dropped. `flush_partial` hands out a pending incomplete line (the console's "login: ").
class LineAssembler {
 public:
  // Calls on_line(text, truncated) for each complete line in `data`.
  void feed(std::string_view data, const std::function<void(std::string_view, bool)>& on_line);
  void flush_partial(const std::function<void(std::string_view, bool)>& on_line);

 private:
  std::string pending_;
  bool truncated_ = false;
};

// What `logs` asks for. Boots are numbered like journalctl's: 0 the current one, -1 the one
// before, ...; records older than the oldest boot marker still kept belong to the oldest boot.
struct LogSelection {
  size_t lines = 100;                // the last N records that pass the filters
  std::optional<std::string> unit;   // journal records of this unit only ("nginx" matches "nginx.service")
  std::optional<int64_t> since_us;   // received at or after
  std::optional<int> boot;           // 0, -1, -2, ...
};

// A record with the boot it belongs to (0, -1, ...).
struct SelectedRecord {
  LogRecord record;
  int boot = 0;
};

std::vector<SelectedRecord> select_records(const std::vector<LogRecord>& records, const LogSelection& selection);

// Every record in the store at `path` (all rotated files), oldest first. A missing store is
// empty.
Result<std::vector<LogRecord>> read_log_records(const std::string& path);

// Calls on_record for each record appended after the call starts that passes `unit` and
// `since_us` of `selection` (boot 0 only), until keep_going returns false.
Status follow_log_records(const std::string& path, const LogSelection& selection,
                          const std::function<void(const SelectedRecord&)>& on_record,
                          const std::function<bool()>& keep_going);

// The logger's side: appends records to the store through a ConsoleLogWriter.
class LogStoreWriter {
 public:
  static Result<LogStoreWriter> open(std::string path, ConsoleLogLimits limits);
  Status append(const LogRecord& record);

 private:
  explicit LogStoreWriter(ConsoleLogWriter writer) : writer_(std::move(writer)) {}
  ConsoleLogWriter writer_;
};

}  // namespace seed::vmm
