#include "sshcli/session.hpp"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/exit_code.hpp"
#include "common/log.hpp"
#include "sshcli/output_queue.hpp"

namespace seed::sshcli {
namespace {

using Clock = std::chrono::steady_clock;

// A terminal in raw mode needs CR LF; without a pty the bytes go through untouched.
std::string crlf(std::string_view data) {
  std::string out;
  out.reserve(data.size() + data.size() / 16);
  for (char c : data) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

KeyIdentity identity_of(ssh_key key) {
  char* b64 = nullptr;
  if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) return {};
  KeyIdentity id = identity_from_openssh(std::string(ssh_key_type_to_char(ssh_key_type(key))) + " " + b64);
  ssh_string_free_char(b64);
  return id;
}

}  // namespace

Session::Session(SessionContext& context, SessionSlot& slot, ssh_session session)
    : ctx_(context), slot_(slot), session_(session) {}

Session::~Session() {
  if (event_ != nullptr) {
    ssh_event_remove_session(event_, session_);
    ssh_event_free(event_);
  }
  if (channel_ != nullptr) ssh_channel_free(channel_);
  slot_.forget_fd();  // libssh closes the socket next
  ssh_disconnect(session_);
  ssh_free(session_);
}

bool Session::alive() const {
  return !remote_closed_ && !slot_.stopping && (ssh_get_status(session_) & (SSH_CLOSED | SSH_CLOSED_ERROR)) == 0;
}

int Session::on_auth_pubkey(ssh_session, const char*, ssh_key key, char state, void* p) {
  auto* self = static_cast<Session*>(p);
  // Any key may connect: a probe (no signature yet) is told "this key would do"; a verified
  // signature makes the key the session's identity. Weak keys (DSA, RSA under 2048 bits) are
  // refused already at the probe, so the client hears "Permission denied" instead of a
  // connection libssh would drop when the signature arrives.
  KeyIdentity id = identity_of(key);
  auto type = ssh_key_type(key);
  unsigned rsa_bits = rsa_modulus_bits(id);
  if (id.fingerprint.empty() || type == SSH_KEYTYPE_DSS || (id.type == "ssh-rsa" && rsa_bits < 2048)) {
    log::info("sshcli.weak_key_refused", {{"type", id.type}, {"rsa_bits", rsa_bits}});
    return SSH_AUTH_DENIED;
  }
  if (state == SSH_PUBLICKEY_STATE_NONE) return SSH_AUTH_SUCCESS;
  if (state != SSH_PUBLICKEY_STATE_VALID) return SSH_AUTH_DENIED;
  self->who_ = std::move(id);
  self->authenticated_ = true;
  return SSH_AUTH_SUCCESS;
}

ssh_channel Session::on_channel_open(ssh_session session, void* p) {
  auto* self = static_cast<Session*>(p);
  if (!self->authenticated_ || self->channel_ != nullptr) return nullptr;  // one channel per connection
  self->channel_ = ssh_channel_new(session);
  if (self->channel_ == nullptr) return nullptr;
  auto& cb = self->channel_cb_;
  cb.userdata = self;
  cb.channel_pty_request_function = on_pty;
  cb.channel_pty_window_change_function = on_window_change;
  cb.channel_shell_request_function = on_shell;
  cb.channel_exec_request_function = on_exec;
  cb.channel_env_request_function = on_env;
  cb.channel_subsystem_request_function = on_subsystem;
  cb.channel_data_function = on_data;
  cb.channel_eof_function = on_eof;
  cb.channel_close_function = on_close;
  ssh_callbacks_init(&cb);
  ssh_set_channel_callbacks(self->channel_, &cb);
  return self->channel_;
}

// Terminal sizes outside this are clamped: the console's frames carry 16-bit sizes.
static uint16_t term_dimension(int v, uint16_t fallback) {
  if (v <= 0) return fallback;
  return static_cast<uint16_t>(std::min(v, 10000));
}

int Session::on_pty(ssh_session, ssh_channel, const char* term, int cols, int rows, int, int, void* p) {
  auto* self = static_cast<Session*>(p);
  self->pty_ = true;
  if (term != nullptr) self->term_ = term;
  self->cols_ = term_dimension(cols, 80);
  self->rows_ = term_dimension(rows, 24);
  return 0;
}

int Session::on_window_change(ssh_session, ssh_channel, int cols, int rows, int, int, void* p) {
  auto* self = static_cast<Session*>(p);
  self->cols_ = term_dimension(cols, self->cols_);
  self->rows_ = term_dimension(rows, self->rows_);
  if (self->console_ != nullptr && !self->console_error_) {
    if (auto st = self->console_->resize(self->rows_, self->cols_); !st) self->console_error_ = std::move(st).error();
  }
  return 0;
}

int Session::on_shell(ssh_session, ssh_channel, void* p) {
  auto* self = static_cast<Session*>(p);
  if (self->request_) return -1;
  self->request_ = self->shell_ = true;
  return 0;
}

int Session::on_exec(ssh_session, ssh_channel, const char* command, void* p) {
  auto* self = static_cast<Session*>(p);
  if (self->request_) return -1;
  self->request_ = true;
  self->command_ = command;
  return 0;
}

int Session::on_env(ssh_session, ssh_channel, const char* name, const char* value, void* p) {
  // Only git's protocol negotiation is passed on (to upload-pack); nothing else reaches a child.
  std::string_view v(value);
  if (std::string_view(name) != "GIT_PROTOCOL" || v.size() > 64 ||
      v.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789=:.") != std::string_view::npos) {
    return -1;
  }
  static_cast<Session*>(p)->git_protocol_ = v;
  return 0;
}

int Session::on_subsystem(ssh_session, ssh_channel, const char*, void*) { return -1; }  // no sftp

int Session::on_data(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr, void* p) {
  if (!is_stderr) static_cast<Session*>(p)->input(std::string_view(static_cast<const char*>(data), len));
  return static_cast<int>(len);
}

void Session::on_eof(ssh_session, ssh_channel, void* p) {
  auto* self = static_cast<Session*>(p);
  self->remote_eof_ = true;
  if (self->child_ != nullptr) self->child_->stdin_pipe().reset();  // git sees the end of input
  // The command's stdin ends too. (A write to the instance's socket, never to the channel.)
  if (self->exec_ != nullptr && !self->exec_error_) {
    if (auto st = self->exec_->close_input(); !st) self->exec_error_ = std::move(st).error();
  }
}

uint64_t Session::audit_begin(const char* kind, const std::string& instance, const std::string& detail) {
  if (ctx_.config.audit != nullptr) return ctx_.config.audit->begin(kind, who_.fingerprint, instance, detail);
  log::info("sshcli.session_begin", {{"kind", kind}, {"key", who_.fingerprint}, {"instance", instance}, {"detail", detail}});
  return 0;
}

void Session::audit_end(uint64_t id, int exit_code) {
  if (ctx_.config.audit != nullptr) return ctx_.config.audit->end(id, exit_code);
  log::info("sshcli.session_end", {{"key", who_.fingerprint}, {"exit", exit_code}});
}

void Session::on_close(ssh_session, ssh_channel, void* p) { static_cast<Session*>(p)->remote_closed_ = true; }

bool Session::await_request() {
  server_cb_.userdata = this;
  server_cb_.auth_pubkey_function = on_auth_pubkey;
  server_cb_.channel_open_request_session_function = on_channel_open;
  ssh_callbacks_init(&server_cb_);
  ssh_set_server_callbacks(session_, &server_cb_);
  ssh_set_auth_methods(session_, SSH_AUTH_METHOD_PUBLICKEY);  // no password, no keyboard-interactive

  // The acceptor's deadline covers all of this: a client that stalls gets its socket shut down,
  // which ends any blocking call here.
  if (ssh_handle_key_exchange(session_) != SSH_OK) {
    log::debug("sshcli.handshake_failed", {{"error", ssh_get_error(session_)}});
    return false;
  }
  event_ = ssh_event_new();
  if (event_ == nullptr || ssh_event_add_session(event_, session_) != SSH_OK) return false;
  while (!request_ && alive()) {
    if (ssh_event_dopoll(event_, 1000) == SSH_ERROR) return false;
  }
  return request_ && alive();
}

void Session::run() {
  slot_.arm(ctx_.config.auth_timeout);
  bool ready = await_request();
  slot_.disarm();
  if (!ready) return;
  finish(dispatch());
}

int Session::dispatch() {
  if (shell_ && command_.empty()) {
    write(false, help_text());
    return 0;
  }
  // Errors before the command is parsed honour a --json anywhere in it, as the parser's do.
  bool json = command_.find("--json") != std::string::npos;
  ChannelOutput direct(this);
  std::chrono::milliseconds retry{0};
  if (!ctx_.limiter.allow(who_.fingerprint, Clock::now(), retry)) {
    return report_error(rate_limited(who_.fingerprint, retry), json, direct);
  }
  if (command_.size() > ctx_.config.max_command_bytes) {
    return report_error(command_too_long(command_.size(), ctx_.config.max_command_bytes), json, direct);
  }
  auto command = parse_command(command_);
  if (!command) return report_error(command.error(), json, direct);
  if (command->kind == CommandKind::receive_pack || command->kind == CommandKind::upload_pack) {
    return run_git(*command);
  }
  if (command->kind == CommandKind::console && pty_) return run_console(*command);
  if (command->kind == CommandKind::exec) return run_exec(*command);
  return run_tenant(*command);
}

int Session::run_tenant(const Command& command) {
  auto started = Clock::now();
  OutputQueue queue;
  std::atomic<bool> cancelled{false};
  std::atomic<bool> finished{false};
  int code = 1;
  std::thread worker([&] {
    code = ctx_.commands.run(command, who_, queue, cancelled);
    finished = true;
    queue.wake();
  });
  Watched wake[1] = {{queue.wake_fd()}};
  bool writable = true;
  while (true) {
    for (auto& [is_err, data] : queue.take()) {
      if (writable && !write(is_err, data)) writable = false;
    }
    if (finished) {
      // `finished` is set after the command's last write, so this take() gets whatever is left.
      for (auto& [is_err, data] : queue.take()) {
        if (writable && !write(is_err, data)) writable = false;
      }
      break;
    }
    if (!writable || !alive()) {
      // The client left: end a `logs -f`, unblock a writer, and wait for the command to return.
      cancelled = true;
      queue.close();
      writable = false;
      if (!finished) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (poll_once(wake, 1000) == SSH_ERROR) writable = false;
    if (wake[0].ready) queue.drain_wake();
  }
  worker.join();
  // Invite codes are secrets: plant is logged with its URI only.
  std::string logged = command.kind == CommandKind::plant ? "plant " + command.uri : command_.substr(0, 200);
  log::info("sshcli.command", {{"key", who_.fingerprint}, {"command", logged}, {"exit", code},
                               {"ms", std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()}});
  return writable ? code : -1;
}

int Session::poll_once(std::span<Watched> watched, int timeout_ms) {
  auto mark = [](socket_t, int, void* w) {
    static_cast<Watched*>(w)->ready = true;
    return 0;
  };
  for (Watched& w : watched) {
    w.ready = false;
    if (w.fd >= 0) ssh_event_add_fd(event_, w.fd, POLLIN, mark, &w);
  }
  int rc = ssh_event_dopoll(event_, timeout_ms);
  for (Watched& w : watched) {
    if (w.fd >= 0) ssh_event_remove_fd(event_, w.fd);
  }
  return rc;
}

bool Session::write(bool is_stderr, std::string_view data) {
  std::string converted;
  if (pty_ && console_ == nullptr && exec_ == nullptr) {  // a console's and an exec's bytes go untouched
    converted = crlf(data);
    data = converted;
  }
  slot_.arm(ctx_.config.idle_timeout);
  while (!data.empty()) {
    int n = is_stderr ? ssh_channel_write_stderr(channel_, data.data(), static_cast<uint32_t>(data.size()))
                      : ssh_channel_write(channel_, data.data(), static_cast<uint32_t>(data.size()));
    if (n == SSH_ERROR || n <= 0) {
      slot_.disarm();
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  // A git transfer stays under the idle deadline as a whole; a tenant command only while writing.
  if (idle_watch_) {
    slot_.arm(ctx_.config.idle_timeout);
  } else {
    slot_.disarm();
  }
  return true;
}

void Session::finish(int code) {
  if (code < 0 || !alive()) return;  // the client is gone: nobody to tell
  ssh_channel_request_send_exit_status(channel_, code);
  ssh_channel_send_eof(channel_);
  ssh_channel_close(channel_);
  // Give the client a moment to close its side, so it exits cleanly instead of seeing a reset.
  auto until = Clock::now() + std::chrono::seconds(2);
  while (!remote_closed_ && Clock::now() < until && !slot_.stopping) {
    if (ssh_event_dopoll(event_, 100) == SSH_ERROR) break;
  }
}

}  // namespace seed::sshcli
