#include "common/testing/temp_dir.hpp"
#include "vmm/qemu/qmp_client.hpp"

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/process.hpp"
#include "common/unix_socket.hpp"

namespace seed::vmm::qemu {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using namespace std::chrono_literals;

class Qmp : public ::testing::Test {
 protected:
  seed::testing::TempDir tmp_;
  const std::string dir_ = tmp_.path();
};

// A QMP peer in a thread: accepts one connection and runs `script` on it, then holds the
// connection open until destroyed (so the client sees silence, not end-of-file).
class FakeServer {
 public:
  FakeServer(const std::string& path, std::function<void(int)> script) {
    auto fd = listen_unix(path);
    EXPECT_TRUE(fd.ok());
    if (fd.ok()) listener_ = std::move(fd).value();
    thread_ = std::thread([this, script = std::move(script)] {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 10000) != 1) return;
      UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn) return;
      script(conn.get());
      while (!stop_) std::this_thread::sleep_for(5ms);
    });
  }
  ~FakeServer() {
    stop_ = true;
    thread_.join();
  }

 private:
  UniqueFd listener_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void send_line(int fd, const std::string& line) {
  std::string data = line + "\n";
  ASSERT_EQ(::send(fd, data.data(), data.size(), MSG_NOSIGNAL), static_cast<ssize_t>(data.size()));
}

// One command line from the client (up to 5 s).
json receive_command(int fd) {
  std::string line;
  char c;
  while (line.find('\n') == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1 || ::recv(fd, &c, 1, 0) != 1) return json();
    line += c;
  }
  return json::parse(line);
}

const char* greeting =
    R"({"QMP": {"version": {"qemu": {"micro": 3, "minor": 2, "major": 8}, "package": ""}, "capabilities": []}})";

// Greets and acknowledges the capabilities handshake.
void handshake(int fd) {
  send_line(fd, greeting);
  EXPECT_EQ(receive_command(fd).value("execute", ""), "qmp_capabilities");
  send_line(fd, R"({"return": {}})");
}

TEST_F(Qmp, RealQemu) {
  std::string sock = dir_ + "/qmp.sock";
  SpawnOptions opts;
  opts.argv = {"qemu-system-x86_64", "-M", "none", "-nodefaults", "-display", "none", "-S",
               "-qmp", "unix:" + sock + ",server=on,wait=off"};
  opts.stderr_mode = Output::file;
  opts.stderr_file = dir_ + "/qemu.err";
  auto qemu = spawn(opts);
  ASSERT_TRUE(qemu.ok()) << qemu.error().describe();

  auto client = QmpClient::connect(sock, 20s);
  ASSERT_TRUE(client.ok()) << client.error().describe() << "\n" << read_file(dir_ + "/qemu.err").value();
  EXPECT_GE(client->version().major, 7) << client->version().text();

  auto status = client->execute("query-status");
  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_EQ(status->value("status", ""), "prelaunch");
  EXPECT_EQ(status->value("running", true), false);

  auto unknown = client->execute("seed-no-such-command");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::protocol);
  EXPECT_EQ(unknown.error().get("qmp_class"), "CommandNotFound");
  EXPECT_THAT(unknown.error().message, HasSubstr("seed-no-such-command"));

  auto bad_args = client->execute("query-status", json{{"bogus", 1}});
  ASSERT_FALSE(bad_args.ok());
  EXPECT_EQ(bad_args.error().get("qmp_class"), "GenericError");

  auto quit = client->execute("quit");
  ASSERT_TRUE(quit.ok()) << quit.error().describe();
  auto exited = qemu->wait(20s);
  ASSERT_TRUE(exited.ok());
  EXPECT_TRUE(exited->success()) << exited->describe();

  auto after = client->execute("query-status", nullptr, 5s);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, Errc::unavailable) << after.error().describe();
  EXPECT_EQ(after.error().get("socket"), sock);
}

TEST_F(Qmp, NobodyListening) {
  std::string sock = dir_ + "/absent.sock";
  auto client = QmpClient::connect(sock, 200ms);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code, Errc::not_found);
  EXPECT_THAT(client.error().message, HasSubstr("cannot connect to " + sock));

  std::string stale = dir_ + "/stale.sock";
  { ASSERT_TRUE(listen_unix(stale).ok()); }
  auto refused = QmpClient::connect(stale, 200ms);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::unavailable);
  EXPECT_THAT(refused.error().describe(), HasSubstr(stale));
}

