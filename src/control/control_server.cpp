#include "control/control_server.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <list>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/log.hpp"
#include "common/unix_socket.hpp"
#include "control/client_connection.hpp"
#include "control/control_protocol.hpp"

namespace seed::control {
namespace {

Error setup_error(Error e) {
  return std::move(e).with("stage", "control").with("hint", "set control.socket in seedd's config to a path under a directory only seedd uses");
}

// The socket's directory must be ours and closed to everyone else: between bind() and chmod()
// the socket briefly has the umask's mode, and the directory is what keeps others out then.
Status prepare_directory(const std::string& socket_path) {
  auto slash = socket_path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : socket_path.substr(0, slash);
  if (::mkdir(dir.c_str(), 0700) == 0) return ok();
  if (errno != EEXIST) return setup_error(errno_error("cannot create " + dir, errno).with("path", dir));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return setup_error(errno_error("cannot inspect " + dir, errno).with("path", dir));
  if (!S_ISDIR(st.st_mode)) {
    return setup_error(make_error(Errc::invalid_argument, dir + " is not a directory (symlinks are refused)").with("path", dir));
  }
  if (st.st_uid != ::geteuid()) {
    return setup_error(make_error(Errc::permission_denied, dir + " belongs to uid " + std::to_string(st.st_uid) +
                                                                ", not to seedd's user")
                           .with("path", dir));
  }
  if ((st.st_mode & S_ISVTX) != 0) {
    return setup_error(make_error(Errc::invalid_argument, dir + " is a shared sticky directory").with("path", dir));
  }
  if ((st.st_mode & 077) != 0) {
    if (::chmod(dir.c_str(), 0700) != 0) return setup_error(errno_error("cannot chmod 0700 " + dir, errno).with("path", dir));
    log::info("control.dir_tightened", {{"path", dir}});
  }
  return ok();
}

struct Worker {
  std::thread thread;
  std::shared_ptr<std::atomic<bool>> done;
};

}  // namespace

struct ControlServer::State {
  ControlConfig config;
  reconcile::Service* service = nullptr;
  UniqueFd listen_fd;
  UniqueFd stop_fd;  // eventfd, written once by stop(): every poll in every thread wakes
  ino_t socket_inode = 0;
  dev_t socket_dev = 0;
  std::thread acceptor;
  mutable std::mutex mutex;
  std::list<Worker> workers;  // guarded by mutex

  void accept_loop();
  void reap_finished();
  void serve(UniqueFd fd);
  void refuse(UniqueFd fd);
};

void ControlServer::State::reap_finished() {
  std::lock_guard lock(mutex);
  for (auto it = workers.begin(); it != workers.end();) {
    if (*it->done) {
      it->thread.join();
      it = workers.erase(it);
    } else {
      ++it;
    }
  }
}

// The connection is closed with one error line: the client learns why instead of hanging.
void ControlServer::State::refuse(UniqueFd fd) {
  log::warn("control.client_refused", {{"reason", "too many clients"}, {"max_clients", config.max_clients}});
  ClientConnection conn(std::move(fd), stop_fd.get(), config);
  conn.send_line(encode_error(make_error(Errc::unavailable, "seedd is already serving " +
                                                                std::to_string(config.max_clients) +
                                                                " control clients")
                                  .with("hint", "try again when one of them has finished"),
                              "control"));
}

void ControlServer::State::serve(UniqueFd fd) {
  int conn_fd = fd.get();
  ClientConnection conn(std::move(fd), stop_fd.get(), config);
  auto line = conn.read_request_line();
  if (!line) {
    // A client that connects and leaves (a liveness probe, a second seedd checking whether
    // the socket is stale) is routine, not a warning.
    if (line.error().code == Errc::protocol) log::debug("control.client_left", {{"error", line.error().describe()}});
    else log::warn("control.bad_request", {{"error", line.error().describe()}});
    conn.send_line(encode_error(line.error(), "request"));
    return;
  }
  auto request = decode_request(*line);
  if (!request) {
    log::warn("control.bad_request", {{"error", request.error().describe()}});
    conn.send_line(encode_error(request.error(), "request"));
    return;
  }
  // The socket is root's only, so this is for the audit trail (which admin tool, which user).
  ucred peer{};
  socklen_t len = sizeof peer;
  bool known = ::getsockopt(conn_fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) == 0;
  log::info("control.request", {{"command", to_string(request->command)},
                                {"uid", known ? std::to_string(peer.uid) : "?"},
                                {"pid", known ? std::to_string(peer.pid) : "?"}});
  if (request->command == Command::logs && request->follow) conn.watch_hangup();
  HandlerContext context{*service, config.ssh_host_key_path, config.ca_root_path, config.audit};
  auto reply = handle_request(*request, context, conn);
  if (reply) {
    conn.send_line(encode_result(reply->result, reply->text));
  } else {
    log::info("control.request_failed", {{"command", to_string(request->command)}, {"error", reply.error().describe()}});
    conn.send_line(encode_error(reply.error(), to_string(request->command)));
  }
}

void ControlServer::State::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd.get(), POLLIN, 0}, {stop_fd.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      log::error("control.poll_failed", {{"error", errno_error("poll", errno).describe()}});
      return;
    }
    if (fds[1].revents != 0) return;
    UniqueFd client(::accept4(listen_fd.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!client) {
      // EMFILE and friends: back off briefly instead of spinning on a pending connection.
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
        log::warn("control.accept_failed", {{"error", errno_error("accept", errno).describe()}});
        pollfd stop{stop_fd.get(), POLLIN, 0};
        ::poll(&stop, 1, 100);
      }
      continue;
    }
    reap_finished();
    std::lock_guard lock(mutex);
    if (workers.size() >= config.max_clients) {
      refuse(std::move(client));
      continue;
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    try {
      workers.push_back(Worker{std::thread([this, done, fd = std::move(client)]() mutable {
                                 // One bad request must never take seedd down with it.
                                 try {
                                   serve(std::move(fd));
                                 } catch (const std::exception& e) {
                                   log::error("control.worker_failed", {{"error", e.what()}});
                                 }
                                 *done = true;
                               }),
                               done});
    } catch (const std::system_error& e) {
      // No thread to be had (a resource limit): the connection, already moved into the
      // discarded lambda, is closed; the client sees EOF and seedctl says seedd hung up.
      log::error("control.worker_failed", {{"error", e.what()}});
    }
  }
}

