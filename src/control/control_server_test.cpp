// The control server over a real Unix socket with hand-written requests: limits, bad input,
// permissions, hang-up detection and a clean stop.
#include "control/control_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>

#include <gtest/gtest.h>

#include "common/testing/temp_dir.hpp"
#include "control/control_protocol.hpp"
#include "control/testing/recording_service.hpp"
#include "control/testing/socket_client.hpp"

namespace seed::control {
namespace {

using testing::eventually;
using testing::SocketClient;

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.socket_path = dir_.path() + "/run/control.sock";
    config_.request_timeout = std::chrono::milliseconds(2000);
  }
  void start() {
    auto st = server_.start(config_, service_);
    ASSERT_TRUE(st.ok()) << st.error().describe();
  }
  // One request → the decoded last line.
  ResponseLine ask(const std::string& raw) {
    SocketClient c(config_.socket_path);
    EXPECT_TRUE(c.connected());
    c.send(raw);
    auto l = c.line();
    EXPECT_TRUE(l.has_value()) << "no answer to " << raw;
    auto r = decode_response(l.value_or(""));
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(c.closed_by_server()) << "one request per connection";
    return r.ok() ? *r : ResponseLine{};
  }
  // One planted source, github:a/app, with one instance, web (namespace aaaa).
  void plant_web() {
    reconcile::SourceView s;
    s.record.canonical = "github:a/app";
    s.record.ns = "aaaa";
    s.instances.emplace_back();
    s.instances.back().id = {"aaaa", "web"};
    s.instances.back().source = "github:a/app";
    service_.sources = {s};
  }
  void expect_still_serving() {
    auto r = ask(encode_request({.command = Command::status}) + "\n");
    EXPECT_EQ(r.kind, LineKind::result);
    EXPECT_EQ(r.body["schema"], 1);
  }

  seed::testing::TempDir dir_;
  ControlConfig config_;
  testing::RecordingService service_;
  ControlServer server_;
};

TEST_F(ControlServerTest, BadRequestsGetOneClearErrorAndTheServerKeepsServing) {
  config_.max_request_bytes = 1024;
  start();
  struct Case {
    std::string raw;
    Errc code;
    const char* says;
  };
  for (const auto& c : std::vector<Case>{
           {"garbage\n", Errc::invalid_argument, "not JSON"},
           {R"({"command": "format_disk"})" "\n", Errc::invalid_argument, "unknown command"},
           {R"({"command": "logs"})" "\n", Errc::invalid_argument, "\"instance\""},
           {std::string(2000, 'x'), Errc::invalid_argument, "longer than 1024 bytes"},
           {std::string(2000, ' ') + "\n", Errc::invalid_argument, "longer than 1024 bytes"},
       }) {
    auto r = ask(c.raw);
    ASSERT_EQ(r.kind, LineKind::error) << c.raw.substr(0, 40);
    EXPECT_EQ(r.error.code, c.code);
    EXPECT_EQ(r.error.get("stage"), "request");
    EXPECT_NE(r.error.message.find(c.says), std::string::npos) << r.error.message;
    expect_still_serving();
  }
  for (const auto& call : service_.calls()) EXPECT_EQ(call, "status *");
}

TEST_F(ControlServerTest, SilentClientTimesOut) {
  config_.request_timeout = std::chrono::milliseconds(200);
  start();
  SocketClient c(config_.socket_path);
  auto l = c.line();
  ASSERT_TRUE(l.has_value());
  auto r = decode_response(*l);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->error.code, Errc::timeout);
  EXPECT_NE(r->error.message.find("no request line within 200 ms"), std::string::npos);
  expect_still_serving();
}

TEST_F(ControlServerTest, TooManyClientsAreToldSoAndLaterServed) {
  config_.max_clients = 2;
  start();
  SocketClient a(config_.socket_path), b(config_.socket_path);
  ASSERT_TRUE(eventually([&] { return server_.active_clients() == 2; }));
  SocketClient third(config_.socket_path);
  auto l = third.line();
  ASSERT_TRUE(l.has_value());
  auto r = decode_response(*l);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, LineKind::error);
  EXPECT_EQ(r->error.code, Errc::unavailable);
  EXPECT_NE(r->error.message.find("already serving 2 control clients"), std::string::npos) << r->error.message;
  EXPECT_TRUE(third.closed_by_server());
  a.close();
  b.close();
  ASSERT_TRUE(eventually([&] { return server_.active_clients() == 0; }));
  expect_still_serving();
}

