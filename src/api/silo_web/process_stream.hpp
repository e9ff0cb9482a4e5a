// A response body read from a program's stdout while it runs (`git archive`, git-http-backend):
// the program is spawned with an argv vector (never a shell), its output goes to the client as
// it comes, and the program is killed when the response ends or the client goes away. Bounded:
// a program silent for `stall` fails the stream (the client sees a broken transfer).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "api/http_types.hpp"
#include "common/error.hpp"
#include "common/process.hpp"

namespace seed::api::silo_web {

// Counts the streams that run a program, so a burst of tarball or clone requests cannot fork
// without bound. acquire() fails when `max` run already.
class StreamSlots {
 public:
  explicit StreamSlots(unsigned max) : max_(max) {}
  bool acquire();
  void release() { live_.fetch_sub(1); }
  unsigned live() const { return live_.load(); }

 private:
  unsigned max_;
  std::atomic<unsigned> live_{0};
};

class ProcessStream : public BodyStream {
 public:
  // Spawns `options` (stdout and stderr become pipes) with `input` on its stdin. Holds one slot
  // of `slots` until destroyed.
  static Result<std::shared_ptr<ProcessStream>> start(SpawnOptions options, const std::string& input,
                                                      std::shared_ptr<StreamSlots> slots,
                                                      std::chrono::milliseconds stall);
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
  std::string stderr_text();

  Child child_;
  std::shared_ptr<StreamSlots> slots_;
  std::chrono::milliseconds stall_{0};
  std::string pending_;  // read past the CGI head, not sent yet
  bool failed_ = false;
  bool reaped_ = false;  // its exit was collected (after the end of its output)
};

}  // namespace seed::api::silo_web
