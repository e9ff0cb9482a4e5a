// Every .nix file of the repository must at least parse with real nix: CI has no nixpkgs, so
// this is the one check that covers the NixOS modules, templates and flake checks here.
#include <algorithm>
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/temp_dir.hpp"
#include "nix_runner.hpp"

namespace seed::nixtest {
namespace {

namespace fs = std::filesystem;

// The repository's .nix files, skipping build trees and dot-directories (.git).
std::vector<std::string> nix_files(const std::string& root) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    std::string name = it->path().filename().string();
    if (it->is_directory() && (name.rfind("build", 0) == 0 || name[0] == '.') && it.depth() == 0) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_directory() && name == ".git") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && it->path().extension() == ".nix") out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(NixParse, EveryNixFileParses) {
  testing::TempDir home;
  auto files = nix_files(source_dir());
  // The flake, the library, both modules, four templates, checks and test fixtures.
  ASSERT_GE(files.size(), 20u) << "found only " << files.size() << " .nix files under " << source_dir();
  for (const auto& f : files) {
    SCOPED_TRACE(f);
    auto r = run_nix({"nix-instantiate", "--parse", f}, home.path());
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_TRUE(r->ok) << f << " does not parse:\n" << r->err;
  }
}

TEST(NixParse, ASyntaxErrorIsReported) {
  // The check above would pass vacuously if nix-instantiate accepted anything.
  testing::TempDir dir;
  std::string bad = dir.path() + "/bad.nix";
  FILE* f = std::fopen(bad.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("{ a = 1; b = ; }\n", f);
  std::fclose(f);
  auto r = run_nix({"nix-instantiate", "--parse", bad}, dir.path());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_FALSE(r->ok);
  EXPECT_THAT(r->err, ::testing::HasSubstr("syntax error"));
}

}  // namespace
}  // namespace seed::nixtest
