#include "control/control_protocol.hpp"

#include <gtest/gtest.h>

namespace seed::control {
namespace {

TEST(ControlProtocol, EveryCommandRoundTrips) {
  std::vector<Request> requests;
  requests.push_back({.command = Command::plant, .uri = "github:me/app"});
  requests.push_back({.command = Command::status});
  requests.push_back({.command = Command::status, .source = "github:me/app"});
  requests.push_back({.command = Command::logs, .instance = "web", .lines = 7, .follow = true});
  requests.push_back({.command = Command::restart, .instance = "web.abc"});
  requests.push_back({.command = Command::unplant, .source = "github:me/app"});
  requests.push_back({.command = Command::quarantine_list});
  requests.push_back({.command = Command::quarantine_clear, .toplevel = "/nix/store/x"});
  requests.push_back({.command = Command::quarantine_clear, .all = true});
  requests.push_back({.command = Command::invite_create, .uses = 3, .expires_at = 1900000000});
  requests.push_back({.command = Command::ssh_host_key});
  requests.push_back({.command = Command::ca});
  requests.push_back({.command = Command::sessions});
  for (const auto& r : requests) {
    std::string line = encode_request(r);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    auto back = decode_request(line);
    ASSERT_TRUE(back.ok()) << line << ": " << back.error().describe();
    EXPECT_EQ(back->command, r.command);
    EXPECT_EQ(back->uri, r.uri);
    EXPECT_EQ(back->source, r.source);
    EXPECT_EQ(back->instance, r.instance);
    EXPECT_EQ(back->lines, r.lines);
    EXPECT_EQ(back->follow, r.follow);
    EXPECT_EQ(back->toplevel, r.toplevel);
    EXPECT_EQ(back->all, r.all);
    EXPECT_EQ(back->uses, r.uses);
    EXPECT_EQ(back->expires_at, r.expires_at);
  }
}

TEST(ControlProtocol, BadRequestsNameTheProblem) {
  struct Case {
    const char* line;
    const char* says;
  };
  for (const auto& c : std::vector<Case>{
           {"not json", "not JSON"},
           {"[1,2]", "JSON object"},
           {R"({"command": "reboot"})", "unknown command \"reboot\""},
           {R"({})", "command"},
           {R"({"command": "plant"})", "\"uri\""},
           {R"({"command": "logs", "instance": "web", "lines": "ten"})", "lines"},
           {R"({"command": "status", "sauce": "x"})", "sauce"},
           {R"({"command": "quarantine_clear"})", "exactly one"},
           {R"({"command": "quarantine_clear", "all": true, "toplevel": "/nix/store/x"})", "exactly one"},
           {R"({"command": "invite_create", "uses": 0})", "uses"},
           {R"({"command": "logs", "instance": "web", "lines": 100000000})", "at most"},
       }) {
    auto r = decode_request(c.line);
    ASSERT_FALSE(r.ok()) << c.line;
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << c.line;
    EXPECT_EQ(r.error().get("stage"), "request") << c.line;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << c.line << " → " << r.error().message;
  }
}

TEST(ControlProtocol, ResponseLinesRoundTrip) {
  auto p = decode_response(encode_progress("build", "building web"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->kind, LineKind::progress);
  EXPECT_EQ(p->body["stage"], "build");
  EXPECT_EQ(p->body["message"], "building web");

  auto d = decode_response(encode_data("line one\nline two\n"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, LineKind::data);
  EXPECT_EQ(d->body.get<std::string>(), "line one\nline two\n");

  auto r = decode_response(encode_result({{"cleared", 2}}, "cleared 2\n"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, LineKind::result);
  EXPECT_EQ(r->body["cleared"], 2);
  EXPECT_EQ(r->text, "cleared 2\n");

  Error e = make_error(Errc::not_found, "no instance web").with("stage", "resolve").with("hint", "see status").with("instance", "web");
  auto back = decode_response(encode_error(e, "logs"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->kind, LineKind::error);
  EXPECT_EQ(back->error.code, Errc::not_found);
  EXPECT_EQ(back->error.message, "no instance web");
  EXPECT_EQ(back->error.get("stage"), "resolve");
  EXPECT_EQ(back->error.get("hint"), "see status");
  EXPECT_EQ(back->error.get("instance"), "web");
}

TEST(ControlProtocol, ErrorWithoutStageTakesTheFallback) {
  auto back = decode_response(encode_error(make_error(Errc::io, "disk full"), "plant"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->error.get("stage"), "plant");
  EXPECT_EQ(back->error.code, Errc::io);
}

TEST(ControlProtocol, InvalidUtf8ConsoleOutputIsReplacedNotThrown) {
  std::string line = encode_data(std::string("ok \xff\xfe bytes", 10));
  auto d = decode_response(line);
  ASSERT_TRUE(d.ok()) << line;
  EXPECT_NE(d->body.get<std::string>().find("ok "), std::string::npos);
}

TEST(ControlProtocol, GarbageResponseIsAProtocolError) {
  for (const char* bad : {"", "{", "[]", R"({"other": 1})"}) {
    auto r = decode_response(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::protocol);
  }
}

TEST(ControlProtocol, ExpiryDurationsAndAbsoluteTimes) {
  const int64_t now = 1'800'000'000;
  EXPECT_EQ(*parse_expiry("30m", now), now + 1800);
  EXPECT_EQ(*parse_expiry("24h", now), now + 86400);
  EXPECT_EQ(*parse_expiry("7d", now), now + 7 * 86400);
  EXPECT_EQ(*parse_expiry("1900000000", now), 1900000000);
  for (const char* bad : {"", "h", "0h", "-1d", "7w", "1.5d", "1700000000", "99999999999d", "7d "}) {
    auto r = parse_expiry(bad, now);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

}  // namespace
}  // namespace seed::control
