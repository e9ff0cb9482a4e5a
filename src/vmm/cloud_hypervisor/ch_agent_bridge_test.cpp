#include "vmm/cloud_hypervisor/ch_agent_bridge.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "common/unix_socket.hpp"
#include "vmm/cloud_hypervisor/testing/ch_test_util.hpp"

namespace seed::vmm::ch {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

std::string read_for(int fd, size_t want, std::chrono::milliseconds limit = 1000ms) {
  std::string out;
  char buf[256];
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (out.size() < want && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class ChAgentBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int slave = -1;
    char name[128] = {};
    ASSERT_EQ(::openpty(&master_, &slave, name, nullptr, nullptr), 0);
    ::close(slave);
    pty_ = name;
  }
  void TearDown() override {
    if (master_ >= 0) ::close(master_);
  }
  std::string socket() const { return tmp_.path() + "/agent.sock"; }
  UniqueFd client() {
    auto c = connect_unix(socket(), 1000ms);
    EXPECT_TRUE(c) << (c ? "" : c.error().describe());
    return c ? std::move(*c) : UniqueFd();
  }
  TempDir tmp_;
  int master_ = -1;
  std::string pty_;
};

TEST_F(ChAgentBridgeTest, RelaysBothWaysWithoutEchoOrNewlineRewriting) {
  auto bridge = ChAgentBridge::start(pty_, socket());
  ASSERT_TRUE(bridge) << bridge.error().describe();
  auto c = client();
  const std::string request = "{\"op\":\"health\"}\n";
  ASSERT_EQ(::write(c.get(), request.data(), request.size()), static_cast<ssize_t>(request.size()));
  EXPECT_EQ(read_for(master_, request.size()), request);
  const std::string reply = "{\"ok\":true}\n";
  ASSERT_EQ(::write(master_, reply.data(), reply.size()), static_cast<ssize_t>(reply.size()));
  EXPECT_EQ(read_for(c.get(), reply.size()), reply);
  // Raw mode: nothing the client sent comes back to it.
  EXPECT_EQ(read_for(c.get(), 1, 200ms), "");
}

// Re-enabled after over 300 repetitions without a failure (normal and ASan builds, four copies at
// once on a loaded 2-core machine); the earlier intermittent EOF on the accepted client was
// not reproducible after the fd hand-over fixes in common/process. If it ever fails again,
// the message says how much arrived.
TEST_F(ChAgentBridgeTest, GuestOutputWithoutClientIsDropped) {
  auto bridge = ChAgentBridge::start(pty_, socket());
  ASSERT_TRUE(bridge);
  // Far more than a pty buffers: the guest must never block on an absent client.
  std::string big(256 * 1024, 'x');
  size_t written = 0;
  while (written < big.size()) {
    pollfd p{master_, POLLOUT, 0};
    ASSERT_GT(::poll(&p, 1, 2000), 0) << "guest side blocked after " << written << " bytes";
    ssize_t n = ::write(master_, big.data() + written, std::min<size_t>(4096, big.size() - written));
    ASSERT_GT(n, 0);
    written += static_cast<size_t>(n);
  }
  std::this_thread::sleep_for(100ms);
  auto c = client();
  ASSERT_EQ(::write(master_, "after\n", 6), 6);
  // Older output may still be in flight in the tty buffers; the newest line arrives.
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (got.find("after\n") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    got += read_for(c.get(), 1, 100ms);
  }
  EXPECT_NE(got.find("after\n"), std::string::npos) << got.size() << " bytes received";
}

// The test plays Cloud Hypervisor on the pty's other end. CH's console keeps a bounded buffer
// for a pty that takes nothing and drops past it (QEMU's virtconsole drops at once); what this
// cannot catch is a real VMM's timing, which the windowed exec over a real QEMU console covers
// (ShootCloneTest.ACommandRunsOverTheAgentConsoleAsOnCloudHypervisor).
std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  return s;
}

// Writes all of `bytes` to the pty's VMM end; a wait of over 2 s counts as the guest blocked.
::testing::AssertionResult vmm_writes(int master, const std::string& bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    pollfd p{master, POLLOUT, 0};
    if (::poll(&p, 1, 2000) <= 0) return ::testing::AssertionFailure() << "guest side blocked after " << written << " bytes";
    ssize_t n = ::write(master, bytes.data() + written, std::min<size_t>(4096, bytes.size() - written));
    if (n <= 0) return ::testing::AssertionFailure() << "write failed after " << written << " bytes";
    written += static_cast<size_t>(n);
  }
  return ::testing::AssertionSuccess();
}

