#include "api/router.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

namespace seed::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Response text(std::string body) {
  Response r;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

Request req(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

TEST(Router, LiteralAndStarSegments) {
  Router router;
  router.add("GET", "/acme/directory", [](const Request&) { return text("dir"); });
  router.add("POST", "/acme/order/*", [](const Request& r) { return text("order " + r.params.at(0)); });
  router.add("POST", "/acme/order/*/finalize", [](const Request& r) { return text("fin " + r.params.at(0)); });
  auto a = req("GET", "/acme/directory");
  EXPECT_EQ(router.dispatch(a).body, "dir");
  auto b = req("POST", "/acme/order/abc");
  EXPECT_EQ(router.dispatch(b).body, "order abc");
  EXPECT_THAT(b.params, ElementsAre("abc"));
  auto c = req("POST", "/acme/order/abc/finalize");
  EXPECT_EQ(router.dispatch(c).body, "fin abc");
}

TEST(Router, DoubleStarTakesTheRestOfThePath) {
  Router router;
  router.add("GET", "/*/tree/*/**", [](const Request& r) { return text(r.params.at(2)); });
  for (auto [path, rest] : std::vector<std::pair<const char*, const char*>>{
           {"/app/tree/main", ""}, {"/app/tree/main/", ""}, {"/app/tree/main/src", "src"},
           {"/app/tree/main/src/a.cpp", "src/a.cpp"}, {"/app/tree/main//etc", "/etc"}}) {
    auto r = req("GET", path);
    Response out = router.dispatch(r);
    EXPECT_EQ(out.status, 200) << path;
    EXPECT_EQ(out.body, rest) << path;
    EXPECT_EQ(r.params.size(), 3u) << path;
  }
  auto shorter = req("GET", "/app/tree");
  EXPECT_EQ(router.dispatch(shorter).status, 404);
}

TEST(Router, UnknownPathIs404AndAnEmptyStarSegmentDoesNotMatch) {
  Router router;
  router.add("POST", "/acme/order/*", [](const Request&) { return text("x"); });
  for (const char* path : {"/acme/order/", "/acme/order", "/acme/order/a/b", "/", "", "/acme/directory/"}) {
    auto r = req("POST", path);
    Response out = router.dispatch(r);
    EXPECT_EQ(out.status, 404) << path;
    EXPECT_EQ(out.content_type, "application/problem+json");
    EXPECT_EQ(nlohmann::json::parse(out.body).at("status"), 404);
  }
}

TEST(Router, WrongMethodIs405WithAllowAndHeadFallsBackToGet) {
  Router router;
  router.add("GET", "/acme/new-nonce", [](const Request&) { Response r; r.status = 204; return r; });
  router.add("POST", "/acme/new-account", [](const Request&) { return text("acct"); });
  auto post = req("POST", "/acme/new-nonce");
  Response out = router.dispatch(post);
  EXPECT_EQ(out.status, 405);
  ASSERT_EQ(out.headers.size(), 1u);
  EXPECT_EQ(out.headers[0].first, "Allow");
  EXPECT_EQ(out.headers[0].second, "GET, HEAD");
  EXPECT_THAT(out.body, HasSubstr("POST is not allowed on /acme/new-nonce"));
  auto head = req("HEAD", "/acme/new-nonce");
  EXPECT_EQ(router.dispatch(head).status, 204);
  auto get = req("GET", "/acme/new-account");
  Response refused = router.dispatch(get);
  EXPECT_EQ(refused.status, 405);
  EXPECT_EQ(refused.headers[0].second, "POST");
}

TEST(Router, ARouteAddedTwiceIsAProgrammingError) {
  Router router;
  router.add("GET", "/x/*", [](const Request&) { return text(""); });
  EXPECT_THROW(router.add("GET", "/x/*", [](const Request&) { return text(""); }), std::logic_error);
  EXPECT_NO_THROW(router.add("POST", "/x/*", [](const Request&) { return text(""); }));
}

TEST(Router, ARouteMayTakeLargerBodiesThanItsListener) {
  Router router;
  router.add("POST", "/small", [](const Request&) { return text(""); });
  router.add("POST", "/*/git-upload-pack", [](const Request&) { return text(""); }, 4 << 20);
  EXPECT_EQ(router.max_body_bytes("POST", "/app/git-upload-pack", 64 * 1024), size_t{4} << 20);
  EXPECT_EQ(router.max_body_bytes("POST", "/small", 64 * 1024), 64u * 1024);
  // Only the method the limit was given for: another method or path keeps the listener's.
  EXPECT_EQ(router.max_body_bytes("PUT", "/app/git-upload-pack", 64 * 1024), 64u * 1024);
  EXPECT_EQ(router.max_body_bytes("POST", "/nothing/here", 64 * 1024), 64u * 1024);
}

}  // namespace
}  // namespace seed::api