ControlServer::ControlServer() = default;
ControlServer::~ControlServer() { stop(); }

Status ControlServer::start(const ControlConfig& config, reconcile::Service& service) {
  if (state_) return make_error(Errc::already_exists, "the control server is already running").with("stage", "control");
  if (config.max_clients == 0 || config.max_request_bytes == 0) {
    return make_error(Errc::invalid_argument, "control.max_clients and the request limit must be positive")
        .with("stage", "control");
  }
  auto state = std::make_unique<State>();
  state->config = config;
  state->service = &service;
  SEED_TRY(prepare_directory(config.socket_path));
  auto fd = listen_unix(config.socket_path, 64);
  if (!fd) return setup_error(std::move(fd).error());
  state->listen_fd = std::move(*fd);
  // Removed again on any failure below, so a failed start leaves no socket file behind.
  auto cleanup = [&](Error e) {
    ::unlink(config.socket_path.c_str());
    return e;
  };
  if (::chmod(config.socket_path.c_str(), 0600) != 0) {
    return cleanup(setup_error(errno_error("cannot chmod 0600 " + config.socket_path, errno)));
  }
  struct stat st {};
  if (::stat(config.socket_path.c_str(), &st) != 0) {
    return cleanup(setup_error(errno_error("cannot inspect " + config.socket_path, errno)));
  }
  state->socket_inode = st.st_ino;
  state->socket_dev = st.st_dev;
  state->stop_fd = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!state->stop_fd) return cleanup(setup_error(errno_error("eventfd", errno)));
  State* raw = state.get();
  state->acceptor = std::thread([raw] { raw->accept_loop(); });
  state_ = std::move(state);
  log::info("control.listening", {{"socket", config.socket_path}, {"max_clients", config.max_clients}});
  return ok();
}

void ControlServer::stop() {
  if (!state_) return;
  uint64_t one = 1;
  (void)!::write(state_->stop_fd.get(), &one, sizeof one);
  state_->acceptor.join();
  std::list<Worker> workers;
  {
    std::lock_guard lock(state_->mutex);
    workers.swap(state_->workers);
  }
  for (auto& w : workers) w.thread.join();
  // Only our own socket file goes: another seedd may have replaced it since (then it is theirs).
  struct stat st {};
  if (::stat(state_->config.socket_path.c_str(), &st) == 0 && st.st_ino == state_->socket_inode &&
      st.st_dev == state_->socket_dev) {
    ::unlink(state_->config.socket_path.c_str());
  }
  log::info("control.stopped", {{"socket", state_->config.socket_path}});
  state_.reset();
}

size_t ControlServer::active_clients() const {
  if (!state_) return 0;
  std::lock_guard lock(state_->mutex);
  size_t n = 0;
  for (const auto& w : state_->workers) n += *w.done ? 0 : 1;
  return n;
}

Result<std::unique_ptr<ControlServer>> start_control_server(const ControlConfig& config,
                                                            reconcile::Service& service) {
  auto server = std::make_unique<ControlServer>();
  SEED_TRY(server->start(config, service));
  return server;
}

}  // namespace seed::control
