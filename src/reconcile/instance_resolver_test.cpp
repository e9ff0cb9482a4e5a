#include "reconcile/instance_resolver.hpp"

#include <gtest/gtest.h>

namespace seed::reconcile {
namespace {


SourceView source(const std::string& uri, const std::string& ns, std::vector<std::string> names) {
  SourceView s;
  s.record.canonical = uri;
  s.record.ns = ns;
  for (const auto& n : names) {
    InstanceView i;
    i.id = {ns, n};
    i.source = uri;
    s.instances.push_back(i);
  }
  return s;
}

const std::vector<SourceView> node = {source("github:a/app", "aaaa", {"web", "db"}),
                                      source("git+file:///srv/b", "bbbb", {"web", "worker"})};

TEST(InstanceSpec, ParsesTheThreeForms) {
  auto plain = parse_instance_spec("web");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->name, "web");
  EXPECT_EQ(plain->ns, "");
  auto dotted = parse_instance_spec("web.aaaa");
  ASSERT_TRUE(dotted.ok());
  EXPECT_EQ(dotted->name, "web");
  EXPECT_EQ(dotted->ns, "aaaa");
  auto sourced = parse_instance_spec("git+file:///srv/b/web");
  ASSERT_TRUE(sourced.ok());
  EXPECT_EQ(sourced->source, "git+file:///srv/b");
  EXPECT_EQ(sourced->name, "web");
}

TEST(InstanceSpec, RejectsWhatIsNoInstanceName) {
  for (const char* bad : {"", "Web", "web.", ".aaaa", "/web", "github:a/app/", "we b", "web.a.b"}) {
    auto spec = parse_instance_spec(bad);
    ASSERT_FALSE(spec.ok()) << bad;
    EXPECT_EQ(spec.error().code, Errc::invalid_argument) << bad;
    EXPECT_EQ(spec.error().get("stage"), "resolve");
  }
}

TEST(InstanceMatch, UniqueNameResolves) {
  auto id = match_instance({.name = "worker"}, node);
  ASSERT_TRUE(id.ok()) << id.error().describe();
  EXPECT_EQ(id->str(), "worker.bbbb");
}

TEST(InstanceMatch, AmbiguousNameListsEveryCandidate) {
  auto id = match_instance({.name = "web"}, node);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, Errc::invalid_argument);
  EXPECT_NE(id.error().message.find("web.aaaa (github:a/app)"), std::string::npos) << id.error().message;
  EXPECT_NE(id.error().message.find("web.bbbb (git+file:///srv/b)"), std::string::npos) << id.error().message;
}

TEST(InstanceMatch, NamespaceDisambiguates) {
  auto id = match_instance({.name = "web", .ns = "bbbb"}, node);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->ns, "bbbb");
}

TEST(InstanceMatch, UnknownIsNotFound) {
  auto id = match_instance({.name = "web", .ns = "cccc"}, node);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, Errc::not_found);
  EXPECT_NE(id.error().message.find("web.cccc"), std::string::npos);
}

}  // namespace
}  // namespace seed::reconcile