TEST_F(Qmp, FakeServerHappyPathWithEvents) {
  std::string sock = dir_ + "/fake.sock";
  FakeServer server(sock, [](int fd) {
    handshake(fd);
    json cmd = receive_command(fd);
    EXPECT_EQ(cmd.value("execute", ""), "human-monitor-command");
    EXPECT_EQ(cmd["arguments"]["command-line"], "info version");
    send_line(fd, R"({"event": "RESUME", "timestamp": {"seconds": 1, "microseconds": 2}})");
    send_line(fd, "");
    // A reply split across two writes.
    std::string reply = R"({"return": "8.2.3\r\n"})";
    std::string first = reply.substr(0, 7);
    ASSERT_EQ(::send(fd, first.data(), first.size(), MSG_NOSIGNAL), 7);
    std::this_thread::sleep_for(20ms);
    send_line(fd, reply.substr(7));
  });
  auto client = QmpClient::connect(sock, 5s);
  ASSERT_TRUE(client.ok()) << client.error().describe();
  EXPECT_EQ(client->version().text(), "8.2.3");
  auto r = client->execute("human-monitor-command", json{{"command-line", "info version"}}, 5s);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(*r, "8.2.3\r\n");
  ASSERT_EQ(client->events().size(), 1u);
  EXPECT_EQ(client->events()[0]["event"], "RESUME");
}

TEST_F(Qmp, FakeServerInvalidJson) {
  std::string sock = dir_ + "/fake.sock";
  FakeServer server(sock, [](int fd) {
    handshake(fd);
    receive_command(fd);
    send_line(fd, R"({"return": {"status": )");
  });
  auto client = QmpClient::connect(sock, 5s);
  ASSERT_TRUE(client.ok()) << client.error().describe();
  auto r = client->execute("query-status", nullptr, 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::protocol);
  EXPECT_THAT(r.error().message, HasSubstr("invalid JSON"));
  EXPECT_EQ(r.error().get("line"), R"({"return": {"status": )");
}

TEST_F(Qmp, FakeServerBadGreeting) {
  std::string sock = dir_ + "/fake.sock";
  FakeServer server(sock, [](int fd) { send_line(fd, R"({"hello": 1})"); });
  auto client = QmpClient::connect(sock, 5s);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code, Errc::protocol);
  EXPECT_THAT(client.error().message, HasSubstr("greeting"));
}

TEST_F(Qmp, FakeServerMalformedError) {
  // An "error" member that is not an object, or a class that is not a string, is still a
  // protocol error, never an exception.
  std::string sock = dir_ + "/fake.sock";
  FakeServer server(sock, [](int fd) {
    handshake(fd);
    receive_command(fd);
    send_line(fd, R"({"error": "boom"})");
    receive_command(fd);
    send_line(fd, R"({"error": {"class": 7, "desc": ["x"]}})");
  });
  auto client = QmpClient::connect(sock, 5s);
  ASSERT_TRUE(client.ok()) << client.error().describe();
  auto first = client->execute("a", nullptr, 5s);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, Errc::protocol);
  EXPECT_THAT(first.error().message, HasSubstr("boom"));
  auto second = client->execute("b", nullptr, 5s);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, Errc::protocol);
}

TEST_F(Qmp, FakeServerNeverGreets) {
  std::string sock = dir_ + "/fake.sock";
  FakeServer server(sock, [](int) {});
  auto start = std::chrono::steady_clock::now();
  auto client = QmpClient::connect(sock, 300ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code, Errc::timeout);
  EXPECT_EQ(client.error().get("socket"), sock);
}

TEST_F(Qmp, FakeServerNeverAnswers) {
  std::string sock = dir_ + "/fake.sock";
  FakeServer server(sock, [](int fd) { handshake(fd); });
  auto client = QmpClient::connect(sock, 5s);
  ASSERT_TRUE(client.ok()) << client.error().describe();
  auto start = std::chrono::steady_clock::now();
  auto r = client->execute("query-status", nullptr, 300ms);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::timeout);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 5s);
}

}  // namespace
}  // namespace seed::vmm::qemu
