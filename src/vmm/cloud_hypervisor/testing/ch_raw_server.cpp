#include "vmm/cloud_hypervisor/testing/ch_raw_server.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "common/unix_socket.hpp"

namespace seed::vmm::ch::testing {

RawServer::RawServer(const std::string& socket_path, RawBehaviour behaviour)
    : socket_path_(socket_path), behaviour_(behaviour) {
  auto listener = listen_unix(socket_path);
  if (!listener) throw std::runtime_error(listener.error().describe());
  listener_ = std::move(*listener);
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  thread_ = std::thread([this] { run(); });
}

RawServer::~RawServer() {
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_.get(), &one, sizeof one);
  (void)ignored;
  thread_.join();
  ::unlink(socket_path_.c_str());
}

void RawServer::run() {
  for (;;) {
    pollfd fds[2] = {{wake_.get(), POLLIN, 0}, {listener_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[0].revents != 0) return;
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (conn) serve(conn.get());
  }
}

void RawServer::serve(int fd) {
  // Read the request head (the client sends small requests in one go).
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, 2000) <= 0 || fds[1].revents != 0) return;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return;
    request.append(buf, static_cast<size_t>(n));
  }
  ++requests_;
  auto send_text = [fd](const std::string& text) {
    ssize_t ignored = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    (void)ignored;
  };
  switch (behaviour_) {
    case RawBehaviour::close_without_answer:
      return;
    case RawBehaviour::truncated_body:
      send_text(
          "HTTP/1.1 200 \r\nServer: Cloud Hypervisor API\r\nConnection: keep-alive\r\n"
          "Content-Type: application/json\r\nContent-Length: 400\r\n\r\n"
          "{\"config\":{\"cpus\":{");
      return;
    case RawBehaviour::never_answer: {
      pollfd p{wake_.get(), POLLIN, 0};
      ::poll(&p, 1, -1);
      return;
    }
    case RawBehaviour::garbage:
      send_text("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\r\n");
      return;
  }
}

}  // namespace seed::vmm::ch::testing
