#include "api/webhook/webhook_routes.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/webhook/delivery.hpp"

namespace seed::api::webhook {
namespace {

using ::testing::HasSubstr;

TEST(WebhookSignature, MatchesGitHubsPublishedTestVector) {
  // From GitHub's "Validating webhook deliveries".
  EXPECT_EQ(hmac_sha256_hex("It's a Secret to Everybody", "Hello, World!"),
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

struct WebhookRoutesTest : ::testing::Test {
  std::vector<std::string> triggered;
  WebhookRoutes routes{WebhookTargets{
      [](const std::string& hook) -> std::optional<std::string> {
        if (hook == "h-web") return std::string("s3cret");
        return std::nullopt;
      },
      [this](const std::string& hook, const std::string& reason) -> Status {
        triggered.push_back(hook + " " + reason);
        return {};
      }}};

  static std::string push_body(const std::string& ref, const std::string& repo_key = "repository") {
    return nlohmann::json{{"ref", ref}, {repo_key, {{"default_branch", "main"}}}}.dump();
  }
  Request github(const std::string& hook, const std::string& event, const std::string& body, const std::string& secret,
                 const std::string& id = "d-1") {
    Request r;
    r.method = "POST";
    r.path = "/webhook/" + hook;
    r.params = {hook};
    r.body = body;
    r.source = "192.0.2.7";
    r.headers["x-github-event"] = event;
    r.headers["x-github-delivery"] = id;
    r.headers["x-hub-signature-256"] = "sha256=" + hmac_sha256_hex(secret, body);
    return r;
  }
};

TEST_F(WebhookRoutesTest, GitHubPushToTheDefaultBranchTriggersOnceAndARedeliveryIsADuplicate) {
  Request r = github("h-web", "push", push_body("refs/heads/main"), "s3cret");
  Response first = routes.handle(r);
  EXPECT_EQ(first.status, 202);
  ASSERT_EQ(triggered.size(), 1u);
  EXPECT_EQ(triggered[0], "h-web webhook github push main d-1");
  Response again = routes.handle(r);
  EXPECT_EQ(again.status, 200);
  EXPECT_THAT(again.body, HasSubstr("duplicate"));
  EXPECT_EQ(triggered.size(), 1u);
}

TEST_F(WebhookRoutesTest, PingOtherBranchesTagsAndOtherEventsAreAcknowledgedAndIgnored) {
  EXPECT_THAT(routes.handle(github("h-web", "ping", "{}", "s3cret", "p")).body, HasSubstr("pong"));
  EXPECT_THAT(routes.handle(github("h-web", "push", push_body("refs/heads/dev"), "s3cret", "a")).body,
              HasSubstr("only pushes to the default branch (main)"));
  EXPECT_THAT(routes.handle(github("h-web", "push", push_body("refs/tags/v1"), "s3cret", "b")).body,
              HasSubstr("ignored"));
  EXPECT_THAT(routes.handle(github("h-web", "issues", "{}", "s3cret", "c")).body, HasSubstr("this was issues"));
  EXPECT_TRUE(triggered.empty());
}

TEST_F(WebhookRoutesTest, WrongMissingOrForeignSignaturesAndUnknownHooksGetTheSame401) {
  Request wrong = github("h-web", "push", push_body("refs/heads/main"), "not-the-secret");
  Request missing = wrong;
  missing.headers.erase("x-hub-signature-256");
  Request unknown = github("h-nope", "push", push_body("refs/heads/main"), "s3cret");
  Request tampered = github("h-web", "push", push_body("refs/heads/main"), "s3cret");
  tampered.body += " ";
  Request sha1 = github("h-web", "push", push_body("refs/heads/main"), "s3cret");
  sha1.headers["x-hub-signature-256"] = "sha1=" + hmac_sha256_hex("s3cret", sha1.body);
  std::string body401;
  for (Request* r : {&wrong, &missing, &unknown, &tampered, &sha1}) {
    Response resp = routes.handle(*r);
    EXPECT_EQ(resp.status, 401);
    if (body401.empty()) body401 = resp.body;
    EXPECT_EQ(resp.body, body401) << "an unknown hook must answer like a wrong signature";
  }
  EXPECT_TRUE(triggered.empty());
  // A refused delivery's id is not remembered: the genuine one with the same id still works.
  EXPECT_EQ(routes.handle(github("h-web", "push", push_body("refs/heads/main"), "s3cret")).status, 202);
}

TEST_F(WebhookRoutesTest, GiteaSignsTheBodyAndGitLabSendsTheToken) {
  Request gitea;
  gitea.params = {"h-web"};
  gitea.body = push_body("refs/heads/main");
  gitea.headers["x-gitea-event"] = "push";
  gitea.headers["x-gitea-delivery"] = "g-1";
  gitea.headers["x-gitea-signature"] = hmac_sha256_hex("s3cret", gitea.body);
  EXPECT_EQ(routes.handle(gitea).status, 202);

  Request gitlab;
  gitlab.params = {"h-web"};
  gitlab.body = push_body("refs/heads/main", "project");
  gitlab.headers["x-gitlab-event"] = "Push Hook";
  gitlab.headers["x-gitlab-event-uuid"] = "l-1";
  gitlab.headers["x-gitlab-token"] = "wrong";
  EXPECT_EQ(routes.handle(gitlab).status, 401);
  gitlab.headers["x-gitlab-token"] = "s3cret";
  EXPECT_EQ(routes.handle(gitlab).status, 202);
  EXPECT_EQ(triggered.size(), 2u);
}

TEST_F(WebhookRoutesTest, NoForgeHeadersOrABodyThatIsNotJsonAreOneClearError) {
  Request bare;
  bare.params = {"h-web"};
  bare.body = "x";
  Response r = routes.handle(bare);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("X-GitHub-Event"));
  Response notjson = routes.handle(github("h-web", "push", "not json", "s3cret", "n"));
  EXPECT_EQ(notjson.status, 400);
  EXPECT_THAT(notjson.body, HasSubstr("application/json"));
}

TEST(DeliveryLog, ForgetsAfterTheTtlAndStaysBounded) {
  DeliveryLog log(3, std::chrono::seconds(10));
  auto t0 = DeliveryLog::Clock::now();
  EXPECT_TRUE(log.first_time("h", "1", t0));
  EXPECT_FALSE(log.first_time("h", "1", t0));
  EXPECT_TRUE(log.first_time("other", "1", t0));  // per hook
  EXPECT_TRUE(log.first_time("h", "1", t0 + std::chrono::seconds(11)));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(log.first_time("h", "x" + std::to_string(i), t0 + std::chrono::seconds(12)));
  EXPECT_TRUE(log.first_time("h", "x0", t0 + std::chrono::seconds(12)));  // pushed out by newer ids
}

}  // namespace
}  // namespace seed::api::webhook
