#include "sshcli/refusal.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>

namespace seed::sshcli {
namespace {

constexpr uint8_t kMsgDisconnect = 1;           // SSH_MSG_DISCONNECT
constexpr uint32_t kTooManyConnections = 12;    // SSH_DISCONNECT_TOO_MANY_CONNECTIONS

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

}  // namespace

std::string refusal_bytes(std::string_view why) {
  why = why.substr(0, 400);  // OpenSSH shows at most 400 characters
  std::string payload;
  payload.push_back(static_cast<char>(kMsgDisconnect));
  put_u32(payload, kTooManyConnections);
  put_u32(payload, static_cast<uint32_t>(why.size()));
  payload.append(why);
  put_u32(payload, 0);  // language tag: none
  // Before the key exchange a packet is length, padding length, payload, padding (at least 4
  // bytes, the whole a multiple of 8), with no MAC.
  size_t padding = 8 - (4 + 1 + payload.size()) % 8;
  if (padding < 4) padding += 8;
  std::string out = "SSH-2.0-seed\r\n";
  put_u32(out, static_cast<uint32_t>(1 + payload.size() + padding));
  out.push_back(static_cast<char>(padding));
  out += payload;
  out.append(padding, '\0');
  return out;
}

std::string source_of(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = "";
  if (peer.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(peer);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
    return text;
  }
  if (peer.ss_family != AF_INET6) return "?";
  in6_addr a = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
  if (IN6_IS_ADDR_V4MAPPED(&a)) {
    inet_ntop(AF_INET, &a.s6_addr[12], text, sizeof text);
    return text;
  }
  std::memset(&a.s6_addr[8], 0, 8);
  inet_ntop(AF_INET6, &a, text, sizeof text);
  return std::string(text) + "/64";
}

}  // namespace seed::sshcli
