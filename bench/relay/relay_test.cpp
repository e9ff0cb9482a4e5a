// The benchmark relays must be correct forwarders, or their numbers mean nothing: bytes both
// ways intact and in order, more than every buffer on the way (backpressure), half-closes
// passed on in each direction, and a dead backend closing the client instead of hanging.
// The sockmap relay has its own pitfalls (sockmap_relay.cpp), tested after the shared cases.
#include "bench/relay/relay.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/relay/relay_sockets.hpp"
#include "common/fd.hpp"
#include "common/testing/proc_counts.hpp"
#include "net/ingress/testing/backends.hpp"

namespace seed::bench {
namespace {

using namespace std::chrono_literals;
namespace t = seed::net::ingress::testing;

std::string pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed) % 251);
  return s;
}

// Sends `up` and half-closes from a second thread while this one reads everything the relay
// sends back until EOF: both directions at once, so neither side's buffers can stall the other.
struct Exchange {
  std::string got;
  bool eof = false;
};
Exchange send_and_read(int fd, const std::string& up, std::chrono::seconds limit = 30s) {
  std::thread sender([&] {
    t::send_all(fd, up);
    ::shutdown(fd, SHUT_WR);
  });
  Exchange x;
  x.got = t::read_all(fd, limit, &x.eof);
  sender.join();
  return x;
}

// Accepts one connection, reads until the client's FIN, then answers with `reply` prefixed by
// the number of bytes it got, and closes.
class OneShotBackend {
 public:
  explicit OneShotBackend(std::string reply) : reply_(std::move(reply)) {
    auto l = listen_loopback(false, port_);
    if (l) listen_ = std::move(*l);
    thread_ = std::thread([this] {
      UniqueFd c(::accept(listen_.get(), nullptr, nullptr));
      if (!c) return;
      got_ = t::read_all(c.get(), 10s, &saw_eof_);
      t::send_all(c.get(), std::to_string(got_.size()) + "\n" + reply_);
    });
  }
  ~OneShotBackend() {
    ::shutdown(listen_.get(), SHUT_RDWR);  // wakes an accept that never got a connection
    join();
  }
  uint16_t port() const { return port_; }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  const std::string& got() const { return got_; }
  bool saw_eof() const { return saw_eof_; }

 private:
  std::string reply_, got_;
  bool saw_eof_ = false;
  UniqueFd listen_;
  uint16_t port_ = 0;
  std::thread thread_;
};

class RelayTest : public ::testing::TestWithParam<RelayKind> {
 protected:
  void SetUp() override { ::signal(SIGPIPE, SIG_IGN); }
};

TEST_P(RelayTest, MovesLargeStreamsBothWaysAndPassesHalfClosesOn) {
  const std::string up = pattern(3 << 20, 7), down = pattern(5 << 20, 11);
  auto backend = std::make_unique<OneShotBackend>(down);
  auto relay = start_relay(GetParam(), backend->port());
  ASSERT_TRUE(relay) << relay.error().describe();
  UniqueFd c = t::connect_to((*relay)->port());
  ASSERT_TRUE(c);
  // Send everything, then half-close: the backend only answers after it saw our FIN, so the
  // answer proves the FIN went through while the other direction stayed open.
  const auto [got, eof] = send_and_read(c.get(), up);
  EXPECT_TRUE(eof) << "the backend's close did not reach the client";
  ASSERT_EQ(got.size(), std::to_string(up.size()).size() + 1 + down.size());
  EXPECT_EQ(got.substr(0, got.find('\n')), std::to_string(up.size()));
  EXPECT_TRUE(got.substr(got.find('\n') + 1) == down) << "backend → client bytes differ";
  backend->join();  // got() and saw_eof() are final
  EXPECT_TRUE(backend->saw_eof()) << "the client's FIN did not reach the backend";
  EXPECT_EQ((*relay)->connections(), 1u);
}

