// The nixpkgs-free test flake, through real Debian nix the way seedd will drive it:
// `nix eval --json FLAKE#seeds --apply ...` collects every instance's meta, and
// `nix build --no-link --json FLAKE#seeds.<name>.toplevel` builds a toplevel with the layout
// seedd boots. Needs the hermetic guest (SEED_GUEST_DIR), so it is in suite 'nix', not 'unit'.
#include <stdlib.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/fd.hpp"
#include "common/testing/temp_dir.hpp"
#include "test_flake.hpp"
#include "tests/nix/nix_runner.hpp"

namespace seed::testflake {
namespace {

using ::testing::HasSubstr;
using nixtest::run_nix;

class NixFlake : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* guest = ::getenv("SEED_GUEST_DIR");
    sources_.source_dir = nixtest::source_dir();
    sources_.guest_dir = guest != nullptr ? guest : "build/guest";
    ASSERT_TRUE(std::filesystem::exists(sources_.guest_dir + "/kernel"))
        << "no test guest in " << sources_.guest_dir
        << ": run tests/guest/build-guest.sh " << sources_.guest_dir << " (scripts/test does)";
  }

  // A fresh flake directory holding `flake_nix` (the example when empty); returns "path:DIR".
  std::string flake(const std::string& flake_nix = "") {
    dirs_.push_back(std::make_unique<testing::TempDir>());
    std::string text = flake_nix;
    if (text.empty()) {
      auto example = example_flake(sources_);
      EXPECT_TRUE(example.ok()) << example.error().describe();
      text = example.ok() ? *example : "";
    }
    auto st = write_test_flake(dirs_.back()->path(), text, sources_);
    EXPECT_TRUE(st.ok()) << st.error().describe();
    return "path:" + dirs_.back()->path();
  }

  nixtest::NixRun nix(std::vector<std::string> argv) {
    argv.insert(argv.begin(), "nix");
    auto r = run_nix(std::move(argv), home_.path(), 300);
    EXPECT_TRUE(r.ok()) << r.error().describe();
    return r.ok() ? *r : nixtest::NixRun{};
  }

  // Builds FLAKE#seeds.NAME.toplevel; returns its store path ("" on failure, with a test failure).
  std::string build(const std::string& flake, const std::string& name) {
    auto r = nix({"build", "--no-link", "--json", flake + "#seeds." + name + ".toplevel"});
    EXPECT_TRUE(r.ok) << r.command << "\n" << r.err;
    if (!r.ok) return "";
    // nix 2.8 has no --print-out-paths: [{"drvPath": ..., "outputs": {"out": PATH}}].
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_array() && j.size() == 1) << r.out;
    if (!j.is_array() || j.empty()) return "";
    return j[0]["outputs"]["out"].get<std::string>();
  }

  FlakeSources sources_;
  testing::TempDir home_;
  std::vector<std::unique_ptr<testing::TempDir>> dirs_;
};

TEST_F(NixFlake, EvalCollectsTheMetaOfEveryInstance) {
  auto r = nix({"eval", "--json", flake() + "#seeds", "--apply", "builtins.mapAttrs (n: s: s.meta)"});
  ASSERT_TRUE(r.ok) << r.err;
  auto meta = nlohmann::json::parse(r.out);
  ASSERT_EQ(meta.size(), 2u) << meta.dump(2);
  EXPECT_EQ(meta["web"]["name"], "web");
  EXPECT_EQ(meta["web"]["expose"]["http"]["port"], 80);
  EXPECT_EQ(meta["web"]["storage"]["data"]["bytes"], 1073741824);
  EXPECT_EQ(meta["web"]["acme"], true);
  EXPECT_EQ(meta["api"]["resources"]["memory_mib"], 1024);
  EXPECT_EQ(meta["api"]["expose"]["api"]["protocol"], "http");
  EXPECT_EQ(meta["api"]["connect"]["web"]["env"], "SEED_WEB_HOST");
  EXPECT_EQ(meta["api"]["health"]["port"], 3000);
  EXPECT_EQ(meta["api"]["schema"], 1);
}

TEST_F(NixFlake, BuildGivesTheToplevelLayoutSeeddBoots) {
  std::string out = build(flake(), "web");
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.rfind("/nix/store/", 0), 0u) << out;
  for (const char* f : {"kernel", "initrd", "init"}) {
    SCOPED_TRACE(f);
    auto built = read_file(out + "/" + f);
    auto original = read_file(sources_.guest_dir + "/" + f);
    ASSERT_TRUE(built.ok()) << built.error().describe();
    ASSERT_TRUE(original.ok()) << original.error().describe();
    EXPECT_TRUE(*built == *original) << out << "/" << f << " differs from the guest's";
  }
  auto params = read_file(out + "/kernel-params");
  auto base = read_file(sources_.guest_dir + "/kernel-params");
  ASSERT_TRUE(params.ok() && base.ok());
  std::string base_line = base->substr(0, base->find('\n'));
  EXPECT_EQ(*params, base_line + " seed.hostname=web seed.httpd=80:/seed/storage/data/www\n");
}

TEST_F(NixFlake, SameInputsGiveTheSameStorePathAndAChangeANewOne) {
  auto example = example_flake(sources_);
  ASSERT_TRUE(example.ok());
  std::string first = build(flake(), "api");
  std::string again = build(flake(), "api");  // another directory, same content
  std::string changed_text = *example;
  auto at = changed_text.find("seed.httpd=3000:/srv");
  ASSERT_NE(at, std::string::npos);
  changed_text.replace(at, 20, "seed.httpd=3001:/srv");
  std::string changed = build(flake(changed_text), "api");
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first, again);
  EXPECT_NE(first, changed);
  EXPECT_FALSE(changed.empty());
}

TEST_F(NixFlake, AnInvalidSeedFailsAtEvalWithTheRuleMessage) {
  auto example = example_flake(sources_);
  ASSERT_TRUE(example.ok());
  std::string bad = *example;
  auto at = bad.find("size = \"s\";");
  ASSERT_NE(at, std::string::npos);
  bad.replace(at, 11, "size = \"huge\"; expose.web = 3000;");
  std::string f = flake(bad);

  auto eval = nix({"eval", "--json", f + "#seeds", "--apply", "builtins.mapAttrs (n: s: s.meta)"});
  EXPECT_FALSE(eval.ok) << eval.out;
  EXPECT_THAT(eval.err, HasSubstr("seed instance \"api\" has 2 invalid option value(s)"));
  EXPECT_THAT(eval.err, HasSubstr("seed.size: \"huge\" is not one of \"xs\", \"s\", \"m\", \"l\", \"xl\""));
  EXPECT_THAT(eval.err, HasSubstr("seed.expose: port 3000/tcp is exposed more than once"));

  // The build of that instance stops at evaluation too; the valid one still builds.
  auto b = nix({"build", "--no-link", "--json", f + "#seeds.api.toplevel"});
  EXPECT_FALSE(b.ok);
  EXPECT_THAT(b.err, HasSubstr("seed.size"));
  EXPECT_FALSE(build(f, "web").empty());
}

}  // namespace
}  // namespace seed::testflake
