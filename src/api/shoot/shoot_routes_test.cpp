// POST /shoot's HTTP surface: caller attribution, request parsing, the reply and the status
// codes. The engine behind it is a double here (a ShootTargets that answers what the test
// sets): what it cannot catch, that the engine really runs the command in a clone with the
// caller's shares, is covered by the shoot-vm tests (src/vmm/shoot) and ShootGate's tests.
#include "api/shoot/shoot_routes.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace seed::api::shoot {
namespace {

using ::testing::HasSubstr;

struct ShootRoutesTest : ::testing::Test {
  reconcile::AddressOwner web{{"ns1", "web"}, {"web.ns1.seed.test"}, false, true};
  reconcile::AddressOwner plain{{"ns1", "plain"}, {"plain.ns1.seed.test"}, false, false};
  std::optional<reconcile::ShootRequest> seen;
  Result<reconcile::ShootReply> answer = reconcile::ShootReply{};
  ShootRoutes routes{ShootTargets{
      [this](const std::string& source) -> Result<reconcile::AddressOwner> {
        if (source == "10.77.0.2") return web;
        if (source == "10.77.0.3") return plain;
        return make_error(Errc::not_found, "nobody");
      },
      [this](const reconcile::InstanceId& id, const reconcile::ShootRequest& r, const std::atomic<bool>&) {
        EXPECT_EQ(id.name, "web");
        seen = r;
        return answer;
      }}};

  Response post(const std::string& source, const std::string& body) {
    Request r;
    r.method = "POST";
    r.path = "/shoot";
    r.source = source;
    r.body = body;
    return routes.handle(r);
  }
};

TEST_F(ShootRoutesTest, RunsTheCommandForTheInstanceAtTheSourceAddress) {
  reconcile::ShootReply reply;
  reply.exit_code = 3;
  reply.out = "out\n";
  reply.err = std::string("bad \xff byte");
  reply.truncated = true;
  reply.duration_ms = 42;
  answer = reply;
  auto r = post("10.77.0.2", R"({"command":["sh","-c","exit 3"],"timeout":5000,"env":{"A":"b"},"stdin":"in","cwd":"/data","size":"small"})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->command, (std::vector<std::string>{"sh", "-c", "exit 3"}));
  EXPECT_EQ(seen->timeout.count(), 5000);
  EXPECT_EQ(seen->env.at("A"), "b");
  EXPECT_EQ(seen->stdin_data, "in");
  EXPECT_EQ(seen->cwd, "/data");
  EXPECT_EQ(seen->size, "small");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["exitCode"], 3);
  EXPECT_EQ(j["stdout"], "out\n");
  EXPECT_FALSE(j.contains("stdoutEncoding"));
  EXPECT_EQ(j["stderr"], "YmFkIP8gYnl0ZQ==");  // not UTF-8: the exact bytes as base64
  EXPECT_EQ(j["stderrEncoding"], "base64");
  EXPECT_EQ(j["truncated"], true);
  EXPECT_EQ(j["timedOut"], false);
  EXPECT_TRUE(j["signal"].is_null());
  EXPECT_EQ(j["durationMs"], 42);
}

TEST_F(ShootRoutesTest, DefaultsApplyWhenOnlyTheCommandIsGiven) {
  ASSERT_EQ(post("10.77.0.2", R"({"command":["true"]})").status, 200);
  EXPECT_EQ(seen->timeout.count(), 30000);
  EXPECT_EQ(seen->cwd, "/");
  EXPECT_TRUE(seen->env.empty());
}

TEST_F(ShootRoutesTest, UnknownSourcesAndInstancesWithoutShootsAreRefused) {
  auto stranger = post("10.77.0.99", R"({"command":["true"]})");
  EXPECT_EQ(stranger.status, 403);
  EXPECT_THAT(stranger.body, HasSubstr("no instance of this node sends from 10.77.0.99"));
  auto off = post("10.77.0.3", R"({"command":["true"]})");
  EXPECT_EQ(off.status, 403);
  EXPECT_THAT(off.body, HasSubstr("seed.shoot.enable = true"));
  EXPECT_FALSE(seen);
}

TEST_F(ShootRoutesTest, BadBodiesGetOneClearError) {
  for (const auto& [body, says] : std::vector<std::pair<std::string, std::string>>{
           {"not json", "not a JSON object"},
           {"[]", "not a JSON object"},
           {"{}", "command is required"},
           {R"({"command":[]})", "non-empty array"},
           {R"({"command":"ls -l"})", "non-empty array"},
           {R"({"command":["ls",1]})", "non-empty array"},
           {R"({"command":["ls"],"timeout":0})", "positive number"},
           {R"({"command":["ls"],"timeout":"5s"})", "positive number"},
           {R"({"command":["ls"],"env":{"A":1}})", "env.A must be a string"},
           {R"({"command":["ls"],"stdin":5})", "stdin must be a string"},
           {R"({"command":["ls"],"cmd":["x"]})", "unknown field 'cmd'"},
       }) {
    auto r = post("10.77.0.2", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_THAT(r.body, HasSubstr(says)) << body;
  }
  EXPECT_FALSE(seen);
}

TEST_F(ShootRoutesTest, EngineRefusalsMapToTheirStatus) {
  answer = make_error(Errc::unavailable, "this node's shoots are busy").with("retry_after", "10");
  auto busy = post("10.77.0.2", R"({"command":["true"]})");
  EXPECT_EQ(busy.status, 429);
  ASSERT_EQ(busy.headers.size(), 1u);
  EXPECT_EQ(busy.headers[0], (std::pair<std::string, std::string>{"Retry-After", "10"}));
  answer = make_error(Errc::invalid_argument, "timeout 900000 ms is beyond this node's cap of 300000 ms");
  auto capped = post("10.77.0.2", R"({"command":["true"],"timeout":900000})");
  EXPECT_EQ(capped.status, 400);
  EXPECT_THAT(capped.body, HasSubstr("beyond this node's cap"));
  answer = make_error(Errc::unavailable, "shoots are off on this node");
  EXPECT_EQ(post("10.77.0.2", R"({"command":["true"]})").status, 503);
}

}  // namespace
}  // namespace seed::api::shoot
