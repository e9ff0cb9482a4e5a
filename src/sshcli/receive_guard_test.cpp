#include "sshcli/receive_guard.hpp"

#include <cstdio>

#include <gtest/gtest.h>

namespace seed::sshcli {
namespace {

std::string pkt(const std::string& payload) {
  char len[5];
  std::snprintf(len, sizeof len, "%04zx", payload.size() + 4);
  return len + payload;
}

const std::string kZero(40, '0');
const std::string kA(40, 'a');
const std::string kB(40, 'b');

TEST(ReceiveGuard, CountsCommandsUntilFlushAcrossChunks) {
  ReceiveGuard g({});
  std::string stream = pkt(kZero + " " + kA + " refs/heads/main" + std::string(1, '\0') + "report-status\n") +
                       pkt(kA + " " + kB + " refs/tags/v1\n") + "0000" + "PACK....binary";
  for (char c : stream) ASSERT_TRUE(g.feed(std::string_view(&c, 1)).ok());  // byte by byte
  EXPECT_TRUE(g.commands_done());
  EXPECT_EQ(g.commands(), 2u);
}

TEST(ReceiveGuard, RefusesTooManyUpdatesOddRefsAndOversizedPushes) {
  ReceiveLimits limits;
  limits.max_commands = 2;
  ReceiveGuard many(limits);
  std::string s;
  for (int i = 0; i < 3; ++i) s += pkt(kZero + " " + kA + " refs/heads/b" + std::to_string(i) + "\n");
  auto st = many.feed(s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("more than 2"), std::string::npos);

  ReceiveGuard odd({});
  EXPECT_FALSE(odd.feed(pkt(kZero + " " + kA + " refs/meta/config\n")).ok());

  ReceiveLimits small;
  small.max_bytes = 10;
  ReceiveGuard big(small);
  EXPECT_FALSE(big.feed(std::string(11, 'x')).ok());

  ReceiveLimits full;
  full.max_refs = 3;
  full.existing_refs = 3;
  ReceiveGuard crowded(full);
  EXPECT_TRUE(crowded.feed(pkt(kA + " " + kB + " refs/heads/x\n")).ok());  // an update is fine
  EXPECT_FALSE(crowded.feed(pkt(kZero + " " + kA + " refs/heads/new\n")).ok());

  ReceiveGuard garbage({});
  EXPECT_FALSE(garbage.feed("zzzz").ok());
}

TEST(ReceiveGuard, RefusesDeletingTheDefaultBranchAndSaysWhy) {
  ReceiveLimits limits;
  limits.default_branch = "refs/heads/main";
  ReceiveGuard other(limits);
  EXPECT_TRUE(other.feed(pkt(kA + " " + kZero + " refs/heads/feature\n")).ok());  // any other branch may go
  ReceiveGuard head(limits);
  auto st = head.feed(pkt(kA + " " + kZero + " refs/heads/main\n"));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("deleting refs/heads/main is not allowed: it is the repository's default branch"),
            std::string::npos) << st.error().message;
  EXPECT_NE(st.error().get("hint").value_or("").find("BRANCH:main"), std::string::npos);
  ReceiveGuard update(limits);
  EXPECT_TRUE(update.feed(pkt(kA + " " + kB + " refs/heads/main\n")).ok());  // updating it is fine
}

}  // namespace
}  // namespace seed::sshcli
