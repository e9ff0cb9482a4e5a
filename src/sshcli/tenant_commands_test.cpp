// The tenant commands against the recording service, without SSH: visibility, ambiguity,
// invites, and the human and --json forms of every command.
#include "sshcli/tenant_commands.hpp"

#include <mutex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/testing/temp_dir.hpp"
#include "sshcli/testing/recording_service.hpp"

namespace seed::sshcli {
namespace {

using nlohmann::json;
using testing::make_source;
using testing::RecordingService;

struct Capture : CommandOutput {
  std::string out_, err_;
  void out(std::string_view d) override { out_ += d; }
  void err(std::string_view d) override { err_ += d; }
};

const KeyIdentity kAlice = identity_from_openssh("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINK0Eg4jlP0l1Pl8Zi5nyNWF6tOJJrO4TsADjLG9mfGg");
const KeyIdentity kMallory = identity_from_openssh("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF5UiRKZhUeW/v8DeZW6XPPernpH6c7pnNZVnyud/xas");

class TenantCommandsTest : public ::testing::Test {
 protected:
  TenantCommandsTest() : silo_(tmp_.path() + "/silo", {}), commands_(service_, silo_) {
    service_.add_source(make_source("github:alice/app", "s-aaaaaaaaaaaa", {"web", "db"}));
    service_.add_source(make_source("github:alice/blog", "s-bbbbbbbbbbbb", {"web"}));
    service_.add_source(make_source("github:carol/other", "s-cccccccccccc", {"api"}));
    for (const char* uri : {"github:alice/app", "github:alice/blog"}) {
      service_.set_authorized_keys(uri, "# alice\n" + kAlice.openssh() + " alice@laptop\n");
    }
    service_.set_authorized_keys("github:carol/other", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEtlzBo2jf0neY/JVp8rJOzzbCAtmKxKY1XBOyA/mbbK\n");
    service_.set_logs("web.s-aaaaaaaaaaaa", {"line 1", "line 2", "line 3"});
    service_.set_recipient("web.s-aaaaaaaaaaaa", "age1tpm1qexample");
  }

  int run(const std::string& line, const KeyIdentity& who, Capture& c) {
    auto cmd = parse_command(line);
    EXPECT_TRUE(cmd.ok()) << line;
    std::atomic<bool> cancelled{false};
    return commands_.run(*cmd, who, c, cancelled);
  }

  seed::testing::TempDir tmp_;
  RecordingService service_;
  Silo silo_;
  TenantCommands commands_;
};

TEST_F(TenantCommandsTest, StatusShowsOnlyReposListingTheKey) {
  Capture human;
  EXPECT_EQ(run("status", kAlice, human), 0);
  EXPECT_NE(human.out_.find("github:alice/app"), std::string::npos);
  EXPECT_NE(human.out_.find("github:alice/blog"), std::string::npos);
  EXPECT_EQ(human.out_.find("carol"), std::string::npos);

  Capture j;
  EXPECT_EQ(run("status --json", kAlice, j), 0);
  auto doc = json::parse(j.out_);
  EXPECT_EQ(doc["schema"], 1);
  ASSERT_EQ(doc["sources"].size(), 2u);
  EXPECT_EQ(doc["sources"][0]["instances"][0]["dns_names"][0], "web.s-aaaaaaaaaaaa.seed.test");

  Capture one;
  EXPECT_EQ(run("status blog --json", kAlice, one), 0);
  EXPECT_EQ(json::parse(one.out_)["sources"].size(), 1u);

  Capture stranger;
  EXPECT_EQ(run("status --json", kMallory, stranger), 0);
  EXPECT_TRUE(json::parse(stranger.out_)["sources"].empty());
  Capture stranger_repo;
  EXPECT_EQ(run("status other", kMallory, stranger_repo), 4);  // not_found, same as nonexistent
  EXPECT_NE(stranger_repo.err_.find("error:"), std::string::npos);
}

TEST_F(TenantCommandsTest, AmbiguousInstanceAsksForRepo) {
  Capture c;
  EXPECT_EQ(run("restart web", kAlice, c), 2);
  EXPECT_NE(c.err_.find("ambiguous"), std::string::npos) << c.err_;
  EXPECT_NE(c.err_.find("app/web"), std::string::npos) << c.err_;
  EXPECT_NE(c.err_.find("blog/web"), std::string::npos) << c.err_;
  EXPECT_EQ(c.err_.find('\n'), c.err_.size() - 1);  // one line
  EXPECT_EQ(service_.count("restart"), 0u);

  Capture ok;
  EXPECT_EQ(run("restart app/web --json", kAlice, ok), 0);
  EXPECT_EQ(json::parse(ok.out_)["namespace"], "s-aaaaaaaaaaaa");
  EXPECT_EQ(service_.count("restart web.s-aaaaaaaaaaaa"), 1u);
  Capture unique;
  EXPECT_EQ(run("restart db", kAlice, unique), 0);
  EXPECT_NE(unique.out_.find("restarting db"), std::string::npos);
}

TEST_F(TenantCommandsTest, StrangerCanActOnNothing) {
  for (const char* cmd : {"restart api", "restart other/api", "logs api", "keys api", "logs github:carol/other/api"}) {
    Capture c;
    EXPECT_EQ(run(cmd, kMallory, c), 4) << cmd;
  }
  EXPECT_EQ(service_.count("restart"), 0u);
  EXPECT_EQ(service_.count("logs"), 0u);
  EXPECT_EQ(service_.count("keys"), 0u);
}

TEST_F(TenantCommandsTest, WebhookIsForListedKeysOnlyAndRotates) {
  TenantCommands commands(service_, silo_, "https://seed.example.org");
  auto run_with = [&](const std::string& line, const KeyIdentity& who, Capture& c) {
    auto cmd = parse_command(line);
    EXPECT_TRUE(cmd.ok()) << line;
    std::atomic<bool> cancelled{false};
    return commands.run(*cmd, who, c, cancelled);
  };
  Capture shown;
  EXPECT_EQ(run_with("webhook app", kAlice, shown), 0) << shown.err_;
  EXPECT_NE(shown.out_.find("payload URL:   https://seed.example.org/webhook/hook-1"), std::string::npos) << shown.out_;
  EXPECT_NE(shown.out_.find("secret:        secret-1"), std::string::npos);
  EXPECT_EQ(service_.count("webhook github:alice/app"), 1u);

  Capture rotated;
  EXPECT_EQ(run_with("webhook alice/app --rotate --json", kAlice, rotated), 0) << rotated.err_;
  auto j = json::parse(rotated.out_);
  EXPECT_EQ(j["url"], "https://seed.example.org/webhook/hook-rotated");
  EXPECT_EQ(j["secret"], "secret-2");
  EXPECT_EQ(j["rotated"], true);

  // Another tenant's repo and a repo that does not exist answer alike, and nothing is asked.
  Capture foreign, missing;
  EXPECT_EQ(run_with("webhook other", kAlice, foreign), 4);
  EXPECT_EQ(run_with("webhook nope", kAlice, missing), 4);
  EXPECT_EQ(run_with("webhook app", kMallory, missing), 4);
  EXPECT_EQ(service_.count("webhook github:carol/other"), 0u);
  EXPECT_EQ(foreign.err_.find("carol"), std::string::npos) << foreign.err_;
}

// A node without a public listener (api.public_port = 0) has no URL to give: one clear refusal,
// and no secret is made.
TEST_F(TenantCommandsTest, WebhookWithoutPublicListenerIsRefused) {
  Capture c;
  EXPECT_NE(run("webhook app", kAlice, c), 0);
  EXPECT_NE(c.err_.find("this node takes no webhooks"), std::string::npos) << c.err_;
  EXPECT_EQ(service_.count("webhook github:alice/app"), 0u);
}

// `console` reaches TenantCommands::run only without a terminal (the session relays one with
// a terminal itself): the caller is told to use ssh -t, after the access check, so a stranger
// still hears only "not found".
TEST_F(TenantCommandsTest, ConsoleWithoutTerminalSaysUseSshT) {
  Capture c;
  EXPECT_EQ(run("console app/web", kAlice, c), 2);
  EXPECT_EQ(c.err_, "error: console needs a terminal, and this ssh asked for none (stage console; run `ssh -t <node> "
                    "console app/web` (-t asks for one))\n");
  Capture stranger;
  EXPECT_EQ(run("console api", kMallory, stranger), 4);
  EXPECT_EQ(stranger.err_.find("terminal"), std::string::npos) << stranger.err_;
  std::string instance;
  auto opened = commands_.open_console(*parse_command("console other/api"), kMallory, {}, instance);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::not_found);
  EXPECT_EQ(instance, "");
}

TEST_F(TenantCommandsTest, LogsAndKeysHumanAndJson) {
  Capture human;
  EXPECT_EQ(run("logs app/web --lines 2", kAlice, human), 0);
  EXPECT_EQ(human.out_, "line 2\nline 3\n");
  Capture j;
  EXPECT_EQ(run("logs app/web --json", kAlice, j), 0);
  EXPECT_EQ(json::parse(j.out_)["lines"].size(), 3u);
  EXPECT_EQ(json::parse(j.out_)["entries"][2]["message"], "line 3");
  EXPECT_EQ(json::parse(j.out_)["entries"][2]["source"], "console");
  Capture k;
  EXPECT_EQ(run("keys app/web", kAlice, k), 0);
  EXPECT_EQ(k.out_, "age1tpm1qexample\n");
  Capture kj;
  EXPECT_EQ(run("keys app/web --json", kAlice, kj), 0);
  EXPECT_EQ(json::parse(kj.out_)["recipient"], "age1tpm1qexample");
  Capture missing;
  EXPECT_EQ(run("keys app/db", kAlice, missing), 4);  // the service's own not_found passes through
}

TEST_F(TenantCommandsTest, ErrorsShowNoNodePath) {
  // The engine's error names the recipient file on the node; the tenant sees the instance only.
  Capture c;
  EXPECT_EQ(run("keys app/db --json", kAlice, c), 4);
  auto context = json::parse(c.out_)["error"]["context"];
  EXPECT_EQ(context["instance"], "db.s-aaaaaaaaaaaa");
  EXPECT_FALSE(context.contains("path")) << context;
  EXPECT_EQ((c.out_ + c.err_).find("/var/lib"), std::string::npos) << c.out_ << c.err_;
}

TEST_F(TenantCommandsTest, LogsJsonLinesHaveNoCarriageReturn) {
  service_.set_logs("db.s-aaaaaaaaaaaa", {"booting\r", "ready\r"});  // a serial console's CR LF
  Capture j;
  EXPECT_EQ(run("logs app/db --json", kAlice, j), 0);
  const json entries = json::parse(j.out_)["entries"];
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0]["message"], "booting");
  EXPECT_EQ(entries[1]["message"], "ready");
  Capture human;  // the human form passes the console's bytes through
  EXPECT_EQ(run("logs app/db", kAlice, human), 0);
  EXPECT_EQ(human.out_, "booting\r\nready\r\n");

