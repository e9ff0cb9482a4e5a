// seed-console-logger: one per VM. Reads the VM's serial FIFO and writes the size-capped,
// rotated console log; with a log-channel FIFO it also writes the structured log store (the
// serial lines and the guest's journal entries, see log_store.hpp). It is a process of its
// own (not a thread of seedd) so output is never lost while seedd restarts; seedd re-adopts it
// like the VMM.
//
//   seed-console-logger FIFO LOGFILE MAX_BYTES KEEP [LOG_FIFO STORE boot|resume]
//
// `boot` writes a boot marker first (the VM is starting); `resume` does not (a new logger for
// a VM that kept running). Both files get MAX_BYTES and KEEP.
// The FIFOs are opened read-write so a writer closing (a VMM restarting) is not end-of-file.
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

#include "common/time_text.hpp"
#include "vmm/console/log_capture.hpp"

namespace {
volatile sig_atomic_t stop_requested = 0;
void on_term(int) { stop_requested = 1; }

void report(const seed::Status& st) {
  if (!st) std::fprintf(stderr, "seed-console-logger: %s\n", st.error().describe().c_str());
}

int open_fifo(const char* path) {
  int fd = ::open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) std::fprintf(stderr, "seed-console-logger: cannot open %s: %s\n", path, strerror(errno));
  return fd;
}
}  // namespace

int main(int argc, char** argv) {
  const bool with_store = argc == 8;
  if ((argc != 5 && !with_store) ||
      (with_store && std::strcmp(argv[7], "boot") != 0 && std::strcmp(argv[7], "resume") != 0)) {
    std::fprintf(stderr, "usage: %s FIFO LOGFILE MAX_BYTES KEEP [LOG_FIFO STORE boot|resume]\n", argv[0]);
    return 2;
  }
  seed::vmm::ConsoleLogLimits limits{std::strtoull(argv[3], nullptr, 10),
                                     static_cast<unsigned>(std::strtoul(argv[4], nullptr, 10))};
  int fds[2] = {open_fifo(argv[1]), with_store ? open_fifo(argv[5]) : -1};
  if (fds[0] < 0 || (with_store && fds[1] < 0)) return 1;
  auto console = seed::vmm::ConsoleLogWriter::open(argv[2], limits);
  if (!console) {
    std::fprintf(stderr, "seed-console-logger: %s\n", console.error().describe().c_str());
    return 1;
  }
  std::optional<seed::vmm::LogStoreWriter> store;
  if (with_store) {
    auto s = seed::vmm::LogStoreWriter::open(argv[6], limits);
    if (!s) {
      std::fprintf(stderr, "seed-console-logger: %s\n", s.error().describe().c_str());
      return 1;
    }
    store.emplace(std::move(*s));
  }
  seed::vmm::LogCapture capture(std::move(*console), std::move(store));
  if (with_store && std::strcmp(argv[7], "boot") == 0) report(capture.boot(seed::now_unix_us()));

  struct sigaction sa {};
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  char buf[16384];
  const nfds_t nfds = with_store ? 2 : 1;
  for (;;) {
    pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    int r = ::poll(p, nfds, stop_requested ? 0 : 1000);
    if (r < 0) {
      // SIGTERM interrupts the wait: go round again to drain what is buffered (poll now
      // returns at once) instead of exiting with output still in the FIFO.
      if (errno == EINTR) continue;
      return 1;
    }
    bool read_any = false;
    for (nfds_t i = 0; i < nfds; ++i) {
      if (!(p[i].revents & POLLIN)) continue;
      ssize_t n = ::read(fds[i], buf, sizeof buf);
      if (n <= 0) continue;
      read_any = true;
      std::string_view data(buf, static_cast<size_t>(n));
      report(i == 0 ? capture.console_data(data, seed::now_unix_us())
                    : capture.journal_data(data, seed::now_unix_us()));
    }
    if (read_any) continue;
    if (stop_requested) {  // nothing left to drain
      report(capture.finish(seed::now_unix_us()));
      return 0;
    }
    if (r == 0) report(capture.idle(seed::now_unix_us()));
  }
}
