// The benchmark relays must be correct forwarders, or their numbers mean nothing: bytes both
// ways intact and in order, more than every buffer on the way (backpressure), half-closes
// passed on in each direction, and a dead backend closing the client instead of hanging.
#include "bench/relay/relay.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <thread>

#include "bench/relay/relay_sockets.hpp"
#include "common/fd.hpp"
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
  std::thread sender([&] {
    t::send_all(c.get(), up);
    ::shutdown(c.get(), SHUT_WR);
  });
  bool eof = false;
  const std::string got = t::read_all(c.get(), 30s, &eof);
  sender.join();
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
                                           RelayKind::uring_recv_send),
                         [](const auto& info) {
                           std::string n(to_string(info.param));
                           for (char& ch : n) if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace seed::bench
