#include "reconcile/meta.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "common/fd.hpp"

namespace seed::reconcile {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

std::string source_dir() {
  const char* d = std::getenv("SEED_SOURCE_DIR");
  return d ? d : ".";
}

json multi_web() { return json::parse(*read_file(source_dir() + "/src/reconcile/testdata/meta_multi_web.json")); }

Error failure(const json& meta, const std::string& attr = "web") {
  auto r = parse_instance_meta(meta, attr, "silo:app");
  EXPECT_FALSE(r) << meta.dump();
  return r ? Error{} : r.error();
}

TEST(Meta, ReadsWhatMkSeedProduces) {
  auto r = parse_instance_meta(multi_web(), "web", "silo:app");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->name, "web");
  EXPECT_EQ(r->vcpus, 1u);
  EXPECT_EQ(r->memory_mib, 512u);
  EXPECT_EQ(r->expose.at("https").port, 443);
  EXPECT_EQ(r->expose.at("https").protocol, "http");
  EXPECT_EQ(r->storage.at("caddy").bytes, 100ull << 20);
  EXPECT_EQ(r->storage.at("caddy").mount_point, "/var/lib/caddy");
  EXPECT_EQ(r->connect.at("api").port, 3000);
  EXPECT_EQ(r->connect.at("api").env, "SEED_API_HOST");
  EXPECT_TRUE(r->acme);
  EXPECT_FALSE(r->shoot);
  EXPECT_EQ(r->rollout, Rollout::recreate);
  EXPECT_FALSE(r->health.has_value());
  EXPECT_EQ(r->raw, multi_web());
}

TEST(Meta, EveryFixtureTheNixLayerProducesIsAccepted) {
  // tests/nix/expected holds meta that real nix evaluation produced from lib/meta.nix: seedd
  // must read every one of them.
  const std::string dir = source_dir() + "/tests/nix/expected";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no " << dir << " in this tree (the Nix layer is not merged)";
  size_t n = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    json meta = json::parse(*read_file(f.path().string()));
    auto r = parse_instance_meta(meta, meta.value("name", ""), "fixture");
    EXPECT_TRUE(r) << f.path() << ": " << (r ? "" : r.error().describe());
    ++n;
  }
  EXPECT_GT(n, 0u);
}

TEST(Meta, HealthForms) {
  json m = multi_web();
  m["health"] = {{"type", "http"}, {"path", "/healthz"}, {"port", 80}, {"timeout_s", 30}};
  auto r = parse_instance_meta(m, "web", "silo:app");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->health->path, "/healthz");
  EXPECT_EQ(r->health->timeout_s, 30u);
  m["health"] = {{"type", "command"}, {"command", {"systemctl", "is-active", "app"}}, {"timeout_s", 120}};
  r = parse_instance_meta(m, "web", "silo:app");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->health->command.size(), 3u);
}

TEST(Meta, HandWrittenMetaIsCheckedAsStrictlyAsNixWould) {
  // A tenant can bypass mkSeed and write meta by hand: seedd re-checks every bound.
  struct Bad {
    const char* what;
    std::function<void(json&)> edit;
    const char* expect;
  };
  std::vector<Bad> cases = {
      {"unknown key", [](json& m) { m["privileged"] = true; }, "privileged"},
      {"missing key", [](json& m) { m.erase("storage"); }, "storage: missing"},
      {"wrong type", [](json& m) { m["acme"] = "yes"; }, "acme"},
      {"bad size", [](json& m) { m["size"] = "huge"; }, "size"},
      {"vcpus", [](json& m) { m["resources"]["vcpus"] = 1000; }, "resources.vcpus"},
      {"memory", [](json& m) { m["resources"]["memory_mib"] = 1; }, "resources.memory_mib"},
      {"port 0", [](json& m) { m["expose"]["https"]["port"] = 0; }, "expose.https.port"},
      {"port 70000", [](json& m) { m["expose"]["https"]["port"] = 70000; }, "expose.https.port"},
      {"protocol", [](json& m) { m["expose"]["https"]["protocol"] = "sctp"; }, "protocol"},
      {"transports", [](json& m) { m["expose"]["https"]["transports"] = {"udp"}; }, "transports"},
      {"same port twice",
       [](json& m) { m["expose"]["web2"] = m["expose"]["https"]; }, "also exposed by"},
      {"mount on /nix", [](json& m) { m["storage"]["data"]["mount_point"] = "/nix/store"; }, "mount_point"},
      {"mount relative", [](json& m) { m["storage"]["data"]["mount_point"] = "data"; }, "mount_point"},
      {"mount dotdot", [](json& m) { m["storage"]["data"]["mount_point"] = "/srv/../etc"; }, "mount_point"},
      {"mount on tpm", [](json& m) { m["storage"]["data"]["mount_point"] = "/seed/tpm/x"; }, "mount_point"},
      {"same mount twice",
       [](json& m) { m["storage"]["data"]["mount_point"] = "/var/lib/caddy"; }, "used by two volumes"},
      {"share tag", [](json& m) { m["storage"]["data"]["share"] = "nix-store"; }, "share"},
      {"tiny volume", [](json& m) { m["storage"]["data"]["bytes"] = 1; }, "bytes"},
      {"volume name", [](json& m) { m["storage"]["a/b"] = m["storage"]["data"]; }, "volume names"},
      {"env name", [](json& m) { m["connect"]["api"]["env"] = "LD_PRELOAD"; }, "SEED_API_HOST"},
      {"env injection", [](json& m) { m["connect"]["api"]["value"] = "api\nLD_PRELOAD=/x"; }, "host names"},
      {"name mismatch", [](json& m) { m["name"] = "other"; }, "differs from the attribute name"},
      {"health timeout", [](json& m) { m["health"] = {{"type", "command"}, {"command", {"true"}}, {"timeout_s", 0}}; },
       "timeout_s"},
      {"health path", [](json& m) { m["health"] = {{"type", "http"}, {"path", "x"}, {"port", 80}, {"timeout_s", 5}}; },
       "health.path"},
  };
  for (const auto& c : cases) {
    json m = multi_web();
    c.edit(m);
    Error e = failure(m);
    EXPECT_EQ(e.code, Errc::invalid_argument) << c.what;
    EXPECT_EQ(e.get("stage"), "eval") << c.what;
    EXPECT_EQ(e.get("instance"), "web") << c.what;
    EXPECT_THAT(e.message, HasSubstr(c.expect)) << c.what;
    EXPECT_THAT(e.message, HasSubstr("silo:app#seeds.web.meta")) << c.what;
  }
}

TEST(Meta, AllProblemsAreReportedAtOnce) {
  json m = multi_web();
  m["size"] = "huge";
  m["expose"]["https"]["port"] = 0;
  m["storage"]["data"]["mount_point"] = "/proc";
  Error e = failure(m);
  EXPECT_THAT(e.message, HasSubstr("3 problems"));
}

TEST(Meta, OtherSchemaIsRefusedWithWhatToDo) {
  json m = multi_web();
  m["schema"] = 2;
  Error e = failure(m);
  EXPECT_THAT(e.message, HasSubstr("schema 2 is not supported"));
}

TEST(Meta, InstanceNameMustBeADnsLabel) {
  json m = multi_web();
  m["name"] = "Web_1";
  EXPECT_THAT(failure(m, "Web_1").message, HasSubstr("DNS label"));
}

}  // namespace
}  // namespace seed::reconcile
