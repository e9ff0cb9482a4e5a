// Bounds what one `git push` may send, checked on the bytes as they arrive from the client,
// before git-receive-pack acts on them: the number of ref updates and the refs they name (the
// pkt-line command list at the start of the stream), and the total size. git's own
// receive.maxInputSize bounds the pack as well; this also covers what comes before it. Deleting
// the default branch is refused here too, with the reason (git's own refusal tells the tenant
// to change receive.denyDeleteCurrent, a server setting they cannot change).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace seed::sshcli {

struct ReceiveLimits {
  size_t max_commands = 1000;              // ref updates in one push
  uint64_t max_bytes = 256ull << 20;       // everything the client sends
  size_t max_refs = 10000;                 // refs the repository may hold after the push
  size_t existing_refs = 0;                // refs it holds before
  std::string default_branch;              // what HEAD names: it may be updated, never deleted
};

class ReceiveGuard {
 public:
  explicit ReceiveGuard(ReceiveLimits limits) : limits_(limits) {}

  // Feeds the next bytes from the client; an error means: stop, refuse the push.
  Status feed(std::string_view data);

  size_t commands() const { return commands_; }
  bool commands_done() const { return done_; }

 private:
  Status line(std::string_view payload);

  ReceiveLimits limits_;
  std::string pending_;  // a partial pkt-line
  uint64_t total_ = 0;
  size_t commands_ = 0;
  size_t created_ = 0;
  size_t deleted_ = 0;
  bool done_ = false;
};

}  // namespace seed::sshcli
