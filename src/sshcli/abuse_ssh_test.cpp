// Abuse: many parallel clients, a client that never finishes the handshake, a giant command,
// key types that are refused, rate limits, a client that disconnects mid-push. The server
// keeps serving everyone else and leaks nothing (fds, threads, child processes).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <future>

#include <nlohmann/json.hpp>

#include "sshcli/testing/ssh_fixture.hpp"

namespace seed::sshcli {
namespace {

using nlohmann::json;

class AbuseSshTest : public testing::SshFixture {
 protected:
  void adjust(ServerConfig& c) override {
    c.auth_timeout = std::chrono::seconds(2);
    c.max_sessions = 16;
    c.max_sessions_per_source = 16;  // every client here comes from 127.0.0.1
  }
  UniqueFd raw_connect() {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server_.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  }
};

TEST_F(AbuseSshTest, ManyParallelClientsAllServed) {
  size_t fds = testing::open_fds();
  std::vector<std::future<RunResult>> clients;
  for (int i = 0; i < 12; ++i) {
    clients.push_back(std::async(std::launch::async, [this, i] { return ssh(i % 2 ? "alice" : "bob", "status --json"); }));
  }
  for (auto& c : clients) {
    auto r = c.get();
    EXPECT_EQ(r.status.code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["schema"], 1);
  }
  EXPECT_TRUE(wait_idle());
  EXPECT_LE(testing::open_fds(), fds);
}

TEST_F(AbuseSshTest, StalledHandshakeIsDroppedAndOthersAreServed) {
  size_t fds = testing::open_fds();
  {
    UniqueFd silent = raw_connect();  // TCP open, never a version string
    UniqueFd half = raw_connect();    // sends a version string, then nothing
    std::string banner = "SSH-2.0-stall\r\n";
    ASSERT_EQ(::write(half.get(), banner.data(), banner.size()), static_cast<ssize_t>(banner.size()));

    auto r = ssh("alice", "help");  // served while the two hang
    EXPECT_EQ(r.status.code, 0) << r.err;

    auto start = std::chrono::steady_clock::now();
    for (int fd : {silent.get(), half.get()}) {
      char buf[4096];
      pollfd p{fd, POLLIN, 0};
      ssize_t n = 1;
      while (n > 0 && ::poll(&p, 1, 10000) == 1) n = ::read(fd, buf, sizeof buf);  // banner/kex, then EOF
      EXPECT_EQ(n, 0) << "the server should close a connection stuck in the handshake";
    }
    auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_LT(waited, std::chrono::seconds(8));  // dropped by the 2 s deadline, not by chance
  }
  EXPECT_TRUE(wait_idle());
  EXPECT_LE(testing::open_fds(), fds);
}

TEST_F(AbuseSshTest, GiantCommandLineIsRefusedWithAClearError) {
  auto r = ssh("alice", "status " + std::string(100000, 'x'));
  EXPECT_EQ(r.status.code, 2);
  EXPECT_NE(r.err.find("bytes long"), std::string::npos) << r.err;
  // --json gets the JSON error document too, as every other error does.
  auto j = ssh("alice", "status --json " + std::string(100000, 'x'));
  EXPECT_EQ(j.status.code, 2);
  auto doc = json::parse(j.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << j.out;
  EXPECT_EQ(doc["schema"], 1);
  EXPECT_EQ(doc["error"]["code"], "invalid_argument");
  EXPECT_NE(doc["error"]["message"].get<std::string>().find("bytes long"), std::string::npos) << doc;
  EXPECT_EQ(ssh("alice", "help").status.code, 0);
}

TEST_F(AbuseSshTest, WeakKeyTypesAreRefused) {
  add_key("rsa1024", "rsa", "1024");
  auto weak = ssh("rsa1024", "help");
  EXPECT_EQ(weak.status.code, 255);
  EXPECT_NE(weak.err.find("Permission denied"), std::string::npos) << "[" << weak.err << "]";

  // DSA: OpenSSH 9.2 still makes the key; offered anyway, libssh refuses ssh-dss.
  add_key("dsa", "dsa");
  auto dsa = ssh("dsa", "help", {"-o", "PubkeyAcceptedAlgorithms=+ssh-dss"});
  EXPECT_EQ(dsa.status.code, 255);
  EXPECT_NE(dsa.err.find("Permission denied"), std::string::npos) << dsa.err;

  add_key("rsa3072", "rsa", "3072");  // RSA itself is fine, with SHA-2 signatures
  auto strong = ssh("rsa3072", "status --json");
  EXPECT_EQ(strong.status.code, 0) << strong.err;
  EXPECT_EQ(ssh("alice", "help").status.code, 0);
}

TEST_F(AbuseSshTest, DisconnectMidPushLeavesNothingBehind) {
  std::string wt = dir_.path() + "/big";
  std::filesystem::create_directories(wt);
  ASSERT_EQ(git("alice", wt, {"init", "-q"}).status.code, 0);
  std::ofstream(wt + "/.authorized_keys") << pub_lines_["alice"];
  ASSERT_EQ(git("alice", wt, {"add", "-A"}).status.code, 0);
  ASSERT_EQ(git("alice", wt, {"commit", "-q", "-m", "keys"}).status.code, 0);
  ASSERT_EQ(git("alice", wt, {"push", "-q", "node:big.git", "master"}).status.code, 0);
  {
    // 48 MiB of incompressible data: the transfer takes long enough to be cut in the middle.
    std::ifstream rnd("/dev/urandom", std::ios::binary);
    std::ofstream out(wt + "/blob.bin", std::ios::binary);
    std::vector<char> buf(1 << 20);
    for (int i = 0; i < 48; ++i) {
      rnd.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    }
  }
  ASSERT_EQ(git("alice", wt, {"add", "-A"}).status.code, 0);
  ASSERT_EQ(git("alice", wt, {"commit", "-q", "-m", "big"}).status.code, 0);
  ASSERT_TRUE(wait_idle());
  size_t fds = testing::open_fds();
  size_t tasks = testing::threads();

  std::string repo = config_.silo_root + "/big.git";
  auto incoming = [&] {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(repo + "/objects")) {
      n += e.path().filename().string().rfind("tmp_objdir-incoming-", 0) == 0;
    }
    return n;
  };
  {
    SpawnOptions o = testing::cmd({"git", "push", "-q", "node:big.git", "master"});
    o.env = {"GIT_SSH_COMMAND=ssh -F " + cfg("alice")};
    o.cwd = wt;
    auto push = spawn(o);
    ASSERT_TRUE(push.ok());
    // Cut the connection once receive-pack is running and taking in the pack.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (incoming() == 0 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_GT(incoming(), 0u) << "the push never reached receive-pack";
    ::kill(-push->pid(), SIGKILL);  // git and its ssh, mid-transfer
    push->terminate(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(wait_idle(std::chrono::seconds(20)));
  EXPECT_EQ(testing::child_processes(), 0u);
  EXPECT_EQ(incoming(), 0u) << run(testing::cmd({"find", repo + "/objects", "-maxdepth", "3", "-ls"}))->out;  // receive-pack's quarantine is gone
  auto head = run_checked(testing::cmd({"git", "--git-dir", repo, "log", "--format=%s", "-1", "master"}));
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->out, "keys\n");  // the cut push changed nothing
  EXPECT_LE(testing::open_fds(), fds);
  EXPECT_TRUE(testing::threads_settle_to(tasks)) << testing::threads() << " > " << tasks;
  EXPECT_EQ(ssh("alice", "help").status.code, 0);  // and the server still serves
}

class RateLimitedSshTest : public testing::SshFixture {
 protected:
  void adjust(ServerConfig& c) override {
    c.rate_burst = 3;
    c.rate_per_second = 0.01;
  }
};

TEST_F(RateLimitedSshTest, KeyOverItsRateIsToldWhenToRetry) {
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ssh("alice", "help").status.code, 0);
  auto limited = ssh("alice", "help");
  EXPECT_EQ(limited.status.code, 5);
  EXPECT_NE(limited.err.find("retry in"), std::string::npos) << limited.err;
  auto j = ssh("alice", "status --json");
  EXPECT_EQ(j.status.code, 5);
  auto doc = json::parse(j.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << j.out;
  EXPECT_EQ(doc["error"]["code"], "unavailable");
  EXPECT_EQ(doc["error"]["context"]["key"], keys_["alice"].fingerprint);
  EXPECT_FALSE(doc["error"]["context"]["retry_after_s"].get<std::string>().empty());
  EXPECT_EQ(ssh("bob", "help").status.code, 0);  // other keys are unaffected
}

class SessionCapSshTest : public testing::SshFixture {
 protected:
  void adjust(ServerConfig& c) override {
    c.max_sessions = 2;
    c.auth_timeout = std::chrono::seconds(2);
  }
};

TEST_F(SessionCapSshTest, ConnectionsBeyondTheCapAreClosedUntilSlotsFree) {
  std::vector<UniqueFd> hogs;
  for (int i = 0; i < 2; ++i) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server_.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    hogs.push_back(std::move(fd));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the acceptor has taken both
  EXPECT_EQ(ssh("alice", "help").status.code, 255);             // refused at once: no slot
  ASSERT_TRUE(wait_idle(std::chrono::seconds(10)));             // the hogs time out
  EXPECT_EQ(ssh("alice", "help").status.code, 0);
}

class PerSourceCapSshTest : public testing::SshFixture {
 protected:
  void adjust(ServerConfig& c) override {
    c.max_sessions = 6;
    c.max_sessions_per_source = 2;
    c.auth_timeout = std::chrono::seconds(30);  // idle connections keep their slots through the test
  }
  // A TCP connection to the server from `source` (any 127/8 address is this host's loopback).
  UniqueFd connect_from(const char* source) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in from{};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source, &from.sin_addr);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&from), sizeof from), 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(server_.port());
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    return fd;
  }
  // What the server sent until it closed the connection, or until 1 s of silence.
  static std::pair<std::string, bool> read_until_closed(int fd) {
    std::string got;
    char buf[4096];
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 1000) == 1) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) return {got, true};
      got.append(buf, static_cast<size_t>(n));
    }
    return {got, false};
  }
};

