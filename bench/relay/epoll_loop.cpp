#include "bench/relay/epoll_loop.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "bench/relay/relay_sockets.hpp"

namespace seed::bench {

Status EpollLoop::start_loop(uint16_t backend_port) {
  backend_port_ = backend_port;
  listen_ = SEED_TRY(listen_loopback(true, port_));
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!epoll_ || !wake_) return errno_error("relay: epoll/eventfd", errno).with("stage", "start");
  add(listen_.get(), EPOLLIN, &listen_);
  add(wake_.get(), EPOLLIN, &wake_);
  thread_ = std::thread([this] { run(); });
  return ok();
}

void EpollLoop::stop_loop() {
  stop_ = true;
  const uint64_t one = 1;
  if (wake_) [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void EpollLoop::add(int fd, uint32_t events, void* tag) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = tag;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
}

void EpollLoop::remove(int fd) { ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); }

void EpollLoop::accept_all() {
  while (true) {
    UniqueFd client(::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!client) return;
    ++accepted_;
    set_nodelay(client.get());
    on_accept(std::move(client));
  }
}

void EpollLoop::run() {
  // splice(2) into a closed socket raises SIGPIPE; blocked here, it just fails with EPIPE.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  epoll_event events[256];
  int timeout_ms = -1;
  while (!stop_) {
    const int n = ::epoll_wait(epoll_.get(), events, 256, timeout_ms);
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &listen_) {
        accept_all();
      } else if (tag != &wake_) {
        on_event(tag, events[i].events);
      }
    }
    timeout_ms = after_batch();
  }
  on_stop();
}

}  // namespace seed::bench
