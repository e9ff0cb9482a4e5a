#include "net/ingress/testing/backends.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace seed::net::ingress::testing {

namespace {

sockaddr_in loopback(uint16_t port, const std::string& ip = "127.0.0.1") {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

std::string header_value(const std::string& head, const std::string& name) {
  // Case-insensitive search for "\r\n<name>:".
  std::string lower = head;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto at = lower.find("\r\n" + name + ":");
  if (at == std::string::npos) return "";
  auto start = at + 3 + name.size();
  auto end = head.find("\r\n", start);
  std::string v = head.substr(start, end - start);
  while (!v.empty() && v.front() == ' ') v.erase(0, 1);
  return v;
}

}  // namespace

HttpBackend::HttpBackend(std::string name) : name_(std::move(name)) {
  listen_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  auto a = loopback(0);
  if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_.get(), 128) != 0) {
    throw std::runtime_error("HttpBackend: bind/listen failed");
  }
  socklen_t len = sizeof a;
  ::getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard lock(mu_);
      open_fds_.push_back(fd);
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  });
}

HttpBackend::~HttpBackend() {
  stop_ = true;
  acceptor_.join();  // from here on workers_ does not change
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : workers_) t.join();
}

void HttpBackend::serve(int fd) {
  std::string in;
  char buf[16384];
  while (!stop_) {
    auto end = in.find("\r\n\r\n");
    if (end != std::string::npos) {
      const std::string head = in.substr(0, end + 2);
      in.erase(0, end + 4);
      ++requests_;
      std::string body = "backend=" + name_ + " host=" + header_value(head, "host") + "\n";
      // GET /big: 4 MiB, more than every buffer on the way, so backpressure is exercised.
      if (head.rfind("GET /big ", 0) == 0) body.append(4 << 20, 'x');
      const std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body;
      send_all(fd, resp);
      continue;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
  }
  std::lock_guard lock(mu_);
  std::erase(open_fds_, fd);
  ::close(fd);
}

Status make_cert(const std::string& dir, const std::string& cn) {
  SpawnOptions o;
  o.argv = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "2", "-subj", "/CN=" + cn, "-addext", "subjectAltName=DNS:" + cn,
            "-keyout", dir + "/" + cn + ".key", "-out", dir + "/" + cn + ".pem"};
  SEED_TRY(run_checked(o));
  return ok();
}

Result<std::unique_ptr<TlsBackend>> TlsBackend::start(const std::string& dir,
                                                     const std::string& cn) {
  SEED_TRY(make_cert(dir, cn));
  auto b = std::make_unique<TlsBackend>();
  for (int attempt = 0; attempt < 5; ++attempt) {
    b->port_ = free_port();
    SpawnOptions o;
    o.argv = {"openssl", "s_server", "-www", "-quiet", "-accept",
              "127.0.0.1:" + std::to_string(b->port_), "-cert", dir + "/" + cn + ".pem",
              "-key", dir + "/" + cn + ".key"};
    o.stderr_mode = Output::null;
    o.kill_with_parent = true;
    b->child_ = SEED_TRY(spawn(o));
    if (wait_accepting(b->port_, std::chrono::seconds(5))) return b;
    b->child_.terminate(std::chrono::milliseconds(200));
  }
  return make_error(Errc::unavailable, "openssl s_server did not start").with("cn", cn);
}

TlsBackend::~TlsBackend() {
  if (child_.pid() > 0) child_.terminate(std::chrono::milliseconds(500));
}

uint16_t free_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  auto a = loopback(0);
  ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

bool wait_accepting(uint16_t port, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto a = loopback(port);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return true;
    ::usleep(20'000);
  }
  return false;
}

UniqueFd connect_to(uint16_t port, const std::string& from) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  auto src = loopback(0, from);
  ::bind(fd.get(), reinterpret_cast<sockaddr*>(&src), sizeof src);
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto a = loopback(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return UniqueFd();
  return fd;
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string read_all(int fd, std::chrono::milliseconds timeout, bool* eof) {
  std::string out;
  const auto until = std::chrono::steady_clock::now() + timeout;
  if (eof) *eof = false;
  char buf[16384];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (eof) *eof = true;
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace seed::net::ingress::testing