TEST_P(RelayTest, ClientBytesArriveIntactBeforeTheFin) {
  const std::string up = pattern(1 << 20, 3);
  OneShotBackend backend("ok");
  auto relay = start_relay(GetParam(), backend.port());
  ASSERT_TRUE(relay) << relay.error().describe();
  UniqueFd c = t::connect_to((*relay)->port());
  ASSERT_TRUE(c);
  t::send_all(c.get(), up);
  ::shutdown(c.get(), SHUT_WR);
  bool eof = false;
  EXPECT_EQ(t::read_all(c.get(), 20s, &eof), std::to_string(up.size()) + "\nok");
  EXPECT_TRUE(eof);
  backend.join();
  EXPECT_TRUE(backend.saw_eof());
  EXPECT_TRUE(backend.got() == up) << "client → backend bytes differ";
}

TEST_P(RelayTest, ADeadBackendClosesTheClient) {
  const uint16_t nobody = t::free_port();
  auto relay = start_relay(GetParam(), nobody);
  ASSERT_TRUE(relay) << relay.error().describe();
  UniqueFd c = t::connect_to((*relay)->port());
  ASSERT_TRUE(c);
  bool eof = false;
  EXPECT_EQ(t::read_all(c.get(), 5s, &eof), "");
  EXPECT_TRUE(eof) << "the client was left hanging";
}

TEST_P(RelayTest, StopsWithConnectionsOpen) {
  OneShotBackend backend("never read");
  auto relay = start_relay(GetParam(), backend.port());
  ASSERT_TRUE(relay) << relay.error().describe();
  UniqueFd c = t::connect_to((*relay)->port());
  ASSERT_TRUE(c);
  t::send_all(c.get(), "partial");
  std::this_thread::sleep_for(50ms);
  relay->reset();  // must return (every pending operation woken) and close the client
  bool eof = false;
  t::read_all(c.get(), 5s, &eof);
  EXPECT_TRUE(eof);
}

INSTANTIATE_TEST_SUITE_P(Kinds, RelayTest,
                         ::testing::Values(RelayKind::epoll_splice, RelayKind::uring_splice,
                                           RelayKind::uring_recv_send, RelayKind::sockmap),
                         [](const auto& info) {
                           std::string n(to_string(info.param));
                           for (char& ch : n) if (ch == '-') ch = '_';
                           return n;
                         });


// ---- sockmap ----

// Reads exactly n bytes (or less on EOF/timeout).
std::string read_n(int fd, size_t n, std::chrono::milliseconds timeout) {
  std::string out;
  const auto until = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (out.size() < n) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t got = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
    if (got <= 0) break;
    out.append(buf, static_cast<size_t>(got));
  }
  return out;
}

// A backend that runs `serve` on every accepted connection, each on its own thread.
class ScriptedBackend {
 public:
  explicit ScriptedBackend(std::function<void(int)> serve) : serve_(std::move(serve)) {
    auto l = listen_loopback(false, port_);
    if (l) listen_ = std::move(*l);
    acceptor_ = std::thread([this] {
      while (true) {
        const int c = ::accept(listen_.get(), nullptr, nullptr);
        if (c < 0) return;
        std::lock_guard lock(mu_);
        workers_.emplace_back([this, c] {
          serve_(c);
          ::close(c);
        });
      }
    });
  }
  ~ScriptedBackend() {
    ::shutdown(listen_.get(), SHUT_RDWR);
    acceptor_.join();
    for (auto& w : workers_) w.join();
  }
  uint16_t port() const { return port_; }

 private:
  std::function<void(int)> serve_;
  UniqueFd listen_;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
};

// Which directions the kernel took, per connection, as the relay reported them.
struct Linked {
  std::mutex mu;
  std::vector<std::pair<bool, bool>> pairs;
  SockmapHooks hooks(std::function<void()> before_insert = {}) {
    SockmapHooks h;
    h.before_insert = std::move(before_insert);
    h.on_linked = [this](bool up, bool down) {
      std::lock_guard lock(mu);
      pairs.emplace_back(up, down);
    };
    return h;
  }
  std::vector<std::pair<bool, bool>> get() {
    std::lock_guard lock(mu);
    return pairs;
  }
};

