// One SSH connection, on its own thread: key exchange, public-key authentication, one session
// channel, one request (exec or shell), then the command or git transfer, exit status, close.
// Only this thread touches the libssh session.
#pragma once

#include <atomic>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "common/process.hpp"
#include "sshcli/command_line.hpp"
#include "sshcli/identity.hpp"
#include "sshcli/receive_guard.hpp"
#include "sshcli/server.hpp"
#include "sshcli/session_slot.hpp"
#include "sshcli/tenant_commands.hpp"

namespace seed::sshcli {

class Session {
 public:
  // Takes ownership of `session` (already accepted on the slot's socket).
  Session(SessionContext& context, SessionSlot& slot, ssh_session session);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void run();

 private:
  // libssh callbacks
  static int on_auth_pubkey(ssh_session, const char* user, ssh_key key, char state, void* self);
  static ssh_channel on_channel_open(ssh_session, void* self);
  static int on_pty(ssh_session, ssh_channel, const char* term, int cols, int rows, int, int, void* self);
  static int on_window_change(ssh_session, ssh_channel, int cols, int rows, int, int, void* self);
  static int on_shell(ssh_session, ssh_channel, void* self);
  static int on_exec(ssh_session, ssh_channel, const char* command, void* self);
  static int on_env(ssh_session, ssh_channel, const char* name, const char* value, void* self);
  static int on_subsystem(ssh_session, ssh_channel, const char*, void*);
  static int on_data(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr, void* self);
  static void on_eof(ssh_session, ssh_channel, void* self);
  static void on_close(ssh_session, ssh_channel, void* self);

  // Writes straight to the channel, from the session thread (errors before or around a transfer).
  struct ChannelOutput : CommandOutput {
    explicit ChannelOutput(Session* session) : s(session) {}
    void out(std::string_view d) override { s->write(false, d); }
    void err(std::string_view d) override { s->write(true, d); }
    Session* s;
  };

  // An fd the session waits on besides its socket (a git child's output, the command queue's
  // eventfd); poll_once() sets `ready` when it is readable or closed.
  struct Watched {
    int fd = -1;
    bool ready = false;
  };

  bool await_request();
  int dispatch();
  int run_tenant(const Command& command);
  int run_git(const Command& command);
  // `console` with a terminal: relays between the channel and the instance's console (session_console.cpp).
  int run_console(const Command& command);
  // `exec`: relays stdin, stdout and stderr between the channel and the command (session_exec.cpp).
  int run_exec(const Command& command);
  // The session audit (ServerConfig::audit): a begin record now, its end with the exit status.
  uint64_t audit_begin(const char* kind, const std::string& instance, const std::string& detail);
  void audit_end(uint64_t id, int exit_code);
  int pump_git(Child& child);
  // One ssh_event_dopoll over the session and `watched` (fds < 0 are skipped). The fds are in
  // the event only during this call, and their callback only marks them: a channel write that
  // waits for the client's window polls the same event, and libssh still hands a closed pipe's
  // POLLHUP to its callback from there, so a callback that read and wrote would send the next
  // chunk before the one still waiting (output reordered past the first 2 MiB window).
  int poll_once(std::span<Watched> watched, int timeout_ms);
  void input(std::string_view data);
  // Writes to the channel with the idle deadline armed: a client that stops reading is dropped.
  bool write(bool is_stderr, std::string_view data);
  void finish(int exit_code);
  bool alive() const;

  SessionContext& ctx_;
  SessionSlot& slot_;
  ssh_session session_;
  ssh_event event_ = nullptr;
  ssh_channel channel_ = nullptr;
  ssh_server_callbacks_struct server_cb_{};
  ssh_channel_callbacks_struct channel_cb_{};

  KeyIdentity who_;
  bool authenticated_ = false;
  bool request_ = false;
  bool shell_ = false;
  bool pty_ = false;
  std::string command_;
  std::string git_protocol_;
  std::atomic<bool> remote_closed_{false};
  bool remote_eof_ = false;
  bool idle_watch_ = false;  // during a git transfer: no traffic for idle_timeout drops it

  // The client's terminal (pty-req, window-change); during a console, where input goes.
  std::string term_ = "xterm";
  uint16_t rows_ = 24;
  uint16_t cols_ = 80;
  reconcile::ConsoleSession* console_ = nullptr;
  std::optional<Error> console_error_;  // input or resize failed: the console is ended
  // During an exec, where input and the client's EOF go.
  reconcile::ExecSession* exec_ = nullptr;
  std::optional<Error> exec_error_;  // writing stdin failed: the exec is ended
  bool early_input_lost_ = false;    // more input came before the exec started than is kept

  // During a git transfer.
  Child* child_ = nullptr;
  std::optional<ReceiveGuard>* guard_ = nullptr;
  std::optional<Error> guard_error_;
  std::string early_input_;  // client bytes that arrived before the child started
};

}  // namespace seed::sshcli
