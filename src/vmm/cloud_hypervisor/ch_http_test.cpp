// The HTTP client against peers that fail the way a dying or hung VMM does, on real sockets.
#include "vmm/cloud_hypervisor/ch_http.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "common/unix_socket.hpp"
#include "vmm/cloud_hypervisor/testing/ch_raw_server.hpp"
#include "vmm/cloud_hypervisor/testing/ch_replay_server.hpp"
#include "vmm/cloud_hypervisor/testing/ch_test_util.hpp"

namespace seed::vmm::ch {
namespace {

using namespace std::chrono_literals;
using testing::RawBehaviour;
using testing::RawServer;
using testing::TempDir;

class ChHttpTest : public ::testing::Test {
 protected:
  std::string socket() const { return tmp_.path() + "/api.sock"; }
  ChHttpClient client(std::chrono::milliseconds total = 3000ms) const {
    return ChHttpClient(socket(), HttpTimeouts{1000ms, total});
  }
  // Every failure names the socket and the endpoint, in the message and the context.
  void expect_named(const Error& err, const std::string& endpoint) {
    EXPECT_NE(err.message.find(socket()), std::string::npos) << err.describe();
    EXPECT_NE(err.message.find(endpoint), std::string::npos) << err.describe();
    EXPECT_EQ(err.get("socket"), socket());
    EXPECT_EQ(err.get("endpoint"), endpoint);
  }
  TempDir tmp_;
};

TEST_F(ChHttpTest, NoSocketAtAllIsUnavailable) {
  auto r = client().request(HttpMethod::get, "vmm.ping");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("does not exist"), std::string::npos) << r.error().message;
  expect_named(r.error(), "vmm.ping");
}

TEST_F(ChHttpTest, SocketWithNobodyListeningIsUnavailable) {
  {
    auto listener = listen_unix(socket());  // the file stays when the fd closes
    ASSERT_TRUE(listener);
  }
  auto r = client().request(HttpMethod::get, "vm.info");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("nobody is listening"), std::string::npos) << r.error().message;
  expect_named(r.error(), "vm.info");
}

TEST_F(ChHttpTest, ClosedWithoutAnswerIsUnavailable) {
  RawServer server(socket(), RawBehaviour::close_without_answer);
  auto r = client().request(HttpMethod::put, "vm.boot");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  expect_named(r.error(), "vm.boot");
  EXPECT_EQ(server.requests_seen(), 1);
}

TEST_F(ChHttpTest, VmmProcessDyingMidCallIsUnavailable) {
  auto listener = listen_unix(socket());
  ASSERT_TRUE(listener);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The "VMM": takes the request, then dies without answering.
    int conn = ::accept(listener->get(), nullptr, nullptr);
    char buf[1024];
    ssize_t ignored = ::read(conn, buf, sizeof buf);
    (void)ignored;
    ::_exit(1);
  }
  listener->reset();  // only the child holds the socket, as CH does after launch
  auto r = client().request(HttpMethod::put, "vm.pause");
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable) << r.error().describe();
  expect_named(r.error(), "vm.pause");
}

TEST_F(ChHttpTest, ConnectionClosedMidResponseIsATruncatedProtocolError) {
  RawServer server(socket(), RawBehaviour::truncated_body);
  auto r = client().request(HttpMethod::get, "vm.info");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::protocol);
  EXPECT_NE(r.error().message.find("truncated"), std::string::npos) << r.error().message;
  expect_named(r.error(), "vm.info");
}

TEST_F(ChHttpTest, SilentPeerTimesOutWithinTheDeadline) {
  RawServer server(socket(), RawBehaviour::never_answer);
  auto start = std::chrono::steady_clock::now();
  auto r = client(300ms).request(HttpMethod::get, "vm.info");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::timeout);
  EXPECT_NE(r.error().message.find("300 ms"), std::string::npos) << r.error().message;
  expect_named(r.error(), "vm.info");
  EXPECT_LT(took, 3s);
}

TEST_F(ChHttpTest, PerCallDeadlineOverridesTheDefault) {
  RawServer server(socket(), RawBehaviour::never_answer);
  auto start = std::chrono::steady_clock::now();
  auto r = client(60000ms).request(HttpMethod::put, "vm.boot", std::nullopt, 200ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(ChHttpTest, SomethingThatIsNotHttpIsAProtocolError) {
  RawServer server(socket(), RawBehaviour::garbage);
  auto r = client().request(HttpMethod::get, "vmm.ping");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::protocol) << r.error().describe();
  expect_named(r.error(), "vmm.ping");
}

TEST_F(ChHttpTest, OverlongSocketPathIsRefusedUpFront) {
  ChHttpClient c(std::string(200, 'x'));
  auto r = c.request(HttpMethod::get, "vmm.ping");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
}

TEST_F(ChHttpTest, SendsMethodPathAndBodyAsRecordedAndReturnsStatusAndBody) {
  testing::ReplayServer server(
      socket(), {{"put with body", "PUT", "/api/v1/vm.snapshot",
                  nlohmann::json{{"destination_url", "file:///x"}}, 204, {}, ""},
                 {"put without body", "PUT", "/api/v1/vm.boot", std::nullopt, 204, {}, ""},
                 {"get", "GET", "/api/v1/vm.counters", std::nullopt, 200,
                  {{"Content-Type", "application/json"}}, R"({"_net2":{"rx_bytes":1}})"}});
  auto c = client();
  auto r = c.request(HttpMethod::put, "vm.snapshot", std::string(R"({"destination_url":"file:///x"})"));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->status, 204);
  r = c.request(HttpMethod::put, "vm.boot");
  ASSERT_TRUE(r) << r.error().describe();
  r = c.request(HttpMethod::get, "vm.counters");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"_net2":{"rx_bytes":1}})");
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_TRUE(server.mismatches().empty());
  EXPECT_TRUE(server.pending().empty());
}

}  // namespace
}  // namespace seed::vmm::ch