using Pairs = std::vector<std::pair<bool, bool>>;

class SockmapRelayTest : public ::testing::Test {
 protected:
  void SetUp() override { ::signal(SIGPIPE, SIG_IGN); }
};

// Both directions at once, several MiB each, through the kernel path (not the fallback).
TEST_F(SockmapRelayTest, KernelMovesLargeStreamsBothWaysAtOnce) {
  const std::string up = pattern(8 << 20, 5), down = pattern(6 << 20, 9);
  std::string backend_got;
  auto backend = std::make_unique<ScriptedBackend>([&](int c) {
    std::thread writer([&] {
      t::send_all(c, down);
      ::shutdown(c, SHUT_WR);
    });
    backend_got = t::read_all(c, 30s);
    writer.join();
  });
  Linked linked;
  auto relay = start_sockmap_relay(backend->port(), linked.hooks());
  ASSERT_TRUE(relay) << relay.error().describe();
  UniqueFd c = t::connect_to((*relay)->port());
  ASSERT_TRUE(c);
  const auto [got, eof] = send_and_read(c.get(), up);
  EXPECT_TRUE(eof) << "the backend's FIN did not reach the client";
  EXPECT_EQ(got.size(), down.size());
  EXPECT_TRUE(got == down) << "backend → client bytes differ";
  backend.reset();  // joins the connection's thread: backend_got is final
  EXPECT_EQ(backend_got.size(), up.size());
  EXPECT_TRUE(backend_got == up) << "client → backend bytes differ";
  EXPECT_EQ(linked.get(), (Pairs{{true, true}})) << "not the kernel path";
}

// Bytes queued on either socket before the insert, with nothing following them until they
// have arrived: the greeting must reach the client before the backend sends again, the
// request (small enough to be queued whole, so no later segment of it can trigger the verdict)
// must reach the backend before it answers. And the client's later bytes come after them.
TEST_F(SockmapRelayTest, BytesQueuedBeforeTheInsertAreForwardedInOrder) {
  const std::string first = pattern(1000, 1), second = pattern(300 << 10, 2);
  std::string backend_got;
  auto backend = std::make_unique<ScriptedBackend>([&](int c) {
    t::send_all(c, "hello from the backend\n");
    backend_got = read_n(c, first.size(), 10s);
    t::send_all(c, "got the first part\n");
    backend_got += t::read_all(c, 10s);
  });
  Linked linked;
  auto relay = start_sockmap_relay(backend->port(),
                                   linked.hooks([] { std::this_thread::sleep_for(200ms); }));
  ASSERT_TRUE(relay) << relay.error().describe();
  UniqueFd c = t::connect_to((*relay)->port());
  ASSERT_TRUE(c);
  t::send_all(c.get(), first);  // queued on the relay's client socket during the sleep
  EXPECT_EQ(read_n(c.get(), 23, 5s), "hello from the backend\n") << "the greeting is stuck";
  EXPECT_EQ(read_n(c.get(), 19, 5s), "got the first part\n") << "the request is stuck";
  t::send_all(c.get(), second);
  ::shutdown(c.get(), SHUT_WR);
  bool eof = false;
  EXPECT_EQ(t::read_all(c.get(), 10s, &eof), "");
  EXPECT_TRUE(eof);
  backend.reset();
  EXPECT_TRUE(backend_got == first + second) << "bytes lost or reordered";
  EXPECT_EQ(linked.get(), (Pairs{{true, true}})) << "not the kernel path";
}

