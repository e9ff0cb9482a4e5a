// seedd's local control socket: the server seedctl talks to. One thread accepts; each client
// gets its own worker thread (at most max_clients at once; the next one is told so and closed)
// that reads one request line, runs it through request_handler and streams the answer.
//
// Usage from seedd:  auto server = SEED_TRY(control::start_control_server(config.control, engine));
// and destroy it (or call stop()) before the engine goes away.
#pragma once

#include <cstddef>
#include <memory>

#include "common/error.hpp"
#include "control/control_config.hpp"
#include "reconcile/service.hpp"

namespace seed::control {

class ControlServer {
 public:
  ControlServer();
  ~ControlServer();  // stop()
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Creates the socket's parent directory (0700) if missing, binds the socket (0600; a stale
  // socket file is replaced, one a live process listens on is Errc::in_use) and starts
  // accepting. `service` must outlive the server.
  Status start(const ControlConfig& config, reconcile::Service& service);

  // Stops accepting, cancels followers, waits for every worker (a command already inside the
  // service, e.g. a plant, finishes first), removes the socket file. Idempotent.
  void stop();

  // Connections being served now (for tests and the metrics endpoint).
  size_t active_clients() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

Result<std::unique_ptr<ControlServer>> start_control_server(const ControlConfig& config,
                                                            reconcile::Service& service);

}  // namespace seed::control
