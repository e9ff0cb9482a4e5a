// The BPF side of the sockmap relay (internal to bench/relay): two SOCKHASH maps and one
// SK_SKB verdict program, loaded with the bpf(2) syscall directly.
//
// - peer map: key = a socket's cookie, value = the socket its bytes go to. No programs attached,
//   so being in it changes nothing for a socket; it only makes the socket a redirect target.
// - verdict map: key = a socket's cookie, value = that socket. The verdict program is attached
//   here, so a socket's ingress runs it from the moment it is inserted.
// The program: look up the peer by the receiving socket's own cookie, redirect to its egress.
// Two maps, not one, so that a socket only starts running the verdict once its peer is already
// a target: with one map the first of the two inserts would leave a window in which a lookup
// fails, and a failed bpf_sk_redirect_hash drops the (already acknowledged) bytes.
#pragma once

#include <cstdint>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace seed::bench {

// Kernel object ids, for tests that check nothing outlives the relay.
struct BpfIds {
  uint32_t prog = 0, peer_map = 0, verdict_map = 0;
};

class SockmapBpf {
 public:
  // Creates the maps, loads and attaches the program. EPERM/ENOSYS/EINVAL come back as errors
  // that say BPF sockmap is unavailable, with the verifier log when the load itself failed.
  static Result<SockmapBpf> load(uint32_t max_sockets);

  // map[key] = fd; BPF_ANY. EOPNOTSUPP when the socket is no longer ESTABLISHED (a FIN came).
  Status add_peer(uint64_t key, int fd) { return update(peer_, key, fd); }
  Status add_verdict(uint64_t key, int fd) { return update(verdict_, key, fd); }
  void remove(uint64_t key);  // from both maps; absent keys are fine
  BpfIds ids() const;

 private:
  static Status update(const UniqueFd& map, uint64_t key, int fd);
  UniqueFd peer_, verdict_, prog_;
};

// SO_COOKIE: the 64-bit id the kernel gives a socket, what bpf_get_socket_cookie returns.
Result<uint64_t> socket_cookie(int fd);

}  // namespace seed::bench
