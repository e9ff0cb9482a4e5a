#include "reconcile/service_json.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seed::reconcile {
namespace {

using ::testing::HasSubstr;

SourceView sample() {
  SourceView s;
  s.record = {"silo:app", "s-abcdefghijkl", "git+file:///srv/silo/app.git", "SHA256:key", 1700000000};
  InstanceView i;
  i.id = {"s-abcdefghijkl", "web"};
  i.source = "silo:app";
  i.state = InstanceState::running;
  i.generation = "g1";
  i.dns_names = {"web.s-abcdefghijkl.seed.example.org"};
  i.ipv4 = "10.88.0.5";
  i.failure = Failure{"quarantine", "generation g2 failed its health check", 1700000100};
  s.instances.push_back(i);
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
  for (const char* key : {"name", "namespace", "source", "desired_generation", "toplevel", "ipv4", "ipv6", "restarts",
                          "started_at"}) {
    EXPECT_TRUE(web.contains(key)) << key;
  }
}

TEST(ServiceJson, TextShowsStateAndErrorsWithTheirStage) {
  const std::string text = status_text({sample()});
  EXPECT_THAT(text, HasSubstr("silo:app"));
  EXPECT_THAT(text, HasSubstr("web  running  gen g1  web.s-abcdefghijkl.seed.example.org"));
  EXPECT_THAT(text, HasSubstr("error [quarantine]: generation g2 failed its health check"));
  EXPECT_EQ(status_text({}), "nothing planted\n");
}

}  // namespace
}  // namespace seed::reconcile
