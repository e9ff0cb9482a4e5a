// Runs a program (the real OpenSSH client, for `ssh -t <node> console`) on a pseudo-terminal of
// a given size, the way a person's terminal emulator does, so the test can type into it, read
// what it shows, resize it and watch it exit.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/fd.hpp"

namespace seed::e2e {

class PtyClient {
 public:
  // Starts `argv` (PATH searched) with `env` added, as the session leader of a new pty of
  // rows × cols.
  PtyClient(const std::vector<std::string>& argv, const std::vector<std::string>& env, unsigned short rows,
            unsigned short cols);
  ~PtyClient();  // kills the program if it still runs
  PtyClient(const PtyClient&) = delete;
  PtyClient& operator=(const PtyClient&) = delete;

  void type(const std::string& keys);
  // Waits (up to `patience`) until everything shown since the last expect() contains `text`;
  // true when it did. What was read stays available through seen().
  bool expect(const std::string& text, std::chrono::seconds patience = std::chrono::seconds(60));
  // Changes the terminal's size; the kernel tells the program (SIGWINCH), as a terminal
  // emulator's resize does.
  void resize(unsigned short rows, unsigned short cols);
  // Waits for the program to exit; its exit code (128+N for a signal), nullopt on no exit.
  std::optional<int> wait_exit(std::chrono::seconds patience = std::chrono::seconds(30));
  const std::string& seen() const { return seen_; }

 private:
  void read_some(int timeout_ms);

  UniqueFd master_;
  pid_t pid_ = -1;
  std::string seen_;   // everything shown
  size_t mark_ = 0;    // where the next expect() starts looking
};

}  // namespace seed::e2e