// 64 idle connections from one host used to lock every tenant out. Now one address holds at
// most its share; the rest are told why and closed, and other addresses still get in.
TEST_F(PerSourceCapSshTest, OneAddressCannotTakeEverySlot) {
  std::vector<UniqueFd> hogs;
  for (int i = 0; i < 6; ++i) hogs.push_back(connect_from("127.0.0.1"));  // as many as all slots
  size_t kept = 0, refused = 0;
  for (auto& h : hogs) {
    auto [got, closed] = read_until_closed(h.get());
    if (!closed) {
      ++kept;  // libssh's version line, then waiting for ours
      EXPECT_EQ(got.rfind("SSH-2.0-", 0), 0u) << got;
      continue;
    }
    ++refused;
    EXPECT_NE(got.find("too many connections from 127.0.0.1 (at most 2 at once)"), std::string::npos) << got;
  }
  EXPECT_EQ(kept, 2u);
  EXPECT_EQ(refused, 4u);
  EXPECT_EQ(server_.active_sessions(), 2u);

  // The OpenSSH client from the same address hears why; from another address it is served.
  auto same = ssh("alice", "help");
  EXPECT_EQ(same.status.code, 255);
  EXPECT_NE(same.err.find("Received disconnect"), std::string::npos) << same.err;
  EXPECT_NE(same.err.find("too many connections from 127.0.0.1"), std::string::npos) << same.err;
  auto other = ssh("alice", "help", {"-o", "BindAddress=127.0.0.2"});
  EXPECT_EQ(other.status.code, 0) << other.err;

  hogs.clear();  // the idle connections leave: their address is served again
  ASSERT_TRUE(wait_idle());
  EXPECT_EQ(ssh("alice", "help").status.code, 0);
}

}  // namespace
}  // namespace seed::sshcli

