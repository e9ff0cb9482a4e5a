// A response body read from a program's stdout while it runs (`git archive`, git-http-backend):
// the program is spawned with an argv vector (never a shell), its output goes to the client as
// it comes, and the program is killed when the response ends or the client goes away. Bounded:
// a program silent for `stall` fails the stream (the client sees a broken transfer), and so does
// a client taking less than MinClientRate (a slow or stopped reader would otherwise hold the
// program, its slot and a listener thread's connection for as long as it likes).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/http_types.hpp"
#include "common/error.hpp"
#include "common/process.hpp"

namespace seed::api::silo_web {

// Counts the streams that run a program, so a burst of tarball or clone requests cannot fork
// without bound: acquire() fails when `max` run already, or `max_per_source` for that client
// address (0: no cap of its own), so one client cannot take every slot from the others.
class StreamSlots {
 public:
  explicit StreamSlots(unsigned max, unsigned max_per_source = 0) : max_(max), max_per_source_(max_per_source) {}
  bool acquire(const std::string& source = "");
  void release(const std::string& source = "");
  unsigned live() const;

 private:
  unsigned max_, max_per_source_;
  mutable std::mutex mu_;
  unsigned live_ = 0;
  std::map<std::string, unsigned> per_source_;
};

// The least a client must take: over every `window`, on average `bytes_per_second`. Time the
// program spends producing output is not counted against the client. 0 bytes: no minimum.
struct MinClientRate {
  uint64_t bytes_per_second = 0;
  std::chrono::milliseconds window{30000};
};

class ProcessStream : public BodyStream {
 public:
  // Spawns `options` (stdout and stderr become pipes) with `input` on its stdin. Holds one slot
  // of `slots` (counted for `source`, the client's address) until destroyed. Errc::unavailable
  // when no slot is free.
  static Result<std::shared_ptr<ProcessStream>> start(SpawnOptions options, const std::string& input,
                                                      std::shared_ptr<StreamSlots> slots,
                                                      std::chrono::milliseconds stall, const std::string& source = "",
                                                      MinClientRate min_rate = {});
  ~ProcessStream() override;

  ssize_t read(char* buf, size_t max) override;
  pid_t pid() const { return child_.pid(); }

  // For CGI: reads up to the blank line ending the header block (at most 16 KiB), returning it
  // without the blank line; what came after it is sent first by read(). Errc::process_failed
  // with the program's stderr when it ends or stalls before.
  Result<std::string> read_cgi_head();

 private:
  ProcessStream() = default;
  // Waits for stdout to be readable; false on a stall.
  bool wait_readable();
  // True when the window that just ended saw the client take less than min_rate_; starts the
  // next window otherwise.
  bool client_too_slow();
  std::string stderr_text();

  Child child_;
  std::shared_ptr<StreamSlots> slots_;
  std::chrono::milliseconds stall_{0};
  std::string source_;
  MinClientRate min_rate_;
  std::chrono::steady_clock::time_point window_start_;
  uint64_t window_bytes_ = 0;
  std::string pending_;  // read past the CGI head, not sent yet
  bool failed_ = false;
  bool reaped_ = false;  // its exit was collected (after the end of its output)
};

}  // namespace seed::api::silo_web
