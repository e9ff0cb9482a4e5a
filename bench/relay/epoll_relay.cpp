// The epoll + splice relay: edge-triggered, both sockets registered once for in, out and
// hang-up, and every event on either socket pumps both directions until the kernel says
// EAGAIN. No epoll_ctl per transfer, no user-space copies: the cheapest epoll relay.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench/relay/relay_sockets.hpp"
#include "bench/relay/splice_flow.hpp"

namespace seed::bench {

namespace {

struct Conn {
  UniqueFd client, backend;
  Flow up, down;
};

class EpollRelay final : public Relay {
 public:
  ~EpollRelay() override {
    stop_ = true;
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const override { return port_; }
  uint64_t connections() const override { return accepted_; }

  Status start(uint16_t backend_port) {
    backend_port_ = backend_port;
    listen_ = SEED_TRY(listen_loopback(true, port_));
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!epoll_ || !wake_) return errno_error("relay: epoll/eventfd", errno).with("stage", "start");
    add(listen_.get(), EPOLLIN, nullptr);
    add(wake_.get(), EPOLLIN, &wake_);
    thread_ = std::thread([this] { run(); });
    return ok();
  }

 private:
  void add(int fd, uint32_t events, void* tag) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = tag;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
  }

  void accept_all() {
    while (true) {
      UniqueFd client(::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!client) return;
      ++accepted_;
      set_nodelay(client.get());
      auto backend = connect_loopback(backend_port_, true);
      auto c = std::make_unique<Conn>();
      if (!backend || !open_pipe(c->up) || !open_pipe(c->down)) continue;
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
  }

  void run() {
    // splice(2) into a closed socket raises SIGPIPE; blocked here, it just fails with EPIPE.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    epoll_event events[256];
    while (!stop_) {
      const int n = ::epoll_wait(epoll_.get(), events, 256, -1);
      for (int i = 0; i < n; ++i) {
        void* tag = events[i].data.ptr;
        if (tag == nullptr) {
          accept_all();
          continue;
        }
        if (tag == &wake_) continue;
        auto* c = static_cast<Conn*>(tag);
        if (!conns_.contains(c)) continue;  // closed earlier in this batch
        const bool fine = pump(c->up) && pump(c->down);
        if (!fine || (c->up.shut && c->down.shut) || (events[i].events & EPOLLERR)) {
          ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c->client.get(), nullptr);
          ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c->backend.get(), nullptr);
          auto it = conns_.find(c);
          graveyard_.push_back(std::move(it->second));  // later events may still name it
          conns_.erase(it);
        }
      }
      graveyard_.clear();
    }
    conns_.clear();
  }

  uint16_t port_ = 0, backend_port_ = 0;
  UniqueFd listen_, epoll_, wake_;
  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;
  std::vector<std::unique_ptr<Conn>> graveyard_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> accepted_{0};
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<Relay>> start_epoll_relay(uint16_t backend_port) {
  auto r = std::make_unique<EpollRelay>();
  SEED_TRY(r->start(backend_port));
  return std::unique_ptr<Relay>(std::move(r));
}

}  // namespace seed::bench
