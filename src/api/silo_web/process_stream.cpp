#include "api/silo_web/process_stream.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.hpp"

namespace seed::api::silo_web {

bool StreamSlots::acquire() {
  unsigned now = live_.load();
  while (now < max_) {
    if (live_.compare_exchange_weak(now, now + 1)) return true;
  }
  return false;
}

Result<std::shared_ptr<ProcessStream>> ProcessStream::start(SpawnOptions options, const std::string& input,
                                                            std::shared_ptr<StreamSlots> slots,
                                                            std::chrono::milliseconds stall) {
  if (!slots->acquire()) {
    return make_error(Errc::unavailable, "too many downloads are running on this node; retry in a few seconds")
        .with("stage", "silo-web");
  }
  std::shared_ptr<ProcessStream> s(new ProcessStream());
  s->slots_ = std::move(slots);  // released by the destructor from here on
  s->stall_ = stall;
  // The request body goes in through a memfd: a pipe could fill before the program reads it.
  UniqueFd body(::memfd_create("silo-web-input", MFD_CLOEXEC));
  if (!body) return errno_error("memfd_create", errno);
  for (size_t done = 0; done < input.size();) {
    const ssize_t n = ::write(body.get(), input.data() + done, input.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("write the request body for " + options.argv.at(0), errno);
    done += static_cast<size_t>(n);
  }
  ::lseek(body.get(), 0, SEEK_SET);
  options.fds.push_back({body.get(), 0});
  options.stdout_mode = Output::capture;
  options.stderr_mode = Output::capture;
  s->child_ = SEED_TRY(spawn(options));
  s->child_.stdin_pipe().reset();
  ::fcntl(s->child_.stderr_pipe().get(), F_SETFL, O_NONBLOCK);
  return s;
}

ProcessStream::~ProcessStream() {
  if (child_.pid() > 0) {
    // Done or abandoned: a program still writing (a client that went away) is not needed, nor
    // what it started (git-http-backend runs git-upload-pack). It leads its own process group
    // (spawn's new_session) and is not reaped yet, so the group id cannot name anyone else.
    child_.stdout_pipe().reset();
    if (!reaped_) ::kill(-child_.pid(), SIGKILL);
    const ExitStatus st = child_.terminate(std::chrono::milliseconds(500));
    if (failed_ || (!st.success() && st.signal == 0)) {
      log::warn("api.silo_web.process", {{"program", child_.record().argv.at(0)}, {"status", st.describe()},
                                        {"stderr", stderr_text()}});
    }
  }
  if (slots_) slots_->release();
}

std::string ProcessStream::stderr_text() {
  std::string out;
  char buf[4096];
  while (out.size() < 4096) {
    const ssize_t n = ::read(child_.stderr_pipe().get(), buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

bool ProcessStream::wait_readable() {
  pollfd p{child_.stdout_pipe().get(), POLLIN, 0};
  while (true) {
    const int rc = ::poll(&p, 1, static_cast<int>(stall_.count()));
    if (rc < 0 && errno == EINTR) continue;
    return rc > 0;
  }
}

ssize_t ProcessStream::read(char* buf, size_t max) {
  if (!pending_.empty()) {
    const size_t n = std::min(max, pending_.size());
    std::memcpy(buf, pending_.data(), n);
    pending_.erase(0, n);
    return static_cast<ssize_t>(n);
  }
  if (failed_ || !child_.stdout_pipe()) return failed_ ? -1 : 0;
  if (!wait_readable()) {
    failed_ = true;
    log::warn("api.silo_web.stalled", {{"program", child_.record().argv.at(0)}, {"after_ms", stall_.count()}});
    return -1;
  }
  ssize_t n;
  do n = ::read(child_.stdout_pipe().get(), buf, max);
  while (n < 0 && errno == EINTR);
  if (n > 0) return n;
  if (n < 0) {
    failed_ = true;
    return -1;
  }
  // End of output: whole only if the program succeeded (git archive failing mid-way must not
  // look like a complete, shorter tarball).
  child_.stdout_pipe().reset();
  auto st = child_.wait(stall_);
  reaped_ = st.ok();
  if (!st || !st->success()) {
    failed_ = true;
    return -1;
  }
  return 0;
}

Result<std::string> ProcessStream::read_cgi_head() {
  std::string got;
  char buf[4096];
  while (got.size() < 16 * 1024) {
    size_t end = got.find("\r\n\r\n");
    size_t skip = 4;
    if (size_t lf = got.find("\n\n"); lf != std::string::npos && (end == std::string::npos || lf < end)) {
      end = lf;
      skip = 2;
    }
    if (end != std::string::npos) {
      pending_ = got.substr(end + skip);
      return got.substr(0, end);
    }
    if (!wait_readable()) break;
    const ssize_t n = ::read(child_.stdout_pipe().get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  failed_ = true;
  return make_error(Errc::process_failed, child_.record().argv.at(0) + " answered no CGI header")
      .with("stderr", stderr_text());
}

}  // namespace seed::api::silo_web
