// Fresh keys from the real ssh-keygen: our fingerprint must equal what `ssh-keygen -lf` prints.
#include <gtest/gtest.h>

#include <sstream>

#include "common/process.hpp"
#include "common/testing/temp_dir.hpp"
#include "control/ssh_fingerprint.hpp"

namespace seed::control {
namespace {

TEST(SshFingerprintKeygen, EqualsSshKeygenOnFreshKeys) {
  if (!find_executable("ssh-keygen")) GTEST_SKIP() << "ssh-keygen is not installed (openssh-client; scripts/install-deps)";
  testing::TempDir dir;
  for (const char* type : {"ed25519", "rsa", "ecdsa"}) {
    std::string key = dir.path() + "/key-" + type;
    SpawnOptions gen_opts;
    gen_opts.argv = {"ssh-keygen", "-q", "-t", type, "-N", "", "-C", "c", "-f", key};
    auto gen = run_checked(gen_opts);
    ASSERT_TRUE(gen.ok()) << gen.error().describe();
    SpawnOptions list_opts;
    list_opts.argv = {"ssh-keygen", "-lf", key + ".pub"};
    list_opts.stdout_mode = Output::capture;
    auto listed = run_checked(list_opts);
    ASSERT_TRUE(listed.ok()) << listed.error().describe();
    std::istringstream words(listed->out);
    std::string bits, expected;
    words >> bits >> expected;
    auto fp = ssh_fingerprint_of_file(key + ".pub");
    ASSERT_TRUE(fp.ok()) << fp.error().describe();
    EXPECT_EQ(fp->fingerprint, expected) << type;
  }
}

}  // namespace
}  // namespace seed::control
