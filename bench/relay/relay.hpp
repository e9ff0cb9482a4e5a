// Minimal TCP relays for the ingress benchmark: accept on 127.0.0.1, connect to one fixed
// backend port, move bytes both ways, pass half-closes on. No routing, no parsing, no limits,
// no timeouts: they are the floor a forwarder cannot go below, so the benchmark can tell the
// ingress's own overhead apart from what any extra hop costs on this machine.
//
// Four data paths over the same design, to compare the mechanisms with everything else equal:
// - epoll_splice: edge-triggered epoll, socket → pipe → socket with splice(2), no epoll_ctl
//   after a connection is set up (the cheapest epoll relay there is).
// - uring_splice: io_uring IORING_OP_SPLICE socket → pipe → socket.
// - uring_recv_send: io_uring recv into a per-direction buffer, then send (poll-driven
//   inside the kernel, one io_uring_enter per loop turn for all connections).
// - sockmap: both sockets in a BPF SOCKHASH whose SK_SKB verdict program redirects each
//   socket's received bytes to its peer's egress inside the kernel; user space only accepts,
//   connects and passes EOFs on (sockmap_relay.cpp has the pitfalls).
// Benchmark-only: the product ingress (src/net/ingress) does not use io_uring; see
// docs/ingress.md for the measurements behind that.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "common/error.hpp"

namespace seed::bench {

enum class RelayKind { epoll_splice, uring_splice, uring_recv_send, sockmap };

std::string_view to_string(RelayKind kind);

// One relay thread; the destructor stops it and closes every socket it owns.
class Relay {
 public:
  virtual ~Relay() = default;
  virtual uint16_t port() const = 0;  // where it listens on 127.0.0.1
  virtual uint64_t connections() const = 0;  // accepted so far
};

// Binds 127.0.0.1:0 and starts relaying to 127.0.0.1:backend_port. errno errors (with the
// stage) when a socket, the epoll set or the io_uring ring cannot be created; for sockmap, an
// error saying "BPF sockmap unavailable" (stage "bpf") when the kernel refuses the maps or the
// program (EPERM without CAP_BPF/CAP_NET_ADMIN, ENOSYS/EINVAL without sockmap support).
Result<std::unique_ptr<Relay>> start_relay(RelayKind kind, uint16_t backend_port);

}  // namespace seed::bench
