#include "sshcli/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <libssh/libssh.h>
#include <libssh/server.h>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "sshcli/refusal.hpp"
#include "sshcli/session.hpp"
#include "sshcli/session_slot.hpp"

namespace seed::sshcli {
namespace {

// Modern key types only: DSA and SHA-1 RSA signatures are refused by libssh itself, and RSA
// keys below 2048 bits too (RSA_MIN_SIZE).
constexpr const char* kAcceptedKeyTypes =
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
    "sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256";

Error listen_error(const std::string& what, const ServerConfig& c, int err) {
  return errno_error(what, err)
      .with("address", c.listen_address)
      .with("port", std::to_string(c.port))
      .with("stage", "ssh")
      .with("hint", "set services.seed.ssh.port to a free port, or stop what listens there");
}

Result<UniqueFd> listen_on(const ServerConfig& c, uint16_t& bound_port) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_INET6;
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  if (inet_pton(AF_INET6, c.listen_address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(c.port);
    len = sizeof *v6;
  } else if (inet_pton(AF_INET, c.listen_address.c_str(), &v4->sin_addr) == 1) {
    family = AF_INET;
    v4->sin_family = AF_INET;
    v4->sin_port = htons(c.port);
    len = sizeof *v4;
  } else {
    return make_error(Errc::invalid_argument, "SSH listen address '" + c.listen_address + "' is not an IP address")
        .with("stage", "ssh")
        .with("hint", "use an IPv4 or IPv6 literal such as 0.0.0.0 or ::");
  }
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return listen_error("socket", c, errno);
  int one = 1, zero = 0;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);  // dual stack
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) return listen_error("bind the SSH port", c, errno);
  if (::listen(fd.get(), 128) != 0) return listen_error("listen on the SSH port", c, errno);
  len = sizeof addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  bound_port = ntohs(family == AF_INET6 ? v6->sin6_port : v4->sin_port);
  return fd;
}

}  // namespace

Server::~Server() { stop(); }

Status Server::start(const ServerConfig& config, reconcile::Service& service) {
  if (running_) return make_error(Errc::already_exists, "the SSH server is already running");
  config_ = config;
  if (config_.max_sessions == 0) config_.max_sessions = 1;
  config_.max_sessions_per_source = std::clamp<size_t>(config_.max_sessions_per_source, 1, config_.max_sessions);
  host_key_ = SEED_TRY(ensure_host_key(config_.host_key_dir));
  listen_fd_ = SEED_TRY(listen_on(config_, port_));
  wake_fd_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd_) return errno_error("eventfd", errno);

  ssh_bind b = ssh_bind_new();
  if (b == nullptr) return make_error(Errc::internal, "libssh: cannot create a server");
  bool no = false;
  int min_rsa = 2048;
  int quiet = SSH_LOG_NOLOG;
  // libssh would otherwise read /etc/ssh/libssh_server_config: the node's sshd settings are
  // not ours.
  if (ssh_bind_options_set(b, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no) != SSH_OK ||
      ssh_bind_options_set(b, SSH_BIND_OPTIONS_LOG_VERBOSITY, &quiet) != SSH_OK ||
      ssh_bind_options_set(b, SSH_BIND_OPTIONS_HOSTKEY, host_key_.private_path.c_str()) != SSH_OK ||
      ssh_bind_options_set(b, SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES, kAcceptedKeyTypes) != SSH_OK ||
      ssh_bind_options_set(b, SSH_BIND_OPTIONS_RSA_MIN_SIZE, &min_rsa) != SSH_OK) {
    Error e = make_error(Errc::internal, std::string("libssh rejected the server options: ") + ssh_get_error(b))
                  .with("stage", "ssh");
    ssh_bind_free(b);
    return e;
  }
  bind_ = b;
  silo_ = std::make_unique<Silo>(config_.silo_root, config_.silo);
  commands_ = std::make_unique<TenantCommands>(service, *silo_);
  limiter_ = std::make_unique<RateLimiter>(config_.rate_burst, config_.rate_per_second);
  context_ = std::make_unique<SessionContext>(SessionContext{config_, service, *silo_, *commands_, *limiter_});
  running_ = true;
  acceptor_ = std::thread([this] { accept_loop(); });
  log::info("sshcli.listening", {{"address", config_.listen_address}, {"port", port_},
                                 {"host_key", host_key_.fingerprint}});
  return ok();
}

void Server::stop() {
  if (!running_) return;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
  acceptor_.join();
  ssh_bind_free(static_cast<ssh_bind>(bind_));
  bind_ = nullptr;
  listen_fd_.reset();
  wake_fd_.reset();
  context_.reset();
  commands_.reset();
  limiter_.reset();
  silo_.reset();
  running_ = false;
}

size_t Server::active_sessions() const {
  std::lock_guard l(mu_);
  size_t n = 0;
  for (const auto& s : sessions_) n += !s->done;
  return n;
}