  // -f: the follower thread writes while this one waits for the line.
  struct Locked : Capture {
    std::mutex mu;
    void out(std::string_view d) override {
      std::lock_guard l(mu);
      Capture::out(d);
    }
    bool has(std::string_view s) {
      std::lock_guard l(mu);
      return out_.find(s) != std::string::npos;
    }
  } f;
  auto cmd = parse_command("logs app/db -f --json --lines 1");
  std::atomic<bool> cancelled{false};
  std::thread t([&] { EXPECT_EQ(commands_.run(*cmd, kAlice, f, cancelled), 0); });
  while (service_.followers() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  service_.append_log("db.s-aaaaaaaaaaaa", "later\r\n");
  while (!f.has("later")) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  cancelled = true;
  t.join();
  std::vector<std::string> messages;
  std::istringstream lines(f.out_);
  for (std::string l; std::getline(lines, l);) messages.push_back(json::parse(l)["message"]);
  EXPECT_EQ(messages, (std::vector<std::string>{"ready", "later"}));
}

TEST_F(TenantCommandsTest, RestartSaysSoFirstThenShowsProgress) {
  // What was printed before the service's restart began (it returns only after the boot).
  struct Watch : Capture {
    RecordingService* service = nullptr;
    std::vector<size_t> restarts_seen;
    void out(std::string_view d) override {
      restarts_seen.push_back(service->count("restart"));
      Capture::out(d);
    }
  } w;
  w.service = &service_;
  EXPECT_EQ(run("restart db", kAlice, w), 0);
  ASSERT_FALSE(w.restarts_seen.empty());
  EXPECT_EQ(w.restarts_seen.front(), 0u);  // "restarting db" came before the restart
  EXPECT_EQ(w.out_, "restarting db (github:alice/app)\n[stop] stop db\n[boot] boot db\n[healthy] healthy db\nrestarted db\n");
  Capture j;  // --json stays one document
  EXPECT_EQ(run("restart db --json", kAlice, j), 0);
  EXPECT_EQ(json::parse(j.out_)["restarted"], true);
}

TEST_F(TenantCommandsTest, PlantNeedsAuthorityAndAValidInvite) {
  service_.set_authorized_keys("github:alice/new", kAlice.openssh() + "\n");
  service_.set_plant_result("github:alice/new", make_source("github:alice/new", "s-nnnnnnnnnnnn", {"web"}));
  service_.add_invite("good", 1, 0);
  service_.add_invite("old", 1, 1000);  // expired in 1970

  Capture unknown;  // refused like a used or expired one: exit 3, which the table lists for invites
  EXPECT_EQ(run("plant github:alice/new nope --json", kAlice, unknown), 3);
  EXPECT_EQ(json::parse(unknown.out_)["error"]["code"], "permission_denied");
  Capture expired;
  EXPECT_EQ(run("plant github:alice/new old", kAlice, expired), 3);
  EXPECT_NE(expired.err_.find("expired"), std::string::npos);
  Capture stranger;
  EXPECT_EQ(run("plant github:alice/new good", kMallory, stranger), 3);
  EXPECT_NE(stranger.err_.find(kMallory.fingerprint), std::string::npos);
  EXPECT_EQ(service_.count("consume_invite"), 2u);  // the stranger burned no invite
  EXPECT_EQ(service_.count("plant"), 0u);

  Capture planted;
  EXPECT_EQ(run("plant github:Alice/New good --json", kAlice, planted), 0) << planted.err_;
  std::vector<json> lines;
  size_t start = 0;
  for (size_t nl; (nl = planted.out_.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(json::parse(planted.out_.substr(start, nl - start)));
  }
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0]["stage"], "fetch");
  EXPECT_EQ(lines[4]["stage"], "healthy");
  EXPECT_EQ(lines[5]["type"], "result");
  EXPECT_EQ(lines[5]["source"]["instances"][0]["dns_names"][0], "web.s-nnnnnnnnnnnn.seed.test");
  EXPECT_EQ(service_.count("plant github:alice/new by " + kAlice.fingerprint), 1u);

