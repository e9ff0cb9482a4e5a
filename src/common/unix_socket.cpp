#include "common/unix_socket.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace seed {
namespace {

Result<sockaddr_un> make_address(const std::string& path) {
  auto st = check_socket_path(path);
  if (!st) return std::move(st).error();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

}  // namespace

Status check_socket_path(const std::string& path) {
  constexpr size_t max_len = sizeof(sockaddr_un::sun_path) - 1;
  if (path.empty()) return make_error(Errc::invalid_argument, "socket path is empty");
  if (path.size() > max_len) {
    return make_error(Errc::invalid_argument,
                      "socket path is " + std::to_string(path.size()) + " bytes, longer than the " +
                          std::to_string(max_len) +
                          " a Unix socket allows; use a shorter runtime directory")
        .with("path", path);
  }
  return ok();
}

Result<UniqueFd> listen_unix(const std::string& path, int backlog) {
  auto addr = SEED_TRY(make_address(path));
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return make_error(Errc::already_exists, "refusing to replace a non-socket file with a socket")
          .with("path", path);
    }
    // Only a stale socket may go: one something still listens on belongs to a live process
    // (another VM's VMM, a second seedd), and removing it would cut that process off.
    if (connect_unix(path).ok()) {
      return make_error(Errc::in_use, "socket " + path + " is in use by a running process")
          .with("path", path);
    }
    ::unlink(path.c_str());
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket", errno).with("path", path);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return errno_error("cannot bind socket " + path, errno).with("path", path);
  }
  if (::listen(fd.get(), backlog) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return errno_error("cannot listen on " + path, err).with("path", path);
  }
  return fd;
}

Result<UniqueFd> connect_unix(const std::string& path, std::chrono::milliseconds timeout) {
  auto addr = SEED_TRY(make_address(path));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return errno_error("socket", errno);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    int err = errno;
    bool retryable = err == ECONNREFUSED || err == ENOENT || err == EAGAIN;
    if (!retryable || std::chrono::steady_clock::now() >= deadline) {
      return errno_error("cannot connect to " + path, err).with("path", path);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace seed
