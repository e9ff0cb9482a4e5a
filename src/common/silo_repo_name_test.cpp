#include "common/silo_repo_name.hpp"

#include <gtest/gtest.h>

#include <string>

namespace seed {
namespace {

TEST(SiloRepoName, ASingleSafePathComponent) {
  for (const std::string& good : {std::string("a"), std::string("my-app"), std::string("my_app.v2"), std::string("0"),
                                  std::string(63, 'x')}) {
    EXPECT_TRUE(is_silo_repo_name(good)) << good;
  }
  for (const std::string& bad : {std::string(), std::string(64, 'x'), std::string("."), std::string(".."),
                          std::string(".git"), std::string("-rf"), std::string("a..b"), std::string("a/b"),
                          std::string("../x"), std::string("My-App"), std::string("a b"), std::string("a\0b", 3)}) {
    EXPECT_FALSE(is_silo_repo_name(bad)) << bad;
  }
}

}  // namespace
}  // namespace seed
