// The epoll + splice relay: edge-triggered, both sockets registered once for in, out and
// hang-up, and every event on either socket pumps both directions until the kernel says
// EAGAIN. No epoll_ctl per transfer, no user-space copies: the cheapest epoll relay.
#include <sys/epoll.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include "bench/relay/epoll_loop.hpp"
#include "bench/relay/relay_sockets.hpp"
#include "bench/relay/splice_flow.hpp"

namespace seed::bench {

namespace {

struct Conn {
  UniqueFd client, backend;
  Flow up, down;
};

class EpollRelay final : public EpollLoop {
 public:
  ~EpollRelay() override { stop_loop(); }
  Status start(uint16_t backend_port) { return start_loop(backend_port); }

 private:
  void on_accept(UniqueFd client) override {
    auto backend = connect_loopback(backend_port_, true);
    auto c = std::make_unique<Conn>();
    if (!backend || !open_pipe(c->up) || !open_pipe(c->down)) return;
    c->client = std::move(client);
    c->backend = std::move(*backend);
    c->up.src = c->down.dst = c->client.get();
    c->up.dst = c->down.src = c->backend.get();
    const uint32_t ev = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    add(c->client.get(), ev, c.get());
    add(c->backend.get(), ev, c.get());
    Conn* key = c.get();
    conns_.emplace(key, std::move(c));
  }

  void on_event(void* tag, uint32_t events) override {
    auto* c = static_cast<Conn*>(tag);
    if (!conns_.contains(c)) return;  // closed earlier in this batch
    const bool fine = pump(c->up) && pump(c->down);
    if (!fine || (c->up.shut && c->down.shut) || (events & EPOLLERR)) {
      remove(c->client.get());
      remove(c->backend.get());
      auto it = conns_.find(c);
      graveyard_.push_back(std::move(it->second));  // later events may still name it
      conns_.erase(it);
    }
  }

  int after_batch() override {
    graveyard_.clear();
    return -1;
  }

  void on_stop() override { conns_.clear(); }

  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;
  std::vector<std::unique_ptr<Conn>> graveyard_;
};

}  // namespace

Result<std::unique_ptr<Relay>> start_epoll_relay(uint16_t backend_port) {
  auto r = std::make_unique<EpollRelay>();
  SEED_TRY(r->start(backend_port));
  return std::unique_ptr<Relay>(std::move(r));
}

}  // namespace seed::bench
