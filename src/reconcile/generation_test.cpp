#include "reconcile/generation.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace seed::reconcile {
namespace {

using nlohmann::json;

const std::string kTop = "/nix/store/0c3gm4ykb6pn5x6fy4m3mgxg3kq0gsb9-nixos-system-web";

json meta() {
  return json::parse(R"({"name":"web","size":"xs","resources":{"vcpus":1,"memoryMiB":512},
    "expose":{"http":{"port":80,"protocol":"http"}},"storage":{"data":{"size":"1Gi"}},
    "rollout":"recreate","health":null})");
}

TEST(Generation, StableAndKeyOrderIndependent) {
  std::string g = generation_of(kTop, meta());
  EXPECT_EQ(g.size(), 16u);
  EXPECT_EQ(generation_of(kTop, meta()), g);
  json reordered = json::parse(R"({"storage":{"data":{"size":"1Gi"}},"health":null,"rollout":"recreate",
    "expose":{"http":{"protocol":"http","port":80}},"resources":{"memoryMiB":512,"vcpus":1},
    "size":"xs","name":"web"})");
  EXPECT_EQ(generation_of(kTop, reordered), g);
}

TEST(Generation, ChangesWithTheClosureAndWithRuntimeMeta) {
  std::string g = generation_of(kTop, meta());
  EXPECT_NE(generation_of(kTop + "x", meta()), g);
  json m = meta();
  m["storage"]["data"]["size"] = "2Gi";
  EXPECT_NE(generation_of(kTop, m), g);
  m = meta();
  m["expose"]["http"]["port"] = 8080;
  EXPECT_NE(generation_of(kTop, m), g);
}

TEST(Generation, DeployOnlyFieldsDoNotRestart) {
  std::string g = generation_of(kTop, meta());
  json m = meta();
  m["rollout"] = "rolling";
  m["health"] = {{"http", "/healthz"}};
  EXPECT_EQ(generation_of(kTop, m), g);
}

}  // namespace
}  // namespace seed::reconcile
