// One direction of a relayed connection moved by user space: src → pipe → dst with splice(2),
// non-blocking, half-close passed on (internal to bench/relay). The epoll relay uses it for
// every connection, the sockmap relay for the directions the kernel cannot take.
#pragma once

#include <cstddef>

#include "common/fd.hpp"

namespace seed::bench {

inline constexpr size_t kPipeBytes = 64 * 1024;

struct Flow {
  int src = -1, dst = -1;
  UniqueFd pipe[2];
  size_t piped = 0;
  bool eof = false, shut = false;
};

// A non-blocking pipe for the flow; false (errno set) when none can be made.
bool open_pipe(Flow& f);
// Moves what can move now, shutdown(dst, SHUT_WR) once src's EOF has gone through; false on a
// hard error (the connection is then closed).
bool pump(Flow& f);

}  // namespace seed::bench
