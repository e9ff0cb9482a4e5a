// The sockmap relay: after accept and connect, both sockets go into BPF SOCKHASH maps whose
// SK_SKB verdict program redirects each socket's received bytes to its peer's egress inside the
// kernel (sockmap_bpf.hpp). User space sees a connection again only at its end: sockets are in
// epoll for EPOLLRDHUP alone, so a data wake-up (sock_def_readable, which sockmap still calls
// after every verdict run) does not match and wakes nobody.
//
// Pitfalls, and what this does about them:
// - Bytes that arrived before the insert sit in the receive queue, and the verdict runs from
//   data_ready, i.e. on the next segment, which a request/response peer never sends. 6.18
//   feeds the queue to the verdict at the insert already (the test passes without the next
//   line); setsockopt(SO_RCVLOWAT, 1) after the insert makes sure on kernels that do not: it
//   runs tcp_data_ready() once, which reads the whole queue, oldest first, into the verdict,
//   and does nothing when the queue is empty. User space never reads, so nothing can be
//   reordered against bytes the verdict redirects concurrently; a segment that lands between
//   insert and kick triggers the same read of the whole queue itself.
// - A socket may only be inserted while ESTABLISHED: a FIN that came before the insert (a
//   short request and an immediate half-close; a backend that closes at once) makes it
//   EOPNOTSUPP. Such directions are moved by user space with splice (splice_flow.hpp), the
//   rest of the pair still by the kernel.
// - A redirect whose peer is missing drops bytes: hence the two maps (peer first).
// - A bare FIN is an empty skb; redirected, the peer's kworker takes the zero-byte send as a
//   broken pipe (EPIPE on the peer, no more redirects to it). The program drops empty skbs.
// - The verdict hands redirected bytes to a kworker that sends them on the peer (backlog
//   work), so at the source's EOF the last bytes may not have reached the peer's socket yet;
//   a shutdown(SHUT_WR) then would make those sends fail. The FIN is passed on only once the
//   peer socket has taken as many bytes as the source received (TCP_INFO and SIOCOUTQ), and
//   re-checked every millisecond until it has.
#include <linux/sockios.h>
#include <netinet/in.h>  // IPPROTO_TCP; linux/tcp.h for the tcp_info with byte counters
#include <linux/tcp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bench/relay/epoll_loop.hpp"
#include "bench/relay/relay_sockets.hpp"
#include "bench/relay/splice_flow.hpp"

