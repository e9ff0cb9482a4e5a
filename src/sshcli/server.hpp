// seedd's SSH server: tenant commands and Silo git hosting over libssh.
//
// Threads: one acceptor (which also enforces deadlines) and one thread per session, capped at
// max_sessions and at max_sessions_per_source per client (a connection beyond either cap is
// told why and closed at once, refusal.hpp). A session thread owns its
// libssh session alone; a tenant command runs on a second thread of that session and hands its
// output over a bounded queue, so a slow reader stalls nobody but itself. Deadlines: a client
// must authenticate and send its request within auth_timeout; a git transfer or a blocked
// write that makes no progress for idle_timeout is dropped (the acceptor shuts the socket down).
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/audit_log.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "reconcile/service.hpp"
#include "sshcli/host_key.hpp"
#include "sshcli/rate_limiter.hpp"
#include "sshcli/receive_guard.hpp"
#include "sshcli/session_slot.hpp"
#include "sshcli/silo.hpp"
#include "sshcli/tenant_commands.hpp"

namespace seed::sshcli {

struct ServerConfig {
  std::string listen_address = "::";  // IPv4 or IPv6 literal
  uint16_t port = 22;                 // 0: any free port (tests read port())
  std::string host_key_dir;           // holds ssh_host_ed25519_key (+ .pub)
  std::string silo_root;              // Silo's bare repositories: <silo_root>/<name>.git
  size_t max_sessions = 64;
  // Sessions from one source (IPv4 address or IPv6 /64) at once: below max_sessions, so one
  // host cannot take every slot.
  size_t max_sessions_per_source = 8;
  std::chrono::milliseconds auth_timeout{std::chrono::seconds(20)};
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  size_t max_command_bytes = 4096;
  double rate_burst = 30;       // commands a key may run at once ...
  double rate_per_second = 2;   // ... and refilled at this rate
  SiloLimits silo;
  size_t max_ref_updates = 1000;  // per push
  std::string git = "git";        // the git binary (receive-pack, upload-pack)
  // Where forges reach seedd's public HTTP listener (`webhook` prints <base>/webhook/<id>).
  std::string webhook_base_url;
  // Where every exec and console session is recorded (seedd owns it; it outlives the server).
  // Null: sessions go to the structured log only (tests that do not look at the audit).
  AuditLog* audit = nullptr;
};

// What every session shares; owned by the Server, outlives all sessions.
struct SessionContext {
  const ServerConfig& config;
  reconcile::Service& service;
  Silo& silo;
  TenantCommands& commands;
  RateLimiter& limiter;
};

class Server {
 public:
  Server() = default;
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads (or generates) the host key, binds, and starts serving. The service must outlive
  // the server (stop() returns only when every session has ended).
  Status start(const ServerConfig& config, reconcile::Service& service);
  // Drops every connection, waits for their threads; idempotent.
  void stop();

  uint16_t port() const { return port_; }
  const HostKey& host_key() const { return host_key_; }
  size_t active_sessions() const;

 private:
  void accept_loop();
  void accept_one();
  // Tells the client why (refusal.hpp) and closes the socket on a later sweep.
  void refuse(int fd, const std::string& why);
  void sweep(bool stopping);

  ServerConfig config_;
  HostKey host_key_;
  uint16_t port_ = 0;
  UniqueFd listen_fd_;
  UniqueFd wake_fd_;  // eventfd: stop() wakes the acceptor
  void* bind_ = nullptr;  // ssh_bind (kept opaque so this header needs no libssh)
  std::unique_ptr<Silo> silo_;
  std::unique_ptr<TenantCommands> commands_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<SessionContext> context_;
  mutable std::mutex mu_;
  std::list<std::unique_ptr<SessionSlot>> sessions_;
  // Refused sockets: the message is sent, the client's bytes are drained until it closes (so
  // the close is no reset that could beat the message), for at most a few sweeps.
  struct Refused {
    UniqueFd fd;
    SessionSlot::Clock::time_point until;
  };
  std::list<Refused> refused_;
  std::thread acceptor_;
  bool running_ = false;
};

}  // namespace seed::sshcli
