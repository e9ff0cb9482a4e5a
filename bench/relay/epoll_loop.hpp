// What the two epoll-driven relays (epoll + splice, sockmap) share: the listening socket, the
// epoll set, the wake-up eventfd and the one thread that runs the loop. A relay says what to do
// with an accepted client, with an event on one of its connections, and after each batch.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "bench/relay/relay.hpp"
#include "common/fd.hpp"

namespace seed::bench {

class EpollLoop : public Relay {
 public:
  uint16_t port() const override { return port_; }
  uint64_t connections() const override { return accepted_; }

 protected:
  // Listens on 127.0.0.1:0 and starts the thread.
  Status start_loop(uint16_t backend_port);
  // Ends the thread; every derived destructor calls it first (the thread uses their members).
  void stop_loop();
  void add(int fd, uint32_t events, void* tag);
  void remove(int fd);

  // An accepted client (non-blocking, TCP_NODELAY); it is closed unless the relay keeps it.
  virtual void on_accept(UniqueFd client) = 0;
  // An event on a socket added with `tag` (never null).
  virtual void on_event(void* tag, uint32_t events) = 0;
  // After each epoll_wait batch; the next wait's timeout in ms (-1: none).
  virtual int after_batch() = 0;
  // On the thread, once the loop has ended: close every connection.
  virtual void on_stop() = 0;

  uint16_t backend_port_ = 0;

 private:
  void run();
  void accept_all();

  uint16_t port_ = 0;
  UniqueFd listen_, epoll_, wake_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> accepted_{0};
  std::thread thread_;
};

}  // namespace seed::bench
