#include "sshcli/command_line.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seed::sshcli {
namespace {

TEST(SplitWords, QuotesAndEscapesLikeSh) {
  auto w = split_words(R"(a 'b c' "d \"e\"" f\ g  'h'"i")");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, (std::vector<std::string>{"a", "b c", "d \"e\"", "f g", "hi"}));
  EXPECT_FALSE(split_words("a 'b").ok());
  EXPECT_FALSE(split_words("a \"b").ok());
  EXPECT_TRUE(split_words("   ")->empty());
}

TEST(ParseCommand, TenantCommandsAndFlags) {
  auto c = parse_command("logs app/web -f --lines 500 --json");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->kind, CommandKind::logs);
  EXPECT_EQ(c->target, "app/web");
  EXPECT_TRUE(c->follow);
  EXPECT_TRUE(c->json);
  EXPECT_EQ(c->lines, 500u);
  EXPECT_EQ(parse_command("logs web")->lines, 100u);
  EXPECT_EQ(parse_command("logs web --lines=7")->lines, 7u);

  auto p = parse_command("plant silo:my-app inv-123");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->uri, "silo:my-app");
  EXPECT_EQ(p->invite, "inv-123");
  EXPECT_EQ(parse_command("status my-repo")->repo, "my-repo");
  EXPECT_EQ(parse_command("")->kind, CommandKind::help);
  EXPECT_EQ(parse_command("--help")->kind, CommandKind::help);
  EXPECT_TRUE(parse_command("help --json")->json);
}

TEST(ParseCommand, WebhookTakesOneRepoAndRotate) {
  auto c = parse_command("webhook alice/app --rotate");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, CommandKind::webhook);
  EXPECT_EQ(c->repo, "alice/app");
  EXPECT_TRUE(c->rotate);
  EXPECT_FALSE(parse_command("webhook"));
  EXPECT_FALSE(parse_command("webhook a b"));
  EXPECT_FALSE(parse_command("status --rotate"));  // --rotate belongs to webhook only
}

TEST(ParseCommand, ConsoleTakesOneInstance) {
  auto c = parse_command("console app/web");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->kind, CommandKind::console);
  EXPECT_EQ(c->target, "app/web");
  for (const char* bad : {"console", "console a b", "console web -f"}) {
    auto e = parse_command(bad);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_THAT(e.error().message, ::testing::HasSubstr("console <[repo/]instance>")) << bad;
  }
}

TEST(ParseCommand, ExecTakesTheCommandAfterDashesWordForWord) {
  auto c = parse_command("exec app/web --json -- sh -c 'echo a  b; exit 3' --json -f");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->kind, CommandKind::exec);
  EXPECT_EQ(c->target, "app/web");
  EXPECT_TRUE(c->json);  // before `--`: ours; after it: the command's own
  EXPECT_EQ(c->argv, (std::vector<std::string>{"sh", "-c", "echo a  b; exit 3", "--json", "-f"}));
  // The command may itself contain `--`.
  EXPECT_EQ(parse_command("exec web -- grep -- -x f")->argv, (std::vector<std::string>{"grep", "--", "-x", "f"}));
  for (const char* bad : {"exec web true", "exec web --", "exec -- true", "exec a b -- true", "exec web -f -- true"}) {
    auto e = parse_command(bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().code, Errc::invalid_argument) << bad;
    EXPECT_THAT(e.error().message, ::testing::HasSubstr("exec <[repo/]instance> -- CMD")) << bad;
  }
  EXPECT_THAT(parse_command("exec web true").error().message, ::testing::HasSubstr("exec needs `--` before the command"));
}

TEST(ParseCommand, LogFilters) {
  auto c = parse_command("logs web --unit nginx --since 10m --boot -1");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->unit, "nginx");
  EXPECT_EQ(c->since, "10m");
  EXPECT_EQ(c->boot, -1);
  auto eq = parse_command("logs web --unit=app@1.service --since=2026-12-04T10:00:00Z --boot=0 -f");
  ASSERT_TRUE(eq.ok()) << eq.error().describe();
  EXPECT_EQ(eq->unit, "app@1.service");
  EXPECT_EQ(eq->since, "2026-12-04T10:00:00Z");
  EXPECT_EQ(eq->boot, 0);
  EXPECT_FALSE(parse_command("logs web")->unit.has_value());
}

// Each bad value gets one usage error that names the flag and the value.
TEST(ParseCommand, LogFilterRefusals) {
  for (auto [bad, says] : std::vector<std::pair<const char*, const char*>>{
           {"logs web --since yesterday", "--since takes"},
           {"logs web --since", "--since needs a value"},
           {"logs web --boot 1", "--boot takes"},
           {"logs web --boot x", "--boot takes"},
           {"logs web --unit 'a b'", "--unit takes"},
           {"logs web --boot -1 -f", "-f follows the current boot only"},
           {"logs web --frobnicate", "unknown option '--frobnicate'"},
           {"restart web --unit x", "unknown option '--unit'"}}) {
    auto c = parse_command(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.error().code, Errc::invalid_argument) << bad;
    EXPECT_THAT(c.error().message, ::testing::HasSubstr(says)) << bad;
    EXPECT_EQ(c.error().get("stage"), "command") << bad;
  }
}

TEST(ParseCommand, RejectsWithUsage) {
  for (const char* bad : {"frobnicate", "plant silo:x", "logs", "logs a b", "restart", "status a b",
                          "logs web --lines 0", "logs web --lines 99999", "logs web --lines x", "status --bogus",
                          "restart web -f"}) {
    auto c = parse_command(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.error().code, Errc::invalid_argument) << bad;
    EXPECT_TRUE(c.error().get("hint").has_value()) << bad;
  }
}

TEST(ParseCommand, GitRequestsNameASiloRepository) {
  auto push = parse_command("git-receive-pack 'my-app.git'");
  ASSERT_TRUE(push.ok());
  EXPECT_EQ(push->kind, CommandKind::receive_pack);
  EXPECT_EQ(push->repo, "my-app");
  auto fetch = parse_command("git-upload-pack '/my-app.git'");  // ssh://host:port/my-app.git
  ASSERT_TRUE(fetch.ok());
  EXPECT_EQ(fetch->kind, CommandKind::upload_pack);
  EXPECT_EQ(fetch->repo, "my-app");
  EXPECT_FALSE(parse_command("git-receive-pack").ok());
  EXPECT_FALSE(parse_command("git-receive-pack 'a.git' extra").ok());
}

TEST(SiloRepoName, PathTricksAndHiddenNamesAreRefused) {
  EXPECT_EQ(*silo_repo_name("my-app.git"), "my-app");
  EXPECT_EQ(*silo_repo_name("/my_app.v2.git"), "my_app.v2");
  EXPECT_EQ(*silo_repo_name("app"), "app");
  for (const char* bad : {"../etc.git", "a/b.git", ".hidden.git", "-x.git", "a..b", "", ".git", "My-App.git",
                          "/../../x", "a b", "~/x.git"}) {
    auto r = silo_repo_name(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_TRUE(silo_repo_name(std::string(63, 'a')).ok());
  EXPECT_FALSE(silo_repo_name(std::string(64, 'a')).ok());
}

}  // namespace
}  // namespace seed::sshcli
