#include "vmm/qemu/qmp_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/unix_socket.hpp"

namespace seed::vmm::qemu {

using Clock = std::chrono::steady_clock;

std::string QemuVersion::text() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(micro);
}

Result<QmpClient> QmpClient::connect(const std::string& socket_path,
                                     std::chrono::milliseconds timeout, int vmm_pidfd) {
  auto fd = SEED_TRY(connect_unix(socket_path, timeout));
  QmpClient client(std::move(fd), socket_path);
  auto deadline = Clock::now() + timeout;
  auto greeting = SEED_TRY(client.read_message(deadline, vmm_pidfd));
  if (!greeting.contains("QMP")) {
    return make_error(Errc::protocol, "QMP greeting missing").with("socket", socket_path);
  }
  try {
    const auto& q = greeting.at("QMP").at("version").at("qemu");
    client.version_ = QemuVersion{q.at("major").get<int>(), q.at("minor").get<int>(),
                                  q.at("micro").get<int>()};
  } catch (const nlohmann::json::exception&) {
    // An unusual greeting without a version is still usable.
  }
  SEED_TRY(client.execute("qmp_capabilities", nullptr, timeout));
  return client;
}

Status QmpClient::send(const nlohmann::json& message) {
  std::string line = message.dump() + "\n";
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::send(fd_.get(), line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("QMP write to " + path_ + " failed", errno).with("socket", path_);
    }
    done += static_cast<size_t>(n);
  }
  return ok();
}

Result<nlohmann::json> QmpClient::read_message(Clock::time_point deadline, int vmm_pidfd) {
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      try {
        return nlohmann::json::parse(line);
      } catch (const nlohmann::json::parse_error& e) {
        return make_error(Errc::protocol, std::string("QMP sent invalid JSON: ") + e.what())
            .with("socket", path_)
            .with("line", line.substr(0, 200));
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return make_error(Errc::timeout, "QMP did not answer in time").with("socket", path_);
    }
    pollfd p[2] = {{fd_.get(), POLLIN, 0}, {vmm_pidfd, POLLIN, 0}};
    int r = ::poll(p, vmm_pidfd >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno_error("poll", errno);
    if (r == 0) continue;
    if (p[0].revents == 0 && vmm_pidfd >= 0 && p[1].revents != 0) {
      return make_error(Errc::unavailable, "QEMU exited before answering on QMP").with("socket", path_);
    }
    char buf[8192];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return make_error(Errc::unavailable, "QEMU closed the QMP connection (did it exit?)")
          .with("socket", path_);
    }
    if (buffer_.size() + static_cast<size_t>(n) > 16 * 1024 * 1024) {
      return make_error(Errc::protocol, "QMP message too large").with("socket", path_);
    }
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

Result<nlohmann::json> QmpClient::execute(const std::string& command,
                                          const nlohmann::json& arguments,
                                          std::chrono::milliseconds timeout) {
  nlohmann::json message{{"execute", command}};
  if (!arguments.is_null()) message["arguments"] = arguments;
  SEED_TRY(send(message));
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto reply = SEED_TRY(read_message(deadline));
    if (reply.contains("event")) {
      if (events_.size() < 256) events_.push_back(std::move(reply));
      continue;
    }
    if (reply.contains("return")) return reply["return"];
    if (reply.contains("error")) {
      // Read defensively: a peer sending an odd shape must get an error, not an exception
      // (json::value() throws on a non-object or a member of another type).
      const auto& err = reply["error"];
      std::string cls = "GenericError";
      std::string desc = err.dump();
      if (err.is_object()) {
        if (auto c = err.find("class"); c != err.end() && c->is_string()) cls = c->get<std::string>();
        if (auto d = err.find("desc"); d != err.end() && d->is_string()) desc = d->get<std::string>();
      }
      return make_error(Errc::protocol, "QEMU refused " + command + ": " + desc)
          .with("qmp_class", cls)
          .with("socket", path_);
    }
    return make_error(Errc::protocol, "unexpected QMP reply to " + command)
        .with("reply", reply.dump().substr(0, 200));
  }
}

}  // namespace seed::vmm::qemu
