// Tests only: where a test keeps files for people to look at (screenshots): the directory of the
// test results scripts/test keeps (GTEST_OUTPUT=xml:<dir>/), else `fallback`.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace seed::testing {

inline std::string artifact_dir(const std::string& fallback) {
  if (const char* out = std::getenv("GTEST_OUTPUT"); out != nullptr && std::string(out).rfind("xml:", 0) == 0) {
    std::filesystem::path p = std::string(out).substr(4);
    std::filesystem::create_directories(p);
    return p.string();
  }
  return fallback;
}

}  // namespace seed::testing