  Capture used;
  service_.add_invite("once", 0, 0);
  EXPECT_EQ(run("plant github:alice/other once", kAlice, used), 3);  // not authorized there either

  Capture bad_uri;
  EXPECT_EQ(run("plant ftp://x good", kAlice, bad_uri), 2);
  EXPECT_NE(bad_uri.err_.find("stage source"), std::string::npos) << bad_uri.err_;
}

TEST_F(TenantCommandsTest, UsedInviteIsRefused) {
  service_.set_authorized_keys("github:alice/new", kAlice.openssh() + "\n");
  service_.add_invite("spent", 0, 0);
  Capture c;
  EXPECT_EQ(run("plant github:alice/new spent --json", kAlice, c), 3);
  auto doc = json::parse(c.out_);
  EXPECT_EQ(doc["error"]["code"], "permission_denied");
  EXPECT_EQ(service_.count("plant"), 0u);
}

TEST_F(TenantCommandsTest, OwnerOfAPlantedSiloRepoWithoutTheirKeyIsToldHowToFixIt) {
  // alice pushed silo:mine first (she owns it) but its .authorized_keys does not list her.
  ASSERT_TRUE(silo_.prepare_push("mine", kAlice).ok());
  service_.add_source(make_source("silo:mine", "s-mmmmmmmmmmmm", {"site"}));

  for (const char* cmd : {"status mine --json", "logs mine/site", "logs site", "restart site"}) {
    Capture owner;
    EXPECT_EQ(run(cmd, kAlice, owner), 3) << cmd;
    EXPECT_NE(owner.err_.find("silo:mine has no .authorized_keys listing your key " + kAlice.fingerprint),
              std::string::npos) << cmd << ": " << owner.err_;
    EXPECT_NE(owner.err_.find("git push <node>:mine.git"), std::string::npos) << owner.err_;
  }
  Capture status;
  EXPECT_EQ(run("status blog", kAlice, status), 0);  // her other repos are unaffected
  EXPECT_EQ(service_.count("restart"), 0u);

  // A stranger learns nothing: not found, exactly as for a repo that does not exist.
  for (const char* cmd : {"status mine", "logs mine/site", "restart site"}) {
    Capture stranger;
    EXPECT_EQ(run(cmd, kMallory, stranger), 4) << cmd;
    EXPECT_EQ(stranger.err_.find("authorized_keys listing"), std::string::npos) << stranger.err_;
    EXPECT_EQ(stranger.err_.find("silo:mine"), std::string::npos) << stranger.err_;
  }
  Capture stranger_status;
  EXPECT_EQ(run("status", kMallory, stranger_status), 0);
  EXPECT_EQ(stranger_status.out_.find("mine"), std::string::npos) << stranger_status.out_;

  // `status` of an owner who sees nothing else names their hidden repo.
  ASSERT_TRUE(silo_.prepare_push("hers", kMallory).ok());
  service_.add_source(make_source("silo:hers", "s-hhhhhhhhhhhh", {"api"}));
  Capture own_status;
  EXPECT_EQ(run("status", kMallory, own_status), 0);
  EXPECT_NE(own_status.out_.find("you own silo:hers, but it has no .authorized_keys listing your key"), std::string::npos)
      << own_status.out_;
  EXPECT_EQ(own_status.out_.find("mine"), std::string::npos) << own_status.out_;
}

