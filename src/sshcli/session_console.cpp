// `ssh -t <node> console <[repo/]instance>`: the session relays between its channel and the
// instance's console (reconcile::ConsoleSession). Keystrokes go straight on from the channel's
// data callback (Session::input), window changes from the window-change callback; the guest's
// output is written here, from the session's own loop, like every other channel write.
#include <chrono>

#include "common/log.hpp"
#include "sshcli/session.hpp"

namespace seed::sshcli {

int Session::run_console(const Command& command) {
  ChannelOutput direct(this);
  reconcile::ConsoleRequest request{who_.fingerprint, term_, rows_, cols_};
  std::string instance;
  auto console = ctx_.commands.open_console(command, who_, request, instance);
  if (!console) return report_error(console.error(), command.json, direct);
  const uint64_t audit = audit_begin("console", instance, "term=" + term_);

  console_ = console->get();
  // Keystrokes that arrived while the console opened.
  if (!early_input_.empty()) {
    if (auto st = console_->input(early_input_); !st) console_error_ = std::move(st).error();
    early_input_.clear();
  }
  // A size that changed while the console opened.
  if (rows_ != request.rows || cols_ != request.cols) {
    if (auto st = console_->resize(rows_, cols_); !st) console_error_ = std::move(st).error();
  }
  int code = -1;  // the client left: nobody to tell
  Watched watched[1] = {{console_->fd()}};
  while (alive()) {
    auto out = console_->read();
    if (!out) {
      console_error_ = std::move(out).error();
    } else {
      if (!out->data.empty() && !write(false, out->data)) break;
      if (out->ended) {
        if (out->lost) {
          write(false, "\r\nconsole of " + command.target + " ended: the instance stopped or restarted\r\n");
          code = 1;
        } else {
          code = out->exit_status;
        }
        break;
      }
    }
    if (console_error_) {
      log::info("sshcli.console_failed", {{"key", who_.fingerprint}, {"instance", instance},
                                           {"error", console_error_->describe()}});
      write(false, "\r\nconsole of " + command.target + " ended: the channel to the instance failed\r\n");
      code = 1;
      break;
    }
    if (poll_once(watched, 1000) == SSH_ERROR) break;
  }
  console_ = nullptr;
  console->reset();  // hangs up: the guest ends the shell, the console is free again
  audit_end(audit, code);
  return code;
}

}  // namespace seed::sshcli
