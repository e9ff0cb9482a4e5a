// The io_uring relays (liburing). Each direction of a connection has at most one operation in
// flight and alternates read → write → read:
//   splice mode:    IORING_OP_SPLICE socket → pipe, then pipe → socket;
//   recv/send mode: IORING_OP_RECV into the direction's 64 KiB buffer, then IORING_OP_SEND.
// One io_uring_submit_and_wait per loop turn submits every new operation and reaps every
// completion. Accept is a multishot IORING_OP_ACCEPT. The ring is single-issuer with deferred
// task work (completions run only when this thread asks), the cheapest setup the kernel has.
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <future>
#include <thread>
#include <unordered_map>

#include "bench/relay/relay_sockets.hpp"

namespace seed::bench {

namespace {

constexpr unsigned kBytes = 64 * 1024;  // per read: one pipe's capacity, one buffer

struct Conn;

struct Flow {
  Conn* conn = nullptr;
  int src = -1, dst = -1;
  UniqueFd pipe[2];                 // splice mode
  std::unique_ptr<char[]> buf;      // recv/send mode
  unsigned pending = 0, off = 0;    // bytes read and not yet written
  bool busy = false, writing = false, shut = false;
};

struct Conn {
  UniqueFd client, backend;
  Flow up, down;
  bool dead = false;
};

class UringRelay final : public Relay {
 public:
  explicit UringRelay(bool splice) : splice_(splice) {}
  ~UringRelay() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const override { return port_; }
  uint64_t connections() const override { return accepted_; }

  Status start(uint16_t backend_port) {
    backend_port_ = backend_port;
    listen_ = SEED_TRY(listen_loopback(false, port_));
    // The ring is created on the thread that submits: a single-issuer ring belongs to it.
    std::promise<Status> ready;
    auto started = ready.get_future();
    thread_ = std::thread([this, &ready] { run(ready); });
    return started.get();
  }

 private:
  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    if (s == nullptr) {  // queue full: hand what is queued to the kernel, then there is room
      io_uring_submit(&ring_);
      s = io_uring_get_sqe(&ring_);
    }
    return s;
  }

  void arm_accept() {
    io_uring_sqe* s = sqe();
    io_uring_prep_multishot_accept(s, listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data(s, &listen_);
  }

  void read(Flow& f) {
    io_uring_sqe* s = sqe();
    if (splice_) {
      io_uring_prep_splice(s, f.src, -1, f.pipe[1].get(), -1, kBytes, SPLICE_F_MOVE);
    } else {
      io_uring_prep_recv(s, f.src, f.buf.get(), kBytes, 0);
    }
    io_uring_sqe_set_data(s, &f);
    f.busy = true;
    f.writing = false;
  }

  void write(Flow& f) {
    io_uring_sqe* s = sqe();
    if (splice_) {
      io_uring_prep_splice(s, f.pipe[0].get(), -1, f.dst, -1, f.pending, SPLICE_F_MOVE);
    } else {
      io_uring_prep_send(s, f.dst, f.buf.get() + f.off, f.pending, MSG_NOSIGNAL);
    }
    io_uring_sqe_set_data(s, &f);
    f.busy = true;
    f.writing = true;
  }

  void on_accept(int res, unsigned flags) {
    if (!(flags & IORING_CQE_F_MORE) && !stop_) arm_accept();
    if (res < 0) return;
    UniqueFd client(res);
    ++accepted_;
    set_nodelay(client.get());
    auto backend = connect_loopback(backend_port_, false);
    if (!backend) return;
    auto c = std::make_unique<Conn>();
    c->client = std::move(client);
    c->backend = std::move(*backend);
    c->up.src = c->down.dst = c->client.get();
    c->up.dst = c->down.src = c->backend.get();
    for (Flow* f : {&c->up, &c->down}) {
      f->conn = c.get();
      if (splice_) {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) return;
        f->pipe[0].reset(p[0]);
        f->pipe[1].reset(p[1]);
      } else {
        f->buf.reset(new char[kBytes]);
      }
    }
    read(c->up);
    read(c->down);
    Conn* key = c.get();
    conns_.emplace(key, std::move(c));
  }

