// Socket plumbing shared by the benchmark relays (internal to bench/relay).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "bench/relay/relay.hpp"
#include "bench/relay/sockmap_bpf.hpp"
#include "common/fd.hpp"

namespace seed::bench {

// A listening socket on 127.0.0.1:0 (blocking or not) and the port it got.
Result<UniqueFd> listen_loopback(bool nonblocking, uint16_t& port);
// A connected socket to 127.0.0.1:port: loopback connects complete at once, so a blocking
// connect keeps the relays simple. TCP_NODELAY like the ingress.
Result<UniqueFd> connect_loopback(uint16_t port, bool nonblocking);
// TCP_NODELAY on an accepted socket, as the ingress does: small writes go out at once.
void set_nodelay(int fd);

Result<std::unique_ptr<Relay>> start_epoll_relay(uint16_t backend_port);
Result<std::unique_ptr<Relay>> start_uring_relay(uint16_t backend_port, bool splice);

// Test seams of the sockmap relay, all called on its thread. before_insert: once a
// connection's two sockets exist, before they go into the maps (a test sleeps there so bytes
// or a FIN arrive first). on_linked: which directions the kernel took (client → backend,
// backend → client); the others are spliced by user space. on_loaded: its BPF objects' ids.
struct SockmapHooks {
  std::function<void()> before_insert;
  std::function<void(bool up, bool down)> on_linked;
  std::function<void(const BpfIds&)> on_loaded;
};
Result<std::unique_ptr<Relay>> start_sockmap_relay(uint16_t backend_port, SockmapHooks hooks = {});

}  // namespace seed::bench
