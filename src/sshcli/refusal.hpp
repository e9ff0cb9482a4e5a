// Connections the server will not serve (at its session cap, or their source at its share) are
// told why before they are closed, without a key exchange or a thread spent on them: our
// version string, then SSH_MSG_DISCONNECT "too many connections" in the clear (RFC 4253 §4.2
// lets a server speak before the key exchange, §11.1 lets either side disconnect at any time).
// OpenSSH prints it: `Received disconnect from 192.0.2.1 port 22:12: <why>`.
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>

namespace seed::sshcli {

// The version line and the unencrypted disconnect packet, ready to send.
std::string refusal_bytes(std::string_view why);

// Whom the per-source cap counts a connection against: an IPv4 address (also when it arrives
// IPv4-mapped on a dual-stack socket), or an IPv6 /64 (one host usually holds a whole /64, so
// a per-address cap would not hold it back).
std::string source_of(const sockaddr_storage& peer);

}  // namespace seed::sshcli
