#include "common/testing/temp_dir.hpp"
#include "common/unix_socket.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seed {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class UnixSocket : public ::testing::Test {
 protected:
  seed::testing::TempDir tmp_;
  const std::string dir_ = tmp_.path();

  // A path inside the temp dir that is exactly `size` bytes long.
  std::string path_of_size(size_t size) const {
    std::string p = dir_ + "/";
    return p + std::string(size - p.size(), 's');
  }

};

TEST_F(UnixSocket, CheckPathAt107And108Bytes) {
  EXPECT_TRUE(check_socket_path(path_of_size(107)).ok());
  auto st = check_socket_path(path_of_size(108));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::invalid_argument);
  EXPECT_THAT(st.error().message, HasSubstr("108 bytes, longer than the 107"));
  EXPECT_EQ(st.error().get("path"), path_of_size(108));
  EXPECT_FALSE(check_socket_path("").ok());
}

TEST_F(UnixSocket, ListenAndConnectAt107Bytes) {
  std::string path = path_of_size(107);
  auto server = listen_unix(path);
  ASSERT_TRUE(server.ok()) << server.error().describe();
  auto client = connect_unix(path);
  ASSERT_TRUE(client.ok()) << client.error().describe();
  int accepted = ::accept4(server->get(), nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(accepted, 0);
  UniqueFd conn(accepted);
  ASSERT_EQ(::write(client->get(), "x", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(conn.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
}

TEST_F(UnixSocket, ListenRejects108Bytes) {
  auto server = listen_unix(path_of_size(108));
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code, Errc::invalid_argument);
  EXPECT_FALSE(std::filesystem::exists(path_of_size(108)));
}

TEST_F(UnixSocket, ListeningFdIsCloseOnExec) {
  auto server = listen_unix(dir_ + "/a.sock");
  ASSERT_TRUE(server.ok());
  EXPECT_TRUE(::fcntl(server->get(), F_GETFD) & FD_CLOEXEC);
}

TEST_F(UnixSocket, ListenReplacesStaleSocket) {
  std::string path = dir_ + "/stale.sock";
  {
    auto first = listen_unix(path);
    ASSERT_TRUE(first.ok());
  }  // closed: the socket file stays behind, nobody listens
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  ASSERT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_FALSE(connect_unix(path).ok());

  auto second = listen_unix(path);
  ASSERT_TRUE(second.ok()) << second.error().describe();
  EXPECT_TRUE(connect_unix(path).ok());
}

TEST_F(UnixSocket, ListenRefusesToReplaceRegularFile) {
  std::string path = dir_ + "/precious";
  ASSERT_TRUE(write_file_atomic(path, "keep me").ok());
  auto server = listen_unix(path);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code, Errc::already_exists);
  EXPECT_EQ(server.error().get("path"), path);
  auto content = read_file(path);
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(*content, "keep me");
}

TEST_F(UnixSocket, ListenInMissingDirectoryFails) {
  auto server = listen_unix(dir_ + "/no/such/dir.sock");
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code, Errc::not_found);
  EXPECT_THAT(server.error().message, HasSubstr(dir_ + "/no/such/dir.sock"));
}

TEST_F(UnixSocket, ConnectWithoutTimeoutFailsAtOnce) {
  std::string path = dir_ + "/missing.sock";
  auto start = std::chrono::steady_clock::now();
  auto client = connect_unix(path);
  ASSERT_FALSE(client.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  EXPECT_EQ(client.error().code, Errc::not_found);
  EXPECT_THAT(client.error().message, HasSubstr("cannot connect to " + path));
  EXPECT_EQ(client.error().get("path"), path);
}

TEST_F(UnixSocket, ConnectRefusedIsUnavailable) {
  std::string path = dir_ + "/dead.sock";
  { ASSERT_TRUE(listen_unix(path).ok()); }
  auto client = connect_unix(path);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code, Errc::unavailable);
}

TEST_F(UnixSocket, ConnectGivesUpAfterTimeout) {
  std::string path = dir_ + "/never.sock";
  auto start = std::chrono::steady_clock::now();
  auto client = connect_unix(path, 300ms);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(client.ok());
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);
  EXPECT_THAT(client.error().message, HasSubstr(path));
}

TEST_F(UnixSocket, ConnectRetriesUntilTheServerAppears) {
  std::string path = dir_ + "/late.sock";
  Result<UniqueFd> server = make_error(Errc::internal, "not yet");
  std::thread late([&] {
    std::this_thread::sleep_for(200ms);
    server = listen_unix(path);
  });
  auto client = connect_unix(path, 5s);
  late.join();
  ASSERT_TRUE(server.ok()) << server.error().describe();
  ASSERT_TRUE(client.ok()) << client.error().describe();
}

}  // namespace
}  // namespace seed

namespace seed {
namespace {

TEST(UnixSocketLive, RefusesToReplaceASocketSomethingStillListensOn) {
  seed::testing::TempDir tmp;
  const std::string path = tmp.path() + "/live.sock";
  auto first = listen_unix(path);
  ASSERT_TRUE(first.ok()) << first.error().describe();
  auto second = listen_unix(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, Errc::in_use);
  EXPECT_NE(second.error().message.find(path), std::string::npos);
  // The first listener still owns the path and still accepts.
  EXPECT_TRUE(connect_unix(path).ok());
}

}  // namespace
}  // namespace seed
