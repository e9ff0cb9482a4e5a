// Tests only: a listening socket for an HttpServer listener on `address` (default 127.0.0.1)
// with a kernel-chosen port, non-blocking as HttpServer expects.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

#include "common/fd.hpp"

namespace seed::api::testing {

inline UniqueFd listen_on(const char* address, uint16_t* port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, address, &a.sin_addr);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd.get(), 64) != 0) return UniqueFd();
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

inline UniqueFd listen_loopback(uint16_t* port) { return listen_on("127.0.0.1", port); }

}  // namespace seed::api::testing