namespace seed::sshcli {
namespace {

class IdleSshTest : public testing::SshFixture {
 protected:
  void adjust(ServerConfig& c) override { c.idle_timeout = std::chrono::seconds(1); }
};

TEST_F(IdleSshTest, SilentGitTransferIsDroppedAfterTheIdleTimeout) {
  std::string wt = dir_.path() + "/idle";
  std::filesystem::create_directories(wt);
  ASSERT_EQ(git("alice", wt, {"init", "-q"}).status.code, 0);
  std::ofstream(wt + "/.authorized_keys") << pub_lines_["alice"];
  ASSERT_EQ(git("alice", wt, {"add", "-A"}).status.code, 0);
  ASSERT_EQ(git("alice", wt, {"commit", "-q", "-m", "keys"}).status.code, 0);
  ASSERT_EQ(git("alice", wt, {"push", "-q", "node:idle.git", "master"}).status.code, 0);
  {
    // An authorized push that reads the ref advertisement and then never says a word (its
    // stdin held open): git-receive-pack would wait forever; the idle deadline ends it.
    auto started = std::chrono::steady_clock::now();
    auto client = spawn(testing::cmd({"ssh", "-F", cfg("alice"), "node", "git-receive-pack 'idle.git'"}));
    ASSERT_TRUE(client.ok());
    auto ended = client->wait(std::chrono::seconds(15));
    ASSERT_TRUE(ended.ok()) << "the server kept a silent transfer open";
    EXPECT_NE(ended->code, 0);
    // It was the deadline (1 s), not an early refusal, that ended it.
    EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(900));
  }
  EXPECT_TRUE(wait_idle());
  EXPECT_EQ(ssh("alice", "help").status.code, 0);
}

}  // namespace
}  // namespace seed::sshcli