TEST_F(TenantCommandsTest, HelpHumanAndJson) {
  Capture h;
  EXPECT_EQ(run("help", kMallory, h), 0);
  EXPECT_NE(h.out_.find("plant <flake-uri> <invite-code>"), std::string::npos);
  Capture j;
  EXPECT_EQ(run("help --json", kMallory, j), 0);
  EXPECT_EQ(json::parse(j.out_)["commands"].size(), 9u);
  EXPECT_NE(h.out_.find("exec <[repo/]instance> -- CMD [ARGS...]"), std::string::npos);
  EXPECT_NE(h.out_.find("ssh -t <node> console NAME"), std::string::npos);
}

TEST_F(TenantCommandsTest, LogsFiltersReachTheService) {
  Capture c;
  EXPECT_EQ(run("logs app/web --unit nginx --boot -1 --since 10m --lines 5", kAlice, c), 0);
  EXPECT_EQ(service_.calls().back(), "logs web.s-aaaaaaaaaaaa 5 unit=nginx since boot=-1");
  Capture rfc;
  EXPECT_EQ(run("logs app/web --since=2026-12-04T10:00:00Z", kAlice, rfc), 0);
  EXPECT_EQ(service_.calls().back(), "logs web.s-aaaaaaaaaaaa 100 since");
}

TEST_F(TenantCommandsTest, FollowStreamsUntilCancelled) {
  auto cmd = parse_command("logs app/web -f --json --lines 1");
  Capture c;
  std::atomic<bool> cancelled{false};
  std::thread t([&] { EXPECT_EQ(commands_.run(*cmd, kAlice, c, cancelled), 0); });
  while (service_.followers() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  service_.append_log("web.s-aaaaaaaaaaaa", "new a\nnew ");
  service_.append_log("web.s-aaaaaaaaaaaa", "b\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  cancelled = true;
  t.join();
  // One entry object per line, never half a line.
  std::vector<std::string> messages;
  size_t start = 0;
  for (size_t nl; (nl = c.out_.find('\n', start)) != std::string::npos; start = nl + 1) {
    auto j = json::parse(c.out_.substr(start, nl - start));
    EXPECT_EQ(j["source"], "console");
    messages.push_back(j["message"]);
  }
  EXPECT_EQ(messages, (std::vector<std::string>{"line 3", "new a", "new b"}));
  EXPECT_EQ(service_.followers(), 0);
}

}  // namespace
}  // namespace seed::sshcli
