// Every Errc against its exit status: one row per code, and a check that no code is missing.
#include "common/exit_code.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace seed {
namespace {

const std::vector<std::pair<Errc, int>> kTable = {
    {Errc::invalid_argument, 2}, {Errc::not_found, 4},    {Errc::already_exists, 6},
    {Errc::in_use, 6},           {Errc::cannot_shrink, 2}, {Errc::permission_denied, 3},
    {Errc::unavailable, 5},      {Errc::timeout, 5},      {Errc::io, 1},
    {Errc::process_failed, 1},   {Errc::protocol, 1},     {Errc::conflict, 6},
    {Errc::internal, 1},
};

TEST(ExitCode, EveryErrcHasItsDocumentedStatus) {
  for (const auto& [code, status] : kTable) {
    EXPECT_EQ(exit_code(code), status) << to_string(code);
  }
}

TEST(ExitCode, TheTableCoversEveryErrc) {
  // to_string names every code (its switch has no default, so -Wswitch keeps it complete);
  // past the last one it says "unknown".
  size_t codes = 0;
  while (to_string(static_cast<Errc>(codes)) != "unknown") ++codes;
  EXPECT_EQ(codes, kTable.size());
  for (size_t i = 0; i < codes; ++i) EXPECT_EQ(kTable[i].first, static_cast<Errc>(i)) << i;
}

TEST(ExitCode, NeverZeroForAnError) {
  for (const auto& [code, status] : kTable) EXPECT_NE(exit_code(code), exit_ok) << to_string(code);
}

}  // namespace
}  // namespace seed
