// Each template's flake.nix under real nix (no nixpkgs): `inputs.seed.url = "flake:seed"` is
// resolved through a registry file exactly as seedd passes one (`--option flake-registry`,
// see src/reconcile/nix_cli.hpp), here naming tests/nix/stub-seed. Checks that every template
// resolves Seed offline, that its `nixpkgs` follows Seed's, and that it defines exactly the
// instances tests/nix/templates.nix lists, each from its own module file.
#include <filesystem>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "common/fd.hpp"
#include "common/testing/temp_dir.hpp"
#include "nix_runner.hpp"

namespace seed::nixtest {
namespace {

namespace fs = std::filesystem;

TEST(NixTemplateFlake, EachTemplateFindsSeedThroughTheRegistry) {
  testing::TempDir home;
  const std::string work = home.path() + "/work";
  fs::create_directories(work);
  // Copies, so nix's lock files land in the temp dir and never in the tree.
  fs::copy(source_dir() + "/tests/nix/stub-seed", work + "/seed", fs::copy_options::recursive);
  fs::copy(source_dir() + "/tests/nix/stub-nixpkgs", work + "/nixpkgs", fs::copy_options::recursive);
  auto entry = [&](const std::string& id) {
    return R"({"from": {"type": "indirect", "id": ")" + id + R"("}, "to": {"type": "path", "path": ")" + work +
           "/" + id + R"("}})";
  };
  const std::string registry = work + "/registry.json";
  ASSERT_TRUE(write_file_atomic(registry, R"({"version": 2, "flakes": [)" + entry("seed") + ", " + entry("nixpkgs") + "]}"));

  auto listed = eval_file_json(source_dir() + "/tests/nix/templates.nix", {}, home.path());
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  std::map<std::string, std::map<std::string, std::string>> want;  // dir → instance → module file
  for (const auto& t : *listed) want[t["dir"]][t["name"]] = t["file"];
  std::set<std::string> dirs;
  for (const auto& e : fs::directory_iterator(source_dir() + "/templates")) dirs.insert(e.path().filename());
  ASSERT_EQ(dirs.size(), want.size()) << "every template directory is listed in tests/nix/templates.nix";

  for (const auto& [dir, instances] : want) {
    SCOPED_TRACE(dir);
    const std::string copy = work + "/" + dir;
    fs::copy(source_dir() + "/templates/" + dir, copy, fs::copy_options::recursive);
    auto r = run_nix({"nix", "eval", "--json", "--option", "flake-registry", registry, "path:" + copy + "#seeds",
                      "--apply", "builtins.mapAttrs (n: s: s.meta)"},
                     home.path());
    ASSERT_TRUE(r.ok()) << r.error().describe();
    ASSERT_TRUE(r->ok) << r->command << "\n" << r->err;
    auto seeds = nlohmann::json::parse(r->out, nullptr, false);
    ASSERT_TRUE(seeds.is_object()) << r->out;
    ASSERT_EQ(seeds.size(), instances.size()) << seeds.dump();
    for (const auto& [name, file] : instances) {
      ASSERT_TRUE(seeds.contains(name)) << seeds.dump();
      EXPECT_EQ(seeds[name]["name"], name);
      EXPECT_EQ(seeds[name]["module"], file);
      EXPECT_EQ(seeds[name]["system"], "x86_64-linux");
      EXPECT_EQ(seeds[name]["stubNixpkgs"], true);
    }
  }
}

}  // namespace
}  // namespace seed::nixtest
