// Silo's git transfers inside a session: authorization, then git-receive-pack or
// git-upload-pack as a child, with the channel piped to its stdin and its stdout/stderr piped
// back. Pushes pass through a ReceiveGuard first.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "common/exit_code.hpp"
#include "common/log.hpp"
#include "sshcli/session.hpp"

namespace seed::sshcli {
namespace {

using Clock = std::chrono::steady_clock;

// Writes all of `data` to a pipe whose reader is our git child. SIGPIPE is blocked on session
// threads (server.cpp), so a child that died shows as EPIPE here.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

void Session::input(std::string_view data) {
  if (console_ != nullptr) {
    if (!console_error_) {
      if (auto st = console_->input(data); !st) console_error_ = std::move(st).error();
    }
    return;
  }
  if (exec_ != nullptr) {
    if (!exec_error_) {
      if (auto st = exec_->input(data); !st) exec_error_ = std::move(st).error();
    }
    return;
  }
  if (child_ == nullptr) {
    // Bytes before the transfer or exec starts are kept (bounded); tenant commands read no input.
    if (early_input_.size() + data.size() <= (1u << 20)) {
      early_input_.append(data);
    } else {
      early_input_lost_ = true;
    }
    return;
  }
  slot_.arm(ctx_.config.idle_timeout);
  if (guard_ != nullptr && *guard_ && !guard_error_) {
    if (auto st = (*guard_)->feed(data); !st) {
      guard_error_ = std::move(st).error();
      child_->stdin_pipe().reset();
      child_->terminate(std::chrono::milliseconds(500));
      return;
    }
  }
  if (child_->stdin_pipe() && !write_all(child_->stdin_pipe().get(), data)) child_->stdin_pipe().reset();
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  timespec zero{};
  while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
  }  // consume a SIGPIPE left pending by a write to a dead child
}

int Session::run_git(const Command& command) {
  auto started = Clock::now();
  bool push = command.kind == CommandKind::receive_pack;
  const std::string& name = command.repo;
  ChannelOutput direct(this);

  std::optional<ReceiveGuard> guard;
  PushAccess access;
  UniqueFd push_lock;  // held until this push is over
  if (push) {
    auto granted = ctx_.silo.prepare_push(name, who_);
    if (!granted) return report_error(granted.error(), false, direct);
    auto locked = ctx_.silo.lock_push(name, ctx_.config.idle_timeout);
    if (!locked) return report_error(locked.error(), false, direct);
    push_lock = std::move(*locked);
    // Checked again under the lock: a push that finished meanwhile may have changed the keys.
    if (!granted->created) granted = ctx_.silo.prepare_push(name, who_);
    if (!granted) return report_error(granted.error(), false, direct);
    access = *granted;
    ctx_.silo.remove_quarantine(name);
    guard.emplace(ReceiveLimits{ctx_.config.max_ref_updates, ctx_.config.silo.max_pack_bytes + (1u << 20),
                                ctx_.config.silo.max_refs, access.refs, access.head});
  } else if (!ctx_.silo.exists(name)) {
    return report_error(make_error(Errc::not_found, "no Silo repository '" + name + "'")
                            .with("stage", "silo")
                            .with("hint", "check the name; a repository exists once someone pushed to it"),
                        false, direct);
  }

  SpawnOptions opts;
  auto idle_s = std::to_string(std::max<int64_t>(1, ctx_.config.idle_timeout.count() / 1000));
  if (push) {
    opts.argv = {ctx_.config.git, "receive-pack", ctx_.silo.path(name)};
  } else {
    opts.argv = {ctx_.config.git, "upload-pack", "--strict", "--timeout=" + idle_s, ctx_.silo.path(name)};
  }
  // The child must not pick up a git environment of seedd's own, nor a user's config.
  opts.env = {"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0"};
  if (!git_protocol_.empty()) opts.env.push_back("GIT_PROTOCOL=" + git_protocol_);
  opts.stdout_mode = Output::capture;
  opts.stderr_mode = Output::capture;
  opts.kill_with_parent = true;
  auto spawned = spawn(opts);
  if (!spawned) return report_error(spawned.error(), false, direct);
  Child child = std::move(*spawned);

  child_ = &child;
  guard_ = &guard;
  if (!early_input_.empty()) {
    std::string early;
    std::swap(early, early_input_);
    input(early);
  }
  if (remote_eof_) child.stdin_pipe().reset();
  int code = pump_git(child);
  child_ = nullptr;
  guard_ = nullptr;

  if (push) ctx_.silo.remove_quarantine(name);  // what a cut-off receive-pack left behind
  if (guard_error_) {
    report_error(*guard_error_, false, direct);
    code = exit_code(guard_error_->code);
  }
  // What the push did is read from the refs: receive-pack exits 0 when it refused everything.
  bool updated = push && ctx_.silo.settle_push(name, access);
  if (push && !updated && code == 0 && guard && guard->commands() > 0) {
    code = report_error(nothing_pushed(name, access.created), false, direct);
  }
  if (updated) {
    if (auto st = ctx_.silo.finish_push(name); !st) log::warn("sshcli.silo_head", {{"repo", name}, {"error", st.error().describe()}});
    auto triggered = ctx_.service.trigger("silo:" + name, "push");
    if (!triggered && triggered.error().code != Errc::not_found) {
      log::warn("sshcli.trigger_failed", {{"repo", name}, {"error", triggered.error().describe()}});
    }
  }
  log::info(push ? "sshcli.push" : "sshcli.fetch",
            {{"repo", name}, {"key", who_.fingerprint}, {"created", access.created ? "yes" : "no"}, {"exit", code},
             {"ms", std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()}});
  return code;
}

int Session::pump_git(Child& child) {
  // Reads and channel writes happen here, never in an event callback (see poll_once).
  struct Pipe {
    UniqueFd* fd;
    bool is_stderr;
  };
  Pipe pipes[2] = {{&child.stdout_pipe(), false}, {&child.stderr_pipe(), true}};
  for (Pipe& p : pipes) ::fcntl(p.fd->get(), F_SETFL, O_NONBLOCK);
  auto open = [&] { return pipes[0].fd->valid() || pipes[1].fd->valid(); };
  idle_watch_ = true;
  slot_.arm(ctx_.config.idle_timeout);
  char buf[32768];
  while (open() && alive()) {
    Watched watched[2] = {{pipes[0].fd->get()}, {pipes[1].fd->get()}};
    if (poll_once(watched, 1000) == SSH_ERROR) break;
    for (size_t i = 0; i < 2; ++i) {
      if (!watched[i].ready || !pipes[i].fd->valid()) continue;
      ssize_t n = ::read(pipes[i].fd->get(), buf, sizeof buf);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0 || !write(pipes[i].is_stderr, std::string_view(buf, static_cast<size_t>(n)))) pipes[i].fd->reset();
    }
  }
  idle_watch_ = false;
  slot_.disarm();
  for (Pipe& p : pipes) p.fd->reset();
  bool client_gone = !alive();
  child.stdin_pipe().reset();
  // A client that left mid-transfer: git-receive-pack's quarantine directory is removed when it
  // gets SIGTERM, so a half-received pack never reaches the repository.
  // The whole process group: receive-pack's helpers (index-pack, unpack-objects) write into the
  // quarantine too and must stop with it.
  if (client_gone) ::kill(-child.pid(), SIGTERM);
  auto status = client_gone ? child.terminate(std::chrono::milliseconds(2000)) : [&] {
    auto waited = child.wait(std::chrono::seconds(30));
    return waited ? *waited : child.terminate(std::chrono::milliseconds(2000));
  }();
  if (client_gone) return -1;
  if (status.success()) return 0;
  return status.code != 0 ? status.code : 1;
}

}  // namespace seed::sshcli
