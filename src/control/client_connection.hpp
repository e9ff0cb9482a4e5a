// One accepted control connection, server side: reads the request line (bounded in length and
// time), writes response lines (a client that stops reading is dropped after a timeout instead
// of blocking seedd), and for logs -f watches for the client hanging up.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "control/control_config.hpp"
#include "control/request_handler.hpp"

namespace seed::control {

class ClientConnection final : public Session {
 public:
  // `fd` is non-blocking; `stop_fd` becomes readable when the server stops.
  ClientConnection(UniqueFd fd, int stop_fd, const ControlConfig& config);
  ~ClientConnection() override;
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // The first line the client sends, without its newline.
  Result<std::string> read_request_line();
  // Writes one line (adds the newline). Thread-safe; after a failure it drops everything and
  // sets cancelled.
  void send_line(const std::string& line);

  // Starts a thread that sets cancelled once the client hangs up or the server stops; it
  // ends with the connection.
  void watch_hangup();

  void progress(const reconcile::Progress& progress) override;
  void data(std::string_view data) override;
  const std::atomic<bool>& cancelled() const override { return cancelled_; }

 private:
  void watch_loop();

  UniqueFd fd_;
  int stop_fd_;
  ControlConfig config_;
  UniqueFd watch_end_;  // eventfd: tells the watcher the connection is done
  std::thread watcher_;
  std::mutex write_mutex_;
  bool broken_ = false;  // guarded by write_mutex_
  std::atomic<bool> cancelled_{false};
};

}  // namespace seed::control
