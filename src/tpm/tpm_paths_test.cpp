#include "tpm/tpm_paths.hpp"

#include <gtest/gtest.h>

namespace seed::tpm {
namespace {

TEST(TpmPaths, LayoutPerInstance) {
  TpmSettings s{"/var/lib/seed/tpm", "/run/seed/tpm", "/var/lib/seed/tpm-ca"};
  auto p = paths_for(s, "team.web");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->state, "/var/lib/seed/tpm/team.web/state");
  EXPECT_EQ(p->backup, "/var/lib/seed/tpm/team.web/state.backup");
  EXPECT_EQ(p->ctrl_socket, "/run/seed/tpm/team.web/ctrl.sock");
}

TEST(TpmPaths, RejectsUnsafeInstanceNames) {
  for (const char* bad : {"", ".", "..", "../x", "a/b", "a..b", ".a", "a.", "A", "a b",
                          "caf\xc3\xa9", "-a", "a-", "a.-b"}) {
    auto r = validate_instance(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_EQ(r.error().get("instance").value_or("?"), bad);
  }
  for (const char* good : {"web", "team.web", "a-b.c-d", "x1"}) {
    EXPECT_TRUE(validate_instance(good).ok()) << good;
  }
}

}  // namespace
}  // namespace seed::tpm
