// What seed-console-logger does with the bytes of a VM's two output channels, without the
// process around it (so it is unit-tested): the serial console goes verbatim into console.log
// and, line by line, into the structured log store; the log channel (`seed.log`) goes into
// the store as journal records. Times are passed in by the caller.
#pragma once

#include <optional>

#include "vmm/console/console_log.hpp"
#include "vmm/console/log_store.hpp"

namespace seed::vmm {

class LogCapture {
 public:
  // `store` is nullopt for a logger started without a log channel (console only).
  LogCapture(ConsoleLogWriter console, std::optional<LogStoreWriter> store)
      : console_(std::move(console)), store_(std::move(store)) {}

  // The VM (re)started: a boot marker. Not called when the logger replaces a dead one for a
  // running VM, which is no new boot.
  Status boot(int64_t now_us);
  Status console_data(std::string_view data, int64_t now_us);
  Status journal_data(std::string_view data, int64_t now_us);
  // Nothing arrived for a while: a pending console line without its newline (a prompt) is
  // stored now rather than never. Journal lines are only ever stored whole.
  Status idle(int64_t now_us);
  // Exiting: whatever is pending on either channel is stored.
  Status finish(int64_t now_us);

 private:
  Status store(const LogRecord& r);
  LogRecord console_record(std::string_view line, bool truncated, int64_t now_us) const;

  ConsoleLogWriter console_;
  std::optional<LogStoreWriter> store_;
  LineAssembler console_lines_;
  LineAssembler journal_lines_;
};

}  // namespace seed::vmm