TEST_F(ChAgentBridgeTest, GuestOutputWaitsInTheBridgeForASlowClientAndArrivesWhole) {
  auto bridge = ChAgentBridge::start(pty_, socket());
  ASSERT_TRUE(bridge);
  auto c = client();
  std::this_thread::sleep_for(100ms);
  // Far more than the pty holds, while the client reads nothing: the bridge must keep the pty
  // drained (a console drops what its pty cannot take) and keep the bytes for the client.
  const std::string out = pattern(512 * 1024);
  ASSERT_TRUE(vmm_writes(master_, out));
  std::this_thread::sleep_for(500ms);
  std::string got = read_for(c.get(), out.size(), 10s);
  ASSERT_EQ(got.size(), out.size());
  EXPECT_TRUE(got == out) << "the bytes differ";
}

TEST_F(ChAgentBridgeTest, GuestOutputFlowsWhileItsInputWaits) {
  auto bridge = ChAgentBridge::start(pty_, socket());
  ASSERT_TRUE(bridge);
  auto c = client();
  // The client sends far more than the guest reads for now (its console input is full)...
  const std::string in = pattern(1024 * 1024);
  std::thread sender([&] {
    size_t sent = 0;
    while (sent < in.size()) {
      ssize_t n = ::send(c.get(), in.data() + sent, in.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  });
  std::this_thread::sleep_for(300ms);
  // ...and what the guest says meanwhile still reaches it.
  EXPECT_EQ(::write(master_, "progress\n", 9), 9);  // not ASSERT: the sender must be joined
  EXPECT_EQ(read_for(c.get(), 9, 2s), "progress\n");
  // Then the guest reads: every byte of the input, in order.
  std::string got = read_for(master_, in.size(), 20s);
  sender.join();
  ASSERT_EQ(got.size(), in.size());
  EXPECT_TRUE(got == in) << "the bytes differ";
}

TEST_F(ChAgentBridgeTest, EveryByteValueCrossesBothWaysUnchanged) {
  auto bridge = ChAgentBridge::start(pty_, socket());
  ASSERT_TRUE(bridge);
  auto c = client();
  std::string all;
  for (int round = 0; round < 4; ++round)
    for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  ASSERT_EQ(::send(c.get(), all.data(), all.size(), MSG_NOSIGNAL), static_cast<ssize_t>(all.size()));
  EXPECT_TRUE(read_for(master_, all.size(), 2s) == all) << "client to guest altered";
  ASSERT_TRUE(vmm_writes(master_, all));
  EXPECT_TRUE(read_for(c.get(), all.size(), 2s) == all) << "guest to client altered";
}

TEST_F(ChAgentBridgeTest, NewestClientWins) {
  auto bridge = ChAgentBridge::start(pty_, socket());
  ASSERT_TRUE(bridge);
  auto first = client();
  ASSERT_EQ(::write(first.get(), "a", 1), 1);
  EXPECT_EQ(read_for(master_, 1), "a");
  auto second = client();
  std::this_thread::sleep_for(100ms);
  ASSERT_EQ(::write(master_, "b", 1), 1);
  EXPECT_EQ(read_for(second.get(), 1), "b");
  EXPECT_EQ(read_for(first.get(), 1, 200ms), "");
}

TEST_F(ChAgentBridgeTest, StopsWhenTheVmmClosesThePtyAndRemovesItsSocket) {
  auto bridge = ChAgentBridge::start(pty_, socket());
  ASSERT_TRUE(bridge);
  EXPECT_TRUE((*bridge)->active());
  ::close(master_);
  master_ = -1;
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while ((*bridge)->active() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE((*bridge)->active());
  bridge->reset();
  struct stat st {};
  EXPECT_NE(::lstat(socket().c_str(), &st), 0);
}

TEST_F(ChAgentBridgeTest, MissingPtyIsAClearError) {
  auto bridge = ChAgentBridge::start("/dev/pts/99999", socket());
  ASSERT_FALSE(bridge);
  EXPECT_NE(bridge.error().message.find("/dev/pts/99999"), std::string::npos);
  struct stat st {};
  EXPECT_NE(::lstat(socket().c_str(), &st), 0);
}

}  // namespace
}  // namespace seed::vmm::ch
