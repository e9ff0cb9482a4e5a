#include "reconcile/service_json.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seed::reconcile {
namespace {

using ::testing::HasSubstr;

SourceView sample() {
  SourceView s;
  s.record = {"silo:app", "s-abcdefghijkl", "git+file:///srv/silo/app.git", "SHA256:key", 1700000000, 1700000100, "webhook"};
  InstanceView i;
  i.id = {"s-abcdefghijkl", "web"};
  i.source = "silo:app";
  i.state = InstanceState::running;
  i.generation = "g1";
  i.dns_names = {"web.s-abcdefghijkl.seed.example.org"};
  i.ipv4 = "10.88.0.5";
  i.failure = Failure{"quarantine", "generation g2 failed its health check", 1700000100};
  i.shoots_ran = 5;
  i.shoots_running = 2;
  s.instances.push_back(i);
  s.deploys = {{"webhook", 1700000300, 2500, "failed", "build", "builder for web failed\nwith 40 lines"},
               {"plant", 1700000000, 9000, "ok", "done", ""}};
  return s;
}

TEST(ServiceJson, StatusHasTheDocumentedStableFields) {
  auto j = status_json({sample()});
  EXPECT_EQ(j["schema"], 1);
  const auto& src = j["sources"][0];
  EXPECT_EQ(src["source"], "silo:app");
  EXPECT_EQ(src["namespace"], "s-abcdefghijkl");
  EXPECT_TRUE(src["failure"].is_null());
  const auto& web = src["instances"][0];
  EXPECT_EQ(web["state"], "running");
  EXPECT_EQ(web["generation"], "g1");
  EXPECT_EQ(web["dns_names"][0], "web.s-abcdefghijkl.seed.example.org");
  EXPECT_EQ(web["failure"]["stage"], "quarantine");
  EXPECT_EQ(web["shoots"], (nlohmann::json{{"ran", 5}, {"running", 2}}));
  ASSERT_EQ(src["deploys"].size(), 2u);
  EXPECT_EQ(src["deploys"][0], (nlohmann::json{{"because", "webhook"}, {"started_at", 1700000300}, {"duration_ms", 2500},
                                               {"outcome", "failed"}, {"stage", "build"},
                                               {"error", "builder for web failed\nwith 40 lines"}}));
  for (const char* key : {"name", "namespace", "source", "desired_generation", "toplevel", "ipv4", "ipv6", "restarts",
                          "started_at"}) {
    EXPECT_TRUE(web.contains(key)) << key;
  }
}

TEST(ServiceJson, TextShowsStateAndErrorsWithTheirStage) {
  const std::string text = status_text({sample()});
  EXPECT_THAT(text, HasSubstr("silo:app"));
  EXPECT_THAT(text, HasSubstr("web  running  gen g1  web.s-abcdefghijkl.seed.example.org  10.88.0.5  shoots 5 ran, 2 running\n"));
  EXPECT_THAT(text, HasSubstr("error [quarantine]: generation g2 failed its health check"));
  // The recent deploys, newest first, a failure with its stage and the error's first line.
  EXPECT_THAT(text, HasSubstr("  deploy 2023-11-14T22:18:20Z webhook: failed at build in 2500 ms: builder for web failed\n"
                              "  deploy 2023-11-14T22:13:20Z plant: ok in 9000 ms\n"));
  EXPECT_EQ(status_text({}), "nothing planted\n");
}

TEST(ServiceJson, LogEntriesTextAndJson) {
  LogEntry console;
  console.message = "Linux version 6.1";
  EXPECT_EQ(log_line(console), "Linux version 6.1");
  EXPECT_EQ(to_json(console), (nlohmann::json{{"source", "console"}, {"boot", 0}, {"timestamp", 0},
                                              {"received", 0}, {"message", "Linux version 6.1"}}));
  LogEntry j;
  j.source = "journal";
  j.boot = -1;
  j.timestamp_us = 1796378400000001;
  j.received_us = 1796378400000002;
  j.unit = "nginx.service";
  j.priority = 3;
  j.boot_id = "b1";
  j.message = "bind failed";
  EXPECT_EQ(log_line(j), "2026-12-04T10:00:00.000001Z nginx.service[3]: bind failed");
  auto jj = to_json(j);
  EXPECT_EQ(jj["unit"], "nginx.service");
  EXPECT_EQ(jj["priority"], 3);
  EXPECT_EQ(jj["timestamp"], 1796378400000001);
  EXPECT_EQ(jj["boot_id"], "b1");
  EXPECT_EQ(jj["boot"], -1);
  EXPECT_FALSE(jj.contains("raw"));
  LogEntry boot;
  boot.source = "boot";
  boot.timestamp_us = 1796378400000000;
  boot.message = "VM started";
  EXPECT_EQ(log_line(boot), "-- boot 0 2026-12-04T10:00:00.000000Z: VM started --");
}

}  // namespace
}  // namespace seed::reconcile
