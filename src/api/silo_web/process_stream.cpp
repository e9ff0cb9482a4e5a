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

bool StreamSlots::acquire(const std::string& source) {
  std::lock_guard lock(mu_);
  if (live_ >= max_) return false;
  unsigned& mine = per_source_[source];
  if (max_per_source_ > 0 && mine >= max_per_source_) return false;
  ++mine;
  ++live_;
  return true;
}

void StreamSlots::release(const std::string& source) {
  std::lock_guard lock(mu_);
  --live_;
  if (auto it = per_source_.find(source); it != per_source_.end() && --it->second == 0) per_source_.erase(it);
}

unsigned StreamSlots::live() const {
  std::lock_guard lock(mu_);
  return live_;
}

Result<std::shared_ptr<ProcessStream>> ProcessStream::start(SpawnOptions options, const std::string& input,
                                                            std::shared_ptr<StreamSlots> slots,
                                                            std::chrono::milliseconds stall,
                                                            const std::string& source, MinClientRate min_rate) {
  if (!slots->acquire(source)) {
    return make_error(Errc::unavailable,
                      "too many downloads are running on this node or from your address; retry in a few seconds")
        .with("stage", "silo-web");
  }
  std::shared_ptr<ProcessStream> s(new ProcessStream());
  s->slots_ = std::move(slots);  // released by the destructor from here on
  s->source_ = source;
  s->stall_ = stall;
  s->min_rate_ = min_rate;
  s->window_start_ = std::chrono::steady_clock::now();
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
  if (slots_) slots_->release(source_);
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
  const auto began = std::chrono::steady_clock::now();
  while (true) {
    const int rc = ::poll(&p, 1, static_cast<int>(stall_.count()));
    if (rc < 0 && errno == EINTR) continue;
    window_start_ += std::chrono::steady_clock::now() - began;  // the program's time, not the client's
    return rc > 0;
  }
}

bool ProcessStream::client_too_slow() {
  if (min_rate_.bytes_per_second == 0) return false;
  // read() is called when the client has made room for more, so the time between calls is
  // the client's pace.
  const auto now = std::chrono::steady_clock::now();
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - window_start_);
  if (elapsed < min_rate_.window) return false;
  if (window_bytes_ * 1000 < min_rate_.bytes_per_second * static_cast<uint64_t>(elapsed.count())) {
    log::warn("api.silo_web.slow_client", {{"program", child_.record().argv.at(0)}, {"source", source_},
                                           {"bytes", static_cast<int64_t>(window_bytes_)}, {"in_ms", elapsed.count()}});
    return true;
  }
  window_start_ = now;
  window_bytes_ = 0;
  return false;
}

ssize_t ProcessStream::read(char* buf, size_t max) {
  if (!failed_ && client_too_slow()) failed_ = true;  // the destructor ends the program
  if (failed_) return -1;
  if (!pending_.empty()) {
    const size_t n = std::min(max, pending_.size());
    std::memcpy(buf, pending_.data(), n);
    pending_.erase(0, n);
    window_bytes_ += n;
    return static_cast<ssize_t>(n);
  }
  if (!child_.stdout_pipe()) return 0;
  if (!wait_readable()) {
    failed_ = true;
    log::warn("api.silo_web.stalled", {{"program", child_.record().argv.at(0)}, {"after_ms", stall_.count()}});
    return -1;
  }
  ssize_t n;
  do n = ::read(child_.stdout_pipe().get(), buf, max);
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    window_bytes_ += static_cast<uint64_t>(n);
    return n;
  }
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