// A FIN before the insert (a short request and an immediate half-close) makes the socket
// ineligible: the pair falls back to user space and still gets every byte and both FINs.
TEST_F(SockmapRelayTest, AFinBeforeTheInsertFallsBackToSplice) {
  for (const bool client_first : {true, false}) {
    SCOPED_TRACE(client_first ? "the client half-closes first" : "the backend closes first");
    std::string backend_got;
    auto backend = std::make_unique<ScriptedBackend>([&](int c) {
      if (!client_first) {
        t::send_all(c, "banner");
        ::shutdown(c, SHUT_WR);
      }
      backend_got = t::read_all(c, 10s);
      if (client_first) t::send_all(c, "answer");
    });
    Linked linked;
    auto relay = start_sockmap_relay(backend->port(),
                                     linked.hooks([] { std::this_thread::sleep_for(200ms); }));
    ASSERT_TRUE(relay) << relay.error().describe();
    UniqueFd c = t::connect_to((*relay)->port());
    ASSERT_TRUE(c);
    if (client_first) {
      t::send_all(c.get(), "request");
      ::shutdown(c.get(), SHUT_WR);
    }
    bool eof = false;
    EXPECT_EQ(t::read_all(c.get(), 5s, &eof), client_first ? "answer" : "banner");
    EXPECT_TRUE(eof);
    if (!client_first) {
      t::send_all(c.get(), "late words");
      ::shutdown(c.get(), SHUT_WR);
    }
    backend.reset();
    EXPECT_EQ(backend_got, client_first ? "request" : "late words");
    EXPECT_EQ(linked.get(), (Pairs{{false, false}})) << "a closing socket went into the map";
  }
}

// The backend ends its side first while the client keeps sending, through the kernel path.
TEST_F(SockmapRelayTest, TheBackendHalfClosesFirst) {
  const std::string down = pattern(2 << 20, 4), up = pattern(3 << 20, 6);
  std::string backend_got;
  auto backend = std::make_unique<ScriptedBackend>([&](int c) {
    backend_got = read_n(c, 2, 5s);  // "go": the pair is linked by now
    t::send_all(c, down);
    ::shutdown(c, SHUT_WR);
    backend_got += t::read_all(c, 20s);
  });
  Linked linked;
  auto relay = start_sockmap_relay(backend->port(), linked.hooks());
  ASSERT_TRUE(relay) << relay.error().describe();
  UniqueFd c = t::connect_to((*relay)->port());
  ASSERT_TRUE(c);
  t::send_all(c.get(), "go");
  bool eof = false;
  const std::string got = t::read_all(c.get(), 20s, &eof);
  EXPECT_TRUE(eof) << "the backend's FIN did not come through";
  EXPECT_TRUE(got == down) << "backend → client bytes differ (" << got.size() << " bytes)";
  t::send_all(c.get(), up);  // after the other direction ended
  ::shutdown(c.get(), SHUT_WR);
  EXPECT_EQ(t::read_all(c.get(), 1s), "");
  backend.reset();
  EXPECT_TRUE(backend_got == "go" + up) << "client → backend bytes differ";
  EXPECT_EQ(linked.get(), (Pairs{{true, true}})) << "not the kernel path";
}

// Many connections at once, each echoing its own pattern: nothing crosses between pairs.
TEST_F(SockmapRelayTest, ManyConcurrentConnectionsStayApart) {
  auto backend = std::make_unique<ScriptedBackend>([](int c) {
    char buf[65536];
    while (true) {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      t::send_all(c, std::string_view(buf, static_cast<size_t>(n)));
    }
  });
  Linked linked;
  auto relay = start_sockmap_relay(backend->port(), linked.hooks());
  ASSERT_TRUE(relay) << relay.error().describe();
  constexpr int kClients = 200;
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      const std::string mine = pattern(256 << 10, static_cast<unsigned>(i));
      UniqueFd c = t::connect_to((*relay)->port());
      if (!c) return;
      t::send_all(c.get(), "x");  // the echo proves the pair is linked before the bulk
      if (read_n(c.get(), 1, 10s) != "x") return;
      std::thread writer([&] {
        t::send_all(c.get(), mine);
        ::shutdown(c.get(), SHUT_WR);
      });
      bool eof = false;
      const std::string got = t::read_all(c.get(), 30s, &eof);
      writer.join();
      if (eof && got == mine) ++good;
    });
  }
  for (auto& th : clients) th.join();
  EXPECT_EQ(good.load(), kClients);
  EXPECT_EQ((*relay)->connections(), static_cast<uint64_t>(kClients));
  const Pairs pairs = linked.get();
  EXPECT_EQ(std::count(pairs.begin(), pairs.end(), std::pair(true, true)), kClients);
}

