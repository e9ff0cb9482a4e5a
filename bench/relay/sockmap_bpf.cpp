// Why raw bpf(2) and hand-written instructions rather than clang -target bpf + libbpf: the
// program is 14 instructions with no maps of its own to describe, no BTF, no CO-RE. Writing
// them here needs no build step, no generated skeleton and no new library (Debian's libbpf 1.1
// would be linked only for this), and the verifier log is printed if the kernel refuses them.
#include "bench/relay/sockmap_bpf.hpp"

#include <linux/bpf.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

namespace seed::bench {

namespace {

long bpf(int cmd, bpf_attr& attr) { return ::syscall(__NR_bpf, cmd, &attr, sizeof attr); }

Error unavailable(const std::string& what, int err) {
  return errno_error("relay: BPF sockmap unavailable: " + what, err).with("stage", "bpf");
}

// The few instruction encodings the program needs (the kernel's BPF_* macros from filter.h are
// not part of the UAPI headers).
constexpr bpf_insn mov_reg(uint8_t dst, uint8_t src) {
  return {BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0};
}
constexpr bpf_insn mov_imm(uint8_t dst, int32_t imm) {
  return {BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm};
}
constexpr bpf_insn add_imm(uint8_t dst, int32_t imm) {
  return {BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm};
}
constexpr bpf_insn store_dw(uint8_t base, int16_t off, uint8_t src) {
  return {BPF_STX | BPF_DW | BPF_MEM, base, src, off, 0};
}
constexpr bpf_insn load_w(uint8_t dst, uint8_t base, int16_t off) {
  return {BPF_LDX | BPF_W | BPF_MEM, dst, base, off, 0};
}
constexpr bpf_insn jump_if_not(uint8_t reg, int32_t imm, int16_t skip) {
  return {BPF_JMP | BPF_JNE | BPF_K, reg, 0, skip, imm};
}
constexpr bpf_insn call(int32_t helper) { return {BPF_JMP | BPF_CALL, 0, 0, 0, helper}; }
constexpr bpf_insn exit_insn() { return {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}; }

int create_sockhash(const char* name, uint32_t max_entries) {
  bpf_attr a{};
  a.map_type = BPF_MAP_TYPE_SOCKHASH;
  a.key_size = sizeof(uint64_t);  // socket cookie
  a.value_size = sizeof(uint32_t);  // socket fd on update
  a.max_entries = max_entries;
  std::memcpy(a.map_name, name, std::min(std::strlen(name), sizeof a.map_name - 1));
  return static_cast<int>(bpf(BPF_MAP_CREATE, a));
}

uint32_t id_of(const UniqueFd& fd, bool prog) {
  bpf_prog_info pi{};
  bpf_map_info mi{};
  bpf_attr a{};
  a.info.bpf_fd = static_cast<uint32_t>(fd.get());
  a.info.info_len = prog ? sizeof pi : sizeof mi;
  a.info.info = prog ? reinterpret_cast<uint64_t>(&pi) : reinterpret_cast<uint64_t>(&mi);
  if (bpf(BPF_OBJ_GET_INFO_BY_FD, a) != 0) return 0;
  return prog ? pi.id : mi.id;
}

}  // namespace

Result<SockmapBpf> SockmapBpf::load(uint32_t max_sockets) {
  SockmapBpf b;
  b.peer_.reset(create_sockhash("seed_relay_peer", max_sockets));
  if (!b.peer_) return unavailable("create SOCKHASH map", errno);
  b.verdict_.reset(create_sockhash("seed_relay_vrd", max_sockets));
  if (!b.verdict_) return unavailable("create SOCKHASH map", errno);

  // if (ctx->len == 0) return SK_DROP;
  // r6 = ctx; key = bpf_get_socket_cookie(ctx) on the stack at r10-8;
  // return bpf_sk_redirect_hash(ctx, &peer_map, &key, 0)  (flags 0: the peer's egress).
  // SK_PASS when redirected, SK_DROP when the cookie has no peer, which only happens after
  // both directions ended and the pair is being removed.
  // The length test: a bare FIN is an empty skb, and the kworker that sends redirected skbs
  // on the peer takes a zero-byte send as a broken pipe: it sets EPIPE on the peer socket and
  // stops all further redirects to it. TCP has already taken the FIN's meaning (RCV_SHUTDOWN);
  // the relay passes it on with shutdown(2), so the empty skb is dropped here.
  const int map = b.peer_.get();
  const bpf_insn insns[] = {
      load_w(BPF_REG_2, BPF_REG_1, offsetof(__sk_buff, len)),
      jump_if_not(BPF_REG_2, 0, 2),
      mov_imm(BPF_REG_0, SK_DROP),
      exit_insn(),
      mov_reg(BPF_REG_6, BPF_REG_1),
      call(BPF_FUNC_get_socket_cookie),
      store_dw(BPF_REG_10, -8, BPF_REG_0),
      mov_reg(BPF_REG_1, BPF_REG_6),
      {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_2, BPF_PSEUDO_MAP_FD, 0, map},  // 64-bit map load:
      {0, 0, 0, 0, 0},                                                   // two slots
      mov_reg(BPF_REG_3, BPF_REG_10),
      add_imm(BPF_REG_3, -8),
      mov_imm(BPF_REG_4, 0),
      call(BPF_FUNC_sk_redirect_hash),
      exit_insn(),
  };
  std::string log(16384, '\0');
  bpf_attr a{};
  a.prog_type = BPF_PROG_TYPE_SK_SKB;
  a.insns = reinterpret_cast<uint64_t>(insns);
  a.insn_cnt = sizeof insns / sizeof insns[0];
  a.license = reinterpret_cast<uint64_t>("GPL");  // the sockmap helpers are GPL-only
  std::memcpy(a.prog_name, "seed_redirect", sizeof "seed_redirect");
  b.prog_.reset(static_cast<int>(bpf(BPF_PROG_LOAD, a)));
  if (!b.prog_) {
    // Again with the verifier's log, for the error only: a log too small for a successful
    // load would itself fail the load (ENOSPC), so the first attempt asks for none.
    const int err = errno;
    a.log_buf = reinterpret_cast<uint64_t>(log.data());
    a.log_size = static_cast<uint32_t>(log.size());
    a.log_level = 1;
    UniqueFd again(static_cast<int>(bpf(BPF_PROG_LOAD, a)));
    return unavailable("load SK_SKB verdict program", err).with("verifier", log.c_str());
  }

  bpf_attr at{};
  at.target_fd = static_cast<uint32_t>(b.verdict_.get());
  at.attach_bpf_fd = static_cast<uint32_t>(b.prog_.get());
  at.attach_type = BPF_SK_SKB_VERDICT;  // verdict only, no stream parser: every skb as it is
  if (bpf(BPF_PROG_ATTACH, at) != 0) return unavailable("attach verdict program to map", errno);
  return b;
}

Status SockmapBpf::update(const UniqueFd& map, uint64_t key, int fd) {
  uint32_t value = static_cast<uint32_t>(fd);
  bpf_attr a{};
  a.map_fd = static_cast<uint32_t>(map.get());
  a.key = reinterpret_cast<uint64_t>(&key);
  a.value = reinterpret_cast<uint64_t>(&value);
  a.flags = BPF_ANY;
  if (bpf(BPF_MAP_UPDATE_ELEM, a) != 0) return errno_error("relay: sockhash update", errno);
  return ok();
}

void SockmapBpf::remove(uint64_t key) {
  for (const UniqueFd* map : {&verdict_, &peer_}) {  // verdict first: stop redirecting, then
    bpf_attr a{};                                     // stop being a target
    a.map_fd = static_cast<uint32_t>(map->get());
    a.key = reinterpret_cast<uint64_t>(&key);
    bpf(BPF_MAP_DELETE_ELEM, a);
  }
}

BpfIds SockmapBpf::ids() const {
  return {id_of(prog_, true), id_of(peer_, false), id_of(verdict_, false)};
}

Result<uint64_t> socket_cookie(int fd) {
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (::getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0) {
    return errno_error("relay: SO_COOKIE", errno);
  }
  return cookie;
}

}  // namespace seed::bench
