// seed-console-logger: one per VM. Reads the VM's serial FIFO and writes the size-capped,
// rotated console log. It is a process of its own (not a thread of seedd) so console output
// is never lost while seedd restarts; seedd re-adopts it like the VMM.
//
//   seed-console-logger FIFO LOGFILE MAX_BYTES KEEP
//
// The FIFO is opened read-write so a writer closing (a VMM restarting) is not end-of-file.
// SIGTERM: drain what is buffered, then exit.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "vmm/console/console_log.hpp"

namespace {
volatile sig_atomic_t stop_requested = 0;
void on_term(int) { stop_requested = 1; }
}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s FIFO LOGFILE MAX_BYTES KEEP\n", argv[0]);
    return 2;
  }
  seed::vmm::ConsoleLogLimits limits{std::strtoull(argv[3], nullptr, 10),
                                     static_cast<unsigned>(std::strtoul(argv[4], nullptr, 10))};
  int fifo = ::open(argv[1], O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fifo < 0) {
    std::fprintf(stderr, "seed-console-logger: cannot open %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  auto writer = seed::vmm::ConsoleLogWriter::open(argv[2], limits);
  if (!writer) {
    std::fprintf(stderr, "seed-console-logger: %s\n", writer.error().describe().c_str());
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  char buf[16384];
  for (;;) {
    pollfd p{fifo, POLLIN, 0};
    int r = ::poll(&p, 1, stop_requested ? 0 : 1000);
    if (r < 0) {
      // SIGTERM interrupts the wait: go round again to drain what is buffered (poll now
      // returns at once) instead of exiting with output still in the FIFO.
      if (errno == EINTR) continue;
      return 1;
    }
    ssize_t n = r > 0 ? ::read(fifo, buf, sizeof buf) : 0;
    if (n > 0) {
      if (auto st = writer->write(std::string_view(buf, static_cast<size_t>(n))); !st) {
        std::fprintf(stderr, "seed-console-logger: %s\n", st.error().describe().c_str());
      }
      continue;
    }
    if (stop_requested) return 0;  // nothing left to drain
  }
}