  // Shutting both sockets down wakes whatever operation still waits on them (a blocked
  // splice in an io-wq worker, an armed poll); the connection is freed when both are back.
  void kill(Conn& c) {
    if (!c.dead) {
      c.dead = true;
      ::shutdown(c.client.get(), SHUT_RDWR);
      ::shutdown(c.backend.get(), SHUT_RDWR);
    }
    if (!c.up.busy && !c.down.busy) conns_.erase(&c);
  }

  void on_flow(Flow& f, int res) {
    f.busy = false;
    Conn& c = *f.conn;
    if (c.dead) return kill(c);
    if (res == -EINTR || res == -EAGAIN) return f.writing ? write(f) : read(f);
    if (res < 0) return kill(c);
    if (!f.writing) {
      if (res == 0) {  // end of this direction: pass the half-close on
        f.shut = true;
        ::shutdown(f.dst, SHUT_WR);
        if (c.up.shut && c.down.shut) kill(c);
        return;
      }
      f.pending = static_cast<unsigned>(res);
      f.off = 0;
      return write(f);
    }
    if (res == 0) return kill(c);
    f.pending -= static_cast<unsigned>(res);
    f.off += static_cast<unsigned>(res);
    return f.pending > 0 ? write(f) : read(f);
  }

  void reap() {
    unsigned head, seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      void* tag = io_uring_cqe_get_data(cqe);
      if (tag == &listen_) on_accept(cqe->res, cqe->flags);
      else on_flow(*static_cast<Flow*>(tag), cqe->res);
    }
    io_uring_cq_advance(&ring_, seen);
  }

  void run(std::promise<Status>& ready) {
    sigset_t set;  // a splice into a closed socket must fail with EPIPE, not kill the process
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int err = io_uring_queue_init_params(1024, &ring_, &p);
    if (err == -EINVAL) {  // an older kernel: plain ring
      p = {};
      err = io_uring_queue_init_params(1024, &ring_, &p);
    }
    if (err < 0) {
      ready.set_value(errno_error("relay: io_uring_queue_init", -err).with("stage", "start"));
      return;
    }
    ready.set_value(ok());
    arm_accept();
    __kernel_timespec tick{0, 50'000'000};
    while (!stop_) {
      io_uring_cqe* cqe = nullptr;
      io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &tick, nullptr);
      reap();
    }
    // Wake every pending operation, collect it (bounded), then let the ring cancel the rest.
    std::vector<Conn*> all;
    for (auto& [k, v] : conns_) all.push_back(k);
    for (Conn* c : all) kill(*c);
    for (int i = 0; i < 20 && !conns_.empty(); ++i) {
      io_uring_cqe* cqe = nullptr;
      io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &tick, nullptr);
      reap();
    }
    io_uring_queue_exit(&ring_);
    if (!conns_.empty()) {
      // An operation that never came back may still be cancelled after the ring is gone:
      // never free a buffer the kernel could write into; the sockets close with the process.
      std::fprintf(stderr, "relay: %zu connections still busy at stop, left allocated\n",
                   conns_.size());
      for (auto& [k, v] : conns_) static_cast<void>(v.release());
    }
    conns_.clear();
  }

  const bool splice_;
  uint16_t port_ = 0, backend_port_ = 0;
  UniqueFd listen_;
  io_uring ring_{};
  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> accepted_{0};
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<Relay>> start_uring_relay(uint16_t backend_port, bool splice) {
  auto r = std::make_unique<UringRelay>(splice);
  SEED_TRY(r->start(backend_port));
  return std::unique_ptr<Relay>(std::move(r));
}

}  // namespace seed::bench
