#include "reconcile/flake_source.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/process.hpp"

namespace seed::reconcile {
namespace {

using ::testing::HasSubstr;

FlakeSource parse(std::string_view uri) {
  auto r = parse_flake_source(uri, "/var/lib/seed/silo");
  EXPECT_TRUE(r) << uri << ": " << (r ? "" : r.error().describe());
  return r ? *r : FlakeSource{};
}

Error failure(std::string_view uri) {
  auto r = parse_flake_source(uri, "/var/lib/seed/silo");
  EXPECT_FALSE(r) << uri << " was accepted as " << (r ? r->canonical : "");
  return r ? Error{} : r.error();
}

// The vectors of docs/namespaces.md. A namespace is part of every instance's DNS name, so
// these may never change.
TEST(FlakeSource, NamespaceVectors) {
  EXPECT_EQ(namespace_of("silo:my-app"), "s-2zqriuhzh5an");
  EXPECT_EQ(namespace_of("github:alice/my-app"), "s-nhfle32nexvn");
  EXPECT_EQ(namespace_of("github:alice/my-app/dev?rev=0123abc"), "s-fivzzmjjohxw");
  EXPECT_EQ(namespace_of("git+https://git.example.org/team/site?dir=deploy&ref=main"), "s-w5wwxkl5ld5f");
  EXPECT_EQ(namespace_of("git+file:///srv/flakes/demo"), "s-jnuloj35kgpb");
}

TEST(FlakeSource, NamespaceAgreesWithAnIndependentImplementation) {
  // Python's hashlib and base64 compute the documented algorithm on their own.
  std::vector<std::string> inputs = {"silo:a", "github:x/y", "git+ssh://git@host/p", std::string(300, 'z')};
  std::string script =
      "import hashlib,base64,sys\n"
      "for line in sys.stdin.read().split('\\n'):\n"
      "  print('s-'+base64.b32encode(hashlib.sha256(line.encode()).digest()).decode().lower()[:12])\n";
  std::string input;
  for (size_t i = 0; i < inputs.size(); ++i) input += (i ? "\n" : "") + inputs[i];
  SpawnOptions o;
  o.argv = {"python3", "-c", script};
  o.stdout_mode = Output::capture;
  RunOptions ro;
  ro.input = input;
  auto r = run_checked(o, ro);
  ASSERT_TRUE(r) << r.error().describe();
  std::string expected;
  for (const auto& in : inputs) expected += namespace_of(in) + "\n";
  EXPECT_EQ(r->out, expected);
}

TEST(FlakeSource, NamespaceIsADnsLabel) {
  for (const char* uri : {"silo:x", "github:a/b", "git+https://h/p"}) {
    std::string ns = parse(uri).ns;
    ASSERT_EQ(ns.size(), 14u) << ns;
    EXPECT_EQ(ns.substr(0, 2), "s-");
    for (char c : ns.substr(2)) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) << ns;
  }
}

TEST(FlakeSource, Silo) {
  FlakeSource s = parse("silo:my-app");
  EXPECT_EQ(s.kind, SourceKind::silo);
  EXPECT_EQ(s.canonical, "silo:my-app");
  EXPECT_EQ(s.nix_ref, "git+file:///var/lib/seed/silo/my-app.git");
  EXPECT_EQ(parse("silo:my-app.git").canonical, "silo:my-app");
  // Where the node keeps repositories is not part of the identity.
  auto elsewhere = parse_flake_source("silo:my-app", "/srv/silo");
  ASSERT_TRUE(elsewhere);
  EXPECT_EQ(elsewhere->ns, s.ns);
  for (const char* bad : {"silo:", "silo:../etc", "silo:a/b", "silo:.hidden", "silo:-x", "silo:My-App",
                          "silo:a..b"}) {
    EXPECT_THAT(failure(bad).message, HasSubstr("Silo repository name")) << bad;
  }
}

TEST(FlakeSource, GithubIgnoresCaseOfOwnerAndRepoButNotOfRef) {
  FlakeSource s = parse("github:Alice/My-App");
  EXPECT_EQ(s.canonical, "github:alice/my-app");
  EXPECT_EQ(s.ns, parse("github:alice/my-app").ns);
  EXPECT_EQ(parse("github:alice/app/Feature-X").canonical, "github:alice/app/Feature-X");
  EXPECT_NE(parse("github:alice/app/dev").ns, parse("github:alice/app").ns);
  EXPECT_EQ(parse("github:alice/app?rev=abc&dir=x").canonical, "github:alice/app?dir=x&rev=abc");
  for (const char* bad : {"github:alice", "github:/app", "github:-a/app", "github:a/b/c/d", "github:a/..",
                          "github:a/b?token=x", "github:a/b?ref=", "github:a/b?ref=x&ref=y"}) {
    (void)failure(bad);
  }
}

TEST(FlakeSource, GitUrisAreCanonicalized) {
  EXPECT_EQ(parse("GIT+HTTPS://Git.Example.org/Team/Site/").canonical, "git+https://git.example.org/Team/Site");
  EXPECT_EQ(parse("git+https://h/p?ref=main&dir=deploy").canonical, "git+https://h/p?dir=deploy&ref=main");
  EXPECT_EQ(parse("git+ssh://git@host/org/repo.git").canonical, "git+ssh://git@host/org/repo.git");
  EXPECT_EQ(parse("git+file:///srv/flakes/demo").nix_ref, "git+file:///srv/flakes/demo");
}

TEST(FlakeSource, BadUrisNameTheUriAndTheAcceptedForms) {
  Error e = failure("path:/etc");
  EXPECT_EQ(e.code, Errc::invalid_argument);
  EXPECT_THAT(e.message, HasSubstr("path:/etc"));
  EXPECT_EQ(e.get("stage"), "source");
  EXPECT_THAT(std::string(*e.get("hint")), HasSubstr("github:<owner>/<repo>"));
  EXPECT_THAT(failure("").message, HasSubstr("empty"));
  EXPECT_THAT(failure("github:a/b#seeds").message, HasSubstr("'#'"));
  EXPECT_THAT(failure("github:a/b c").message, HasSubstr("whitespace"));
  EXPECT_THAT(failure("git+https://user:pw@host/p").message, HasSubstr("credentials"));
  EXPECT_THAT(failure("git+ftp://host/p").message, HasSubstr("not supported"));
  EXPECT_THAT(failure("git+file://host/p").message, HasSubstr("no host"));
  EXPECT_THAT(failure("git+https://host/a/../b").message, HasSubstr("'..'"));
  EXPECT_THAT(failure("git+https://host").message, HasSubstr("no repository path"));
  EXPECT_THAT(failure("github:" + std::string(2000, 'a')).message, HasSubstr("longer than 1024"));
}

}  // namespace
}  // namespace seed::reconcile
