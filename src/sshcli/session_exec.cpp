// `ssh <node> exec <[repo/]instance> -- CMD ARGS…`: the session relays between its channel and
// a command in the instance (reconcile::ExecSession). The client's bytes go on from the
// channel's data callback (Session::input) and its EOF from the EOF callback, both to the
// instance's socket; the command's stdout and stderr are written here, from the session's own
// loop, like every other channel write (a write from a callback reorders output: sshcli.md).
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "sshcli/session.hpp"

namespace seed::sshcli {
namespace {

// The command as the audit shows it: its argv as a JSON array (invalid UTF-8 replaced).
std::string argv_text(const std::vector<std::string>& argv) {
  return nlohmann::json(argv).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

int Session::run_exec(const Command& command) {
  ChannelOutput direct(this);
  std::string instance;
  auto exec = ctx_.commands.open_exec(command, who_, instance);
  if (!exec) return report_error(exec.error(), command.json, direct);
  const uint64_t audit = audit_begin("exec", instance, argv_text(command.argv));

  exec_ = exec->get();
  // Input that arrived while the command started, and the client's EOF if it came already
  // (`ssh … exec web -- cat </dev/null`).
  if (early_input_lost_) {
    exec_ = nullptr;
    exec->reset();
    const int code = report_error(make_error(Errc::invalid_argument, "more than 1 MiB of input arrived before the "
                                                                     "command in " + command.target + " started")
                                      .with("stage", "exec")
                                      .with("hint", "the command was killed; send its input once it runs, or "
                                                    "in smaller pieces"),
                                  false, direct);
    audit_end(audit, code);
    return code;
  }
  if (!early_input_.empty()) {
    if (auto st = exec_->input(early_input_); !st) exec_error_ = std::move(st).error();
  }
  early_input_.clear();
  if (remote_eof_ && !exec_error_) {
    if (auto st = exec_->close_input(); !st) exec_error_ = std::move(st).error();
  }

  int code = -1;  // the client left: the command is killed, nobody to tell
  Watched watched[1] = {{exec_->fd()}};
  while (alive()) {
    auto out = exec_->read();
    if (!out) {
      exec_error_ = std::move(out).error();
    } else {
      if (!out->out.empty() && !write(false, out->out)) break;
      if (!out->err.empty() && !write(true, out->err)) break;
      if (out->ended) {
        if (out->lost) {
          code = report_error(make_error(Errc::unavailable, "exec in " + command.target +
                                                                " ended: the instance stopped or restarted")
                                  .with("stage", "runtime")
                                  .with("hint", "`status` shows the instance; run the command again once it runs"),
                              false, direct);
        } else {
          code = out->exit_code;
        }
        break;
      }
    }
    if (exec_error_) {
      log::info("sshcli.exec_failed", {{"key", who_.fingerprint}, {"instance", instance},
                                        {"error", exec_error_->describe()}});
      code = report_error(make_error(Errc::unavailable, "exec in " + command.target +
                                                            " ended: the channel to the instance failed")
                              .with("stage", "runtime")
                              .with("hint", "the command was killed; run it again"),
                          false, direct);
      break;
    }
    if (poll_once(watched, 1000) == SSH_ERROR) break;
  }
  exec_ = nullptr;
  exec->reset();  // kills a command still running (the client left) and frees the port
  audit_end(audit, code);
  return code;
}

}  // namespace seed::sshcli