namespace seed::bench {

namespace {

constexpr uint32_t kMaxSockets = 65536;  // per map; two per connection
constexpr uint8_t kTcpClose = 7;         // TCP_CLOSE (net/tcp_states.h is not UAPI)
constexpr auto kDrainTimeout = std::chrono::seconds(10);  // without a byte of progress

struct TcpCounters {
  uint64_t acked = 0, received = 0, outq = 0;
  uint8_t state = 0;
};

// The kernel's own counts. bytes_received counts the FIN's sequence number too and
// bytes_acked the SYN's on a connect()ed socket, hence the FIN adjustment and the baseline.
bool tcp_counters(int fd, TcpCounters& c) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return false;
  int outq = 0;
  if (::ioctl(fd, SIOCOUTQ, &outq) != 0) return false;  // after TCP_INFO: never overestimates
  c = {info.tcpi_bytes_acked, info.tcpi_bytes_received, static_cast<uint64_t>(outq),
       info.tcpi_state};
  return true;
}

// Bytes a socket has taken for sending so far (sent and acknowledged, or still queued).
uint64_t taken(const TcpCounters& c) { return c.acked + c.outq; }

struct Direction {
  Flow flow;                   // src, dst; pipes only when user space moves this direction
  bool kernel = false;         // the verdict program moves it
  uint64_t taken_base = 0;     // dst's taken() before any redirect (the SYN, see tcp_counters)
  uint64_t last_taken = 0;     // and when it last grew, while waiting after the EOF: a peer
  std::chrono::steady_clock::time_point progress_at{};  // that stops taking bytes is dropped
};

struct Conn {
  UniqueFd client, backend;
  uint64_t cookie[2] = {};  // client's, backend's
  Direction dir[2];         // client → backend, backend → client
};

enum class Step { idle, waiting, failed };

// A kernel direction: notices the source's EOF and passes it on once the peer has every byte.
Step drain_kernel(Direction& d) {
  Flow& f = d.flow;
  if (f.shut) return Step::idle;
  if (!f.eof) {
    char b;
    const ssize_t n = ::recv(f.src, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return Step::waiting;  // queued, not yet through the verdict: look again
    if (n < 0) return errno == EAGAIN || errno == EINTR ? Step::idle : Step::failed;
    f.eof = true;
    d.progress_at = std::chrono::steady_clock::now();
  }
  TcpCounters in, out;
  if (!tcp_counters(f.src, in) || !tcp_counters(f.dst, out) || out.state == kTcpClose) {
    return Step::failed;
  }
  const uint64_t received = in.received > 0 ? in.received - 1 : 0;  // minus the FIN
  const uint64_t sent = taken(out) - d.taken_base;
  if (sent < received) {
    const auto now = std::chrono::steady_clock::now();
    if (sent != d.last_taken) {
      d.last_taken = sent;
      d.progress_at = now;
    }
    return now - d.progress_at > kDrainTimeout ? Step::failed : Step::waiting;
  }
  f.shut = true;
  ::shutdown(f.dst, SHUT_WR);
  return Step::idle;
}

class SockmapRelay final : public EpollLoop {
 public:
  explicit SockmapRelay(SockmapHooks hooks) : hooks_(std::move(hooks)) {}
  ~SockmapRelay() override { stop_loop(); }

  Status start(uint16_t backend_port) {
    bpf_ = SEED_TRY(SockmapBpf::load(kMaxSockets));
    if (hooks_.on_loaded) hooks_.on_loaded(bpf_.ids());
    return start_loop(backend_port);
  }

 private:
  // Puts the pair into the maps; false if it has to be closed.
  bool link(Conn& c) {
    Direction* d = c.dir;
    d[0].flow.src = d[1].flow.dst = c.client.get();
    d[0].flow.dst = d[1].flow.src = c.backend.get();
    for (int i = 0; i < 2; ++i) {
      auto cookie = socket_cookie(i == 0 ? c.client.get() : c.backend.get());
      if (!cookie) return false;
      c.cookie[i] = *cookie;
    }
    if (hooks_.before_insert) hooks_.before_insert();
    // Every peer entry before any verdict entry, and the baselines before any redirect.
    bool peer_ok[2];
    for (int i = 0; i < 2; ++i) {
      peer_ok[i] = bool(bpf_.add_peer(c.cookie[i], d[i].flow.dst));
      TcpCounters out;
      if (!tcp_counters(d[i].flow.dst, out)) return false;
      d[i].taken_base = taken(out);
    }
    for (int i = 0; i < 2; ++i) {
      d[i].kernel = peer_ok[i] && bpf_.add_verdict(c.cookie[i], d[i].flow.src);
    }
    const int one = 1;
    for (int i = 0; i < 2; ++i) {
      if (d[i].kernel) {
        // The kick: the bytes queued before the insert go through the verdict now.
        ::setsockopt(d[i].flow.src, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
      } else if (!open_pipe(d[i].flow)) {
        return false;
      }
    }
    if (hooks_.on_linked) hooks_.on_linked(d[0].kernel, d[1].kernel);
    return true;
  }

  void on_accept(UniqueFd client) override {
    auto backend = connect_loopback(backend_port_, true);
    if (!backend) return;  // closes the client
    auto c = std::make_unique<Conn>();
    c->client = std::move(client);
    c->backend = std::move(*backend);
    Conn* key = c.get();
    conns_.emplace(key, std::move(c));
    if (!link(*key)) {
      close(key);
      return;
    }
    // A direction user space moves needs its data and write-space edges; a kernel one only
    // the end (EPOLLERR and EPOLLHUP are always reported).
    const bool user = !key->dir[0].kernel || !key->dir[1].kernel;
    const uint32_t ev = EPOLLRDHUP | EPOLLET | (user ? EPOLLIN | EPOLLOUT : 0);
    add(key->client.get(), ev, key);
    add(key->backend.get(), ev, key);
    progress(key);
  }

  // Runs both directions; closes the pair when both are done or one failed.
  void progress(Conn* c) {
    bool waiting = false, failed = false;
    for (Direction& d : c->dir) {
      if (!d.kernel) {
        failed |= !pump(d.flow);
        continue;
      }
      const Step s = drain_kernel(d);
      waiting |= s == Step::waiting;
      failed |= s == Step::failed;
    }
    if (failed || (c->dir[0].flow.shut && c->dir[1].flow.shut)) {
      close(c);
    } else if (waiting) {
      pending_.insert(c);
    } else {
      pending_.erase(c);
    }
  }

  void close(Conn* c) {
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    for (uint64_t cookie : c->cookie) bpf_.remove(cookie);  // closing would too; be explicit
    remove(c->client.get());
    remove(c->backend.get());
    pending_.erase(c);
    graveyard_.push_back(std::move(it->second));  // later events may still name it
    conns_.erase(it);
  }

  void on_event(void* tag, uint32_t events) override {
    auto* c = static_cast<Conn*>(tag);
    if (!conns_.contains(c)) return;  // closed earlier in this batch
    if (events & EPOLLERR) {
      close(c);
    } else {
      progress(c);
    }
  }

  // Pairs waiting for a peer to take an EOF's last bytes are looked at every millisecond.
  int after_batch() override {
    const std::vector<Conn*> again(pending_.begin(), pending_.end());
    for (Conn* c : again) {
      if (conns_.contains(c)) progress(c);
    }
    graveyard_.clear();
    return pending_.empty() ? -1 : 1;
  }

  void on_stop() override {
    conns_.clear();
    pending_.clear();
  }

  SockmapHooks hooks_;
  SockmapBpf bpf_;  // declared before the connections: the maps outlive their sockets
  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;
  std::unordered_set<Conn*> pending_;  // an EOF waiting for the peer to take the last bytes
  std::vector<std::unique_ptr<Conn>> graveyard_;
};

}  // namespace

Result<std::unique_ptr<Relay>> start_sockmap_relay(uint16_t backend_port, SockmapHooks hooks) {
  auto r = std::make_unique<SockmapRelay>(std::move(hooks));
  SEED_TRY(r->start(backend_port));
  return std::unique_ptr<Relay>(std::move(r));
}

}  // namespace seed::bench
