#include "sshcli/refusal.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

namespace seed::sshcli {
namespace {

uint32_t u32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

// What OpenSSH parses before the key exchange (the ssh tests check that it prints it).
TEST(Refusal, VersionLineThenOnePlainDisconnectPacket) {
  std::string why = "too many connections from 192.0.2.1 (at most 8 at once)";
  std::string bytes = refusal_bytes(why);
  ASSERT_EQ(bytes.rfind("SSH-2.0-seed\r\n", 0), 0u);
  std::string packet = bytes.substr(14);
  uint32_t length = u32(packet, 0);
  ASSERT_EQ(packet.size(), 4 + length);
  EXPECT_EQ(packet.size() % 8, 0u);
  size_t padding = static_cast<uint8_t>(packet[4]);
  EXPECT_GE(padding, 4u);
  EXPECT_EQ(packet[5], 1);              // SSH_MSG_DISCONNECT
  EXPECT_EQ(u32(packet, 6), 12u);       // SSH_DISCONNECT_TOO_MANY_CONNECTIONS
  ASSERT_EQ(u32(packet, 10), why.size());
  EXPECT_EQ(packet.substr(14, why.size()), why);
  EXPECT_EQ(u32(packet, 14 + why.size()), 0u);  // no language tag
  EXPECT_EQ(14 + why.size() + 4 + padding, packet.size());
}

sockaddr_storage v6(const char* text) {
  sockaddr_storage s{};
  auto& a = reinterpret_cast<sockaddr_in6&>(s);
  a.sin6_family = AF_INET6;
  inet_pton(AF_INET6, text, &a.sin6_addr);
  return s;
}

TEST(Refusal, SourcesAreIPv4AddressesAndIPv6Slash64s) {
  sockaddr_storage s{};
  auto& a = reinterpret_cast<sockaddr_in&>(s);
  a.sin_family = AF_INET;
  inet_pton(AF_INET, "192.0.2.7", &a.sin_addr);
  EXPECT_EQ(source_of(s), "192.0.2.7");
  EXPECT_EQ(source_of(v6("::ffff:192.0.2.7")), "192.0.2.7");  // dual-stack socket
  EXPECT_EQ(source_of(v6("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
  EXPECT_EQ(source_of(v6("2001:db8:1:2:bbbb::9")), source_of(v6("2001:db8:1:2:aaaa::1")));
  EXPECT_NE(source_of(v6("2001:db8:1:3::1")), source_of(v6("2001:db8:1:2::1")));
}

}  // namespace
}  // namespace seed::sshcli
