#include "bench/relay/splice_flow.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace seed::bench {

namespace {

bool transient(int err) { return err == EAGAIN || err == EINTR; }

}  // namespace

bool open_pipe(Flow& f) {
  int p[2];
  if (::pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) return false;
  f.pipe[0].reset(p[0]);
  f.pipe[1].reset(p[1]);
  return true;
}

bool pump(Flow& f) {
  for (bool progress = true; progress;) {
    progress = false;
    if (!f.eof && f.piped < kPipeBytes) {
      const ssize_t n = ::splice(f.src, nullptr, f.pipe[1].get(), nullptr, kPipeBytes - f.piped,
                                 SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        f.piped += static_cast<size_t>(n);
        progress = true;
      } else if (n == 0) {
        f.eof = true;
      } else if (!transient(errno)) {
        return false;
      }
    }
    if (f.piped > 0) {
      const ssize_t n = ::splice(f.pipe[0].get(), nullptr, f.dst, nullptr, f.piped,
                                 SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        f.piped -= static_cast<size_t>(n);
        progress = true;
      } else if (n < 0 && !transient(errno)) {
        return false;
      }
    }
  }
  if (f.eof && f.piped == 0 && !f.shut) {
    f.shut = true;
    ::shutdown(f.dst, SHUT_WR);
  }
  return true;
}

}  // namespace seed::bench