using seed::testing::open_fds;

// Whether a BPF object with this id still exists (the kernel frees them asynchronously).
bool bpf_object_exists(uint32_t id, bool prog) {
  bpf_attr a{};
  if (prog) {
    a.prog_id = id;
  } else {
    a.map_id = id;
  }
  const int fd = static_cast<int>(::syscall(__NR_bpf, prog ? BPF_PROG_GET_FD_BY_ID
                                                            : BPF_MAP_GET_FD_BY_ID, &a, sizeof a));
  if (fd >= 0) ::close(fd);
  return fd >= 0 || errno != ENOENT;
}

TEST_F(SockmapRelayTest, TheDestructorLeavesNoFdAndNoBpfObject) {
  auto backend = std::make_unique<ScriptedBackend>([](int c) { t::read_all(c, 10s); });
  const size_t fds_before = open_fds();
  BpfIds ids;
  SockmapHooks hooks;
  hooks.on_loaded = [&](const BpfIds& i) { ids = i; };
  auto relay = start_sockmap_relay(backend->port(), std::move(hooks));
  ASSERT_TRUE(relay) << relay.error().describe();
  ASSERT_NE(ids.prog, 0u);
  ASSERT_NE(ids.peer_map, 0u);
  ASSERT_NE(ids.verdict_map, 0u);
  EXPECT_TRUE(bpf_object_exists(ids.prog, true));
  EXPECT_TRUE(bpf_object_exists(ids.verdict_map, false));
  {
    UniqueFd done = t::connect_to((*relay)->port());  // one finished connection, one open
    t::send_all(done.get(), "bye");
    ::shutdown(done.get(), SHUT_WR);
    UniqueFd open = t::connect_to((*relay)->port());
    t::send_all(open.get(), "still here");
    std::this_thread::sleep_for(100ms);
    EXPECT_GT(open_fds(), fds_before + 2);
    relay->reset();
  }
  // The backend's handler threads close their ends once they see the relay's close, a moment
  // later: wait for the count to come down rather than sample it once.
  EXPECT_TRUE(seed::testing::eventually([&] { return open_fds() == fds_before; }))
      << open_fds() << " fds, " << fds_before << " before";
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until &&
         (bpf_object_exists(ids.prog, true) || bpf_object_exists(ids.peer_map, false) ||
          bpf_object_exists(ids.verdict_map, false))) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_FALSE(bpf_object_exists(ids.prog, true)) << "program " << ids.prog << " outlived it";
  EXPECT_FALSE(bpf_object_exists(ids.peer_map, false)) << "map " << ids.peer_map;
  EXPECT_FALSE(bpf_object_exists(ids.verdict_map, false)) << "map " << ids.verdict_map;
}

// The death-test child: drops every capability, then tries; the exit code says what happened.
[[noreturn]] void start_without_capabilities() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct none[2] = {};
  if (::syscall(SYS_capset, &hdr, none) != 0) std::_Exit(3);
  auto r = start_relay(RelayKind::sockmap, 1);
  if (r) std::_Exit(1);
  std::fprintf(stderr, "%s\n", r.error().describe().c_str());
  std::_Exit(0);
}

// Without the capabilities BPF needs, start_relay says so instead of relaying badly.
TEST_F(SockmapRelayTest, WithoutBpfPrivilegesStartFailsClearly) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(start_without_capabilities(), ::testing::ExitedWithCode(0),
              "BPF sockmap unavailable.*Operation not permitted");
}

}  // namespace
}  // namespace seed::bench
