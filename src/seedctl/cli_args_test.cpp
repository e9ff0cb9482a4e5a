#include "seedctl/cli_args.hpp"

#include <gtest/gtest.h>

namespace seed::seedctl {
namespace {

using control::Command;
constexpr int64_t now = 1'800'000'000;

CliOptions parse_ok(std::vector<std::string> args) {
  auto o = parse_cli(args, now);
  EXPECT_TRUE(o.ok()) << (o.ok() ? "" : o.error().message);
  return o.ok() ? *o : CliOptions{};
}

TEST(SeedctlArgs, CommandsAndOptions) {
  auto plant = parse_ok({"--socket", "/x.sock", "plant", "github:me/app"});
  EXPECT_EQ(plant.socket, "/x.sock");
  EXPECT_EQ(plant.request.command, Command::plant);
  EXPECT_EQ(plant.request.uri, "github:me/app");

  auto status = parse_ok({"status", "--json"});
  EXPECT_TRUE(status.json);
  EXPECT_EQ(status.request.source, "");
  EXPECT_EQ(parse_ok({"status", "github:me/app"}).request.source, "github:me/app");

  auto logs = parse_ok({"logs", "web", "-f", "--lines", "20"});
  EXPECT_EQ(logs.request.instance, "web");
  EXPECT_TRUE(logs.request.follow);
  EXPECT_EQ(logs.request.lines, 20u);

  auto filtered = parse_ok({"logs", "web", "--unit", "nginx", "--since", "10m", "--boot", "-1"});
  EXPECT_EQ(filtered.request.unit, "nginx");
  EXPECT_EQ(filtered.request.since_us, (now - 600) * 1000000);
  EXPECT_EQ(filtered.request.boot, -1);
  EXPECT_EQ(parse_ok({"logs", "web"}).request.boot, 1);  // every boot

  EXPECT_EQ(parse_ok({"quarantine", "clear", "--all"}).request.all, true);
  EXPECT_EQ(parse_ok({"quarantine", "clear", "/nix/store/abc"}).request.toplevel, "/nix/store/abc");
  EXPECT_EQ(parse_ok({"quarantine", "list", "--json"}).request.command, Command::quarantine_list);

  auto invite = parse_ok({"invite", "create", "--uses", "3", "--expires", "24h"});
  EXPECT_EQ(invite.request.uses, 3u);
  EXPECT_EQ(invite.request.expires_at, now + 86400);
  EXPECT_EQ(parse_ok({"invite", "create"}).request.expires_at, 0);
  EXPECT_EQ(parse_ok({"ssh-host-key"}).request.command, Command::ssh_host_key);
  EXPECT_EQ(parse_ok({"ca"}).request.command, Command::ca);
  EXPECT_EQ(parse_ok({"sessions", "--json"}).request.command, Command::sessions);
  EXPECT_TRUE(parse_ok({"status", "--help"}).help);
}

TEST(SeedctlArgs, UsageErrorsSayWhatIsWrong) {
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  for (const auto& c : std::vector<Case>{
           {{}, "no command"},
           {{"reboot"}, "unknown command \"reboot\""},
           {{"plant"}, "needs an argument"},
           {{"plant", "a", "b"}, "unexpected argument \"b\""},
           {{"status", "--lines", "3"}, "--lines does not apply to status"},
           {{"logs", "web", "--lines", "0"}, "whole number"},
           {{"logs", "web", "--lines", "ten"}, "whole number"},
           {{"logs", "web", "--lines"}, "needs a value"},
           {{"logs", "web", "--since", "yesterday"}, "--since takes"},
           {{"logs", "web", "--boot", "2"}, "--boot wants 0"},
           {{"logs", "web", "--boot", "-1", "-f"}, "current boot only"},
           {{"status", "--unit", "x"}, "--unit does not apply to status"},
           {{"quarantine"}, "needs a subcommand"},
           {{"quarantine", "clear"}, "a toplevel or --all"},
           {{"quarantine", "clear", "--all", "/nix/store/x"}, "unexpected argument"},
           {{"invite", "create", "--expires", "soon"}, "--expires"},
           {{"invite", "burn"}, "unknown subcommand"},
           {{"status", "--bogus"}, "unknown option --bogus"},
       }) {
    auto o = parse_cli(c.args, now);
    ASSERT_FALSE(o.ok()) << ::testing::PrintToString(c.args);
    EXPECT_EQ(o.error().code, Errc::invalid_argument);
    EXPECT_NE(o.error().message.find(c.says), std::string::npos) << o.error().message;
  }
}

}  // namespace
}  // namespace seed::seedctl
