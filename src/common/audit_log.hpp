// The session audit (issue 14): every exec and console session a tenant opens is recorded with
// the key's fingerprint, the instance, the command (argv, or the console's terminal), start, end
// and exit code. Records are JSON lines appended to one file in the state directory
// (`<state>/sessions.audit.jsonl`): a begin line when the session starts, an end line when it
// ends, both carrying the session id, so a seedd crash between them leaves a begin without an
// end (listed as still open) instead of losing the session. The file is bounded: when an append
// would take it past max_bytes it is renamed to `.1` (replacing the previous `.1`) and a new file
// starts, so at most two files of max_bytes each are ever kept. Each begin/end also goes through
// the structured logger (events audit.session_begin / audit.session_end). seedd owns the one
// AuditLog; the SSH front end records into it and the control socket lists it (`seedctl sessions`).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace seed {

// One session as listed (begin and end joined by id).
struct AuditEntry {
  uint64_t id = 0;
  std::string kind;         // "exec" or "console"
  std::string fingerprint;  // the key's SHA256 fingerprint
  std::string instance;     // "name.namespace"
  std::string detail;       // exec: the argv as JSON; console: "term=..."
  int64_t started_ms = 0;   // Unix epoch milliseconds
  std::optional<int64_t> ended_ms;    // empty: still open (or seedd stopped before it ended)
  std::optional<int> exit_code;       // -1: the client left and the command was killed
};

class AuditLog {
 public:
  static constexpr uint64_t kDefaultMaxBytes = 4u << 20;

  // path: the current file; its rotated predecessor is path + ".1".
  explicit AuditLog(std::string path, uint64_t max_bytes = kDefaultMaxBytes);

  // Records the start of a session and returns its id (distinct across seedd restarts).
  // A failed write is logged, never refused: the audit must not take the session down with it.
  uint64_t begin(const std::string& kind, const std::string& fingerprint, const std::string& instance,
                 const std::string& detail);
  void end(uint64_t id, int exit_code);

  // Every session still in the two files, oldest first. Lines that do not parse (a torn last
  // line after a crash) are skipped.
  Result<std::vector<AuditEntry>> list() const;

  const std::string& path() const { return path_; }

 private:
  Status append(const std::string& line);

  std::string path_;
  uint64_t max_bytes_;
  mutable std::mutex mutex_;  // sessions begin and end on several SSH threads
};

}  // namespace seed
