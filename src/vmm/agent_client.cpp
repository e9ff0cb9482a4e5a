#include "vmm/agent_client.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/unix_socket.hpp"

namespace seed::vmm {

using Clock = std::chrono::steady_clock;

Result<AgentClient> AgentClient::connect(const std::string& socket_path,
                                         std::chrono::milliseconds timeout) {
  auto fd = SEED_TRY(connect_unix(socket_path, timeout));
  return AgentClient(std::move(fd), socket_path);
}

Result<std::vector<std::string>> AgentClient::call(const std::string& request,
                                                   std::chrono::milliseconds timeout) {
  if (request.find('\n') != std::string::npos) {
    return make_error(Errc::invalid_argument, "agent request must be one line");
  }
  std::string line = request + "\n";
  if (::send(fd_.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    return errno_error("agent write failed", errno).with("socket", path_);
  }
  auto deadline = Clock::now() + timeout;
  std::vector<std::string> lines;
  for (;;) {
    size_t nl;
    while ((nl = buffer_.find('\n')) != std::string::npos) {
      std::string l = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (!l.empty() && l.back() == '\r') l.pop_back();
      if (l == ".") return lines;
      lines.push_back(std::move(l));
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return make_error(Errc::timeout, "the guest agent did not answer '" + request + "' in time")
          .with("socket", path_);
    }
    pollfd p{fd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return make_error(Errc::unavailable, "agent channel closed").with("socket", path_);
    }
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace seed::vmm