TEST_F(ControlServerTest, SocketIsPrivate) {
  start();
  struct stat sock {}, dir {};
  ASSERT_EQ(::stat(config_.socket_path.c_str(), &sock), 0);
  ASSERT_EQ(::stat((dir_.path() + "/run").c_str(), &dir), 0);
  EXPECT_TRUE(S_ISSOCK(sock.st_mode));
  EXPECT_EQ(sock.st_mode & 07777, 0600u);
  EXPECT_EQ(dir.st_mode & 07777, 0700u);
  EXPECT_EQ(sock.st_uid, ::geteuid());
  server_.stop();
  EXPECT_NE(::access(config_.socket_path.c_str(), F_OK), 0) << "stop() leaves the socket file";
}

TEST_F(ControlServerTest, OpenParentDirectoryIsTightenedAndSharedOnesRefused) {
  std::string run = dir_.path() + "/run";
  ASSERT_EQ(::mkdir(run.c_str(), 0755), 0);
  start();
  struct stat st {};
  ASSERT_EQ(::stat(run.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  server_.stop();

  std::string shared = dir_.path() + "/shared";
  ASSERT_EQ(::mkdir(shared.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);
  ControlServer other;
  auto refused = other.start({.socket_path = shared + "/control.sock"}, service_);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("shared sticky directory"), std::string::npos);
  EXPECT_EQ(refused.error().get("stage"), "control");
}

TEST_F(ControlServerTest, StaleSocketIsReplacedLiveOneIsNot) {
  ASSERT_EQ(::mkdir((dir_.path() + "/run").c_str(), 0700), 0);
  {  // a socket file nobody listens on: what a killed seedd leaves
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, config_.socket_path.c_str());
    ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  start();
  expect_still_serving();
  ControlServer second;
  auto st = second.start(config_, service_);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::in_use);
  expect_still_serving();  // the live server kept its socket
}

TEST_F(ControlServerTest, FollowerThatHangsUpIsNoticed) {
  start();
  SocketClient c(config_.socket_path);
  c.send(encode_request({.command = Command::logs, .instance = "web", .follow = true}) + "\n");
  // Nothing is planted: the resolver answers, no follow starts.
  auto r = decode_response(c.line().value_or(""));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->error.code, Errc::not_found);

  plant_web();
  SocketClient f(config_.socket_path);
  f.send(encode_request({.command = Command::logs, .instance = "web", .follow = true}) + "\n");
  ASSERT_TRUE(eventually([&] { return service_.following(); }));
  service_.feed("hello\n");
  auto data = decode_response(f.line().value_or(""));
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->kind, LineKind::data);
  EXPECT_EQ(data->body, "hello\n");
  f.close();
  EXPECT_TRUE(eventually([&] { return service_.follow_ended_by_cancel(); }));
  EXPECT_TRUE(eventually([&] { return server_.active_clients() == 0; }));
}

TEST_F(ControlServerTest, StopEndsFollowersAndLeavesNoFdOrThread) {
  size_t fds_before = testing::count_entries("/proc/self/fd");
  size_t tasks_before = testing::count_entries("/proc/self/task");
  plant_web();
  {
    start();
    expect_still_serving();
    SocketClient idle(config_.socket_path);  // connected, never sends
    SocketClient f(config_.socket_path);
    f.send(encode_request({.command = Command::logs, .instance = "web", .follow = true}) + "\n");
    ASSERT_TRUE(eventually([&] { return service_.following(); }));
    EXPECT_EQ(server_.active_clients(), 2u);
    server_.stop();  // must not wait for the follower's client to leave
    EXPECT_TRUE(service_.follow_ended_by_cancel());
    auto last = decode_response(f.line().value_or(""));
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(last->kind, LineKind::result);
    EXPECT_EQ(idle.line()->find("shutting down") != std::string::npos, true);
  }
  EXPECT_EQ(testing::count_entries("/proc/self/fd"), fds_before);
  // A joined thread's /proc entry can outlive pthread_join by a moment (the kernel clears the
  // joiner's tid before it reaps the task), so the count is awaited, not sampled once.
  EXPECT_TRUE(eventually([&] { return testing::count_entries("/proc/self/task") == tasks_before; }))
      << testing::count_entries("/proc/self/task") << " tasks, " << tasks_before << " before";
  server_.stop();  // idempotent
  // And it can start again on the same path.
  start();
  expect_still_serving();
}

}  // namespace
}  // namespace seed::control