void Server::accept_loop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}};
    int rc = ::poll(fds, 2, 200);  // the sweep below runs at least this often
    if (rc > 0 && (fds[1].revents & POLLIN)) break;
    if (rc > 0 && (fds[0].revents & POLLIN)) accept_one();
    sweep(false);
  }
  sweep(true);
}

void Server::accept_one() {
  while (true) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    int fd = ::accept4(listen_fd_.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
        log::warn("sshcli.accept_failed", {{"error", std::strerror(errno)}});
      }
      return;
    }
    std::string source = source_of(peer);
    size_t all = 0, same_source = 0;
    {
      std::lock_guard l(mu_);
      for (const auto& s : sessions_) {
        if (s->done) continue;
        ++all;
        same_source += s->source == source;
      }
    }
    static auto& accepted = metrics::global().counter("seed_ssh_connections_total",
                                                      "SSH connections, by whether a session was started.",
                                                      {{"outcome", "accepted"}});
    static auto& refused_full = metrics::global().counter("seed_ssh_connections_total",
                                                          "SSH connections, by whether a session was started.",
                                                          {{"outcome", "refused_node_full"}});
    static auto& refused_source = metrics::global().counter("seed_ssh_connections_total",
                                                            "SSH connections, by whether a session was started.",
                                                            {{"outcome", "refused_per_source"}});
    if (all >= config_.max_sessions) {
      refused_full.inc();
      log::warn("sshcli.session_limit", {{"max", config_.max_sessions}, {"source", source}});
      refuse(fd, "this node is serving its maximum of " + std::to_string(config_.max_sessions) +
                     " SSH sessions; retry in a minute");
      continue;
    }
    if (same_source >= config_.max_sessions_per_source) {
      refused_source.inc();
      log::warn("sshcli.source_limit", {{"max", config_.max_sessions_per_source}, {"source", source}});
      refuse(fd, "too many connections from " + source + " (at most " +
                     std::to_string(config_.max_sessions_per_source) +
                     " at once); end some of your ssh or git sessions and retry");
      continue;
    }
    ssh_session session = ssh_new();
    if (session == nullptr || ssh_bind_accept_fd(static_cast<ssh_bind>(bind_), session, fd) != SSH_OK) {
      log::warn("sshcli.accept_failed", {{"error", session ? ssh_get_error(static_cast<ssh_bind>(bind_)) : "ssh_new"}});
      // Once accept_fd has run, the session owns the socket and ssh_free closes it.
      if (session != nullptr) {
        ssh_free(session);
      } else {
        ::close(fd);
      }
      continue;
    }
    accepted.inc();
    auto slot = std::make_unique<SessionSlot>();
    slot->fd = fd;
    slot->source = std::move(source);
    slot->arm(config_.auth_timeout);
    SessionSlot* raw = slot.get();
    SessionContext* ctx = context_.get();
    {
      std::lock_guard l(mu_);
      sessions_.push_back(std::move(slot));
    }
    raw->thread = std::thread([raw, ctx, session] {
      // SIGPIPE from a write to a git child that died is handled as EPIPE; blocking it here is
      // per thread (and inherited by the command worker), nothing process-wide changes.
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGPIPE);
      ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
      {
        Session s(*ctx, *raw, session);
        s.run();
      }
      raw->done = true;
    });
  }
}

void Server::refuse(int fd, const std::string& why) {
  UniqueFd socket(fd);
  std::string bytes = refusal_bytes(why);
  // A fresh socket's send buffer takes these ~200 bytes at once; never wait for a client.
  [[maybe_unused]] ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  if (refused_.size() >= 256) return;  // a flood: close at once, the message may be lost
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  refused_.push_back({std::move(socket), SessionSlot::Clock::now() + std::chrono::seconds(2)});
}

void Server::sweep(bool stopping) {
  auto now = SessionSlot::Clock::now();
  for (auto it = refused_.begin(); it != refused_.end();) {
    char buf[4096];
    ssize_t n = 0;
    for (int reads = 0; reads < 16 && (n = ::recv(it->fd.get(), buf, sizeof buf, 0)) > 0; ++reads) {
    }
    bool client_closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
    it = stopping || client_closed || now >= it->until ? refused_.erase(it) : std::next(it);
  }
  std::list<std::unique_ptr<SessionSlot>> finished;
  {
    std::lock_guard l(mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      SessionSlot& s = **it;
      if (s.done) {
        finished.push_back(std::move(*it));
        it = sessions_.erase(it);
        continue;
      }
      if (stopping) {
        s.stopping = true;
        s.kick();
      } else if (s.expired(now)) {
        log::info("sshcli.session_timeout", {});
        s.kick();
        s.disarm();
      }
      ++it;
    }
    if (stopping) finished.splice(finished.end(), sessions_);
  }
  for (auto& s : finished) {
    if (s->thread.joinable()) s->thread.join();
  }
}

}  // namespace seed::sshcli
