#include "reconcile/guest_setup.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/fd.hpp"
#include "common/testing/temp_dir.hpp"

namespace seed::reconcile {
namespace {

using ::testing::HasSubstr;
using seed::testing::TempDir;

class GuestSetupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(tmp_.path() + "/toplevel");
    for (const char* f : {"kernel", "initrd", "init"}) ASSERT_TRUE(write_file_atomic(tmp_.path() + "/toplevel/" + f, "x"));
    ASSERT_TRUE(write_file_atomic(tmp_.path() + "/toplevel/kernel-params", "console=ttyS0 init=/x/init\n"));
    in_.id = {"s-abcdefghijkl", "web"};
    in_.vm_name = "s-abcdefghijkl-a-web";
    in_.generation = "g1";
    in_.toplevel = tmp_.path() + "/toplevel";
    in_.meta.name = "web";
    in_.meta.vcpus = 2;
    in_.meta.memory_mib = 1024;
    in_.meta.storage["data"] = VolumeMeta{"1Gi", 1ull << 30, "/seed/storage/data", "storage-data"};
    in_.meta.connect["db"] = ConnectMeta{"postgres", 5432, "SEED_DB_HOST", "/etc/seed/connect/db", "postgres:5432"};
    in_.domain = "seed.example.org";
    in_.tap = "sdabc";
    in_.mac = "02:00:00:00:00:01";
    in_.ipv4_cidr = "10.88.0.5/24";
    in_.gateway4 = "10.88.0.1";
    in_.nameserver = "10.88.0.1";
    in_.seed_share = tmp_.path() + "/share";
    in_.tpm_share = tmp_.path() + "/tpm-share";
    in_.tpm_socket = tmp_.path() + "/ctrl.sock";
    in_.volume_paths["data"] = tmp_.path() + "/mnt/data";
  }
  TempDir tmp_;
  GuestInputs in_;
};

TEST_F(GuestSetupTest, SeedShareCarriesTheContractFiles) {
  ASSERT_TRUE(write_seed_share(in_));
  auto env = read_file(in_.seed_share + "/env");
  ASSERT_TRUE(env);
  EXPECT_THAT(*env, HasSubstr("SEED_FQDN=web.s-abcdefghijkl.seed.example.org\n"));
  auto net = nlohmann::json::parse(*read_file(in_.seed_share + "/network.json"));
  EXPECT_EQ(net["interfaces"][0]["mac"], "02:00:00:00:00:01");
  EXPECT_EQ(net["interfaces"][0]["addresses"][0], "10.88.0.5/24");
  EXPECT_EQ(net["interfaces"][0]["gateway"], "10.88.0.1");
  EXPECT_FALSE(net["interfaces"][0].contains("gateway6"));
  EXPECT_EQ(net["search"][0], "s-abcdefghijkl.seed.example.org");
  EXPECT_EQ(net["hostname"], "web");
  auto inst = nlohmann::json::parse(*read_file(in_.seed_share + "/instance.json"));
  EXPECT_EQ(inst["generation"], "g1");
  EXPECT_EQ(inst["fqdn"], "web.s-abcdefghijkl.seed.example.org");
  EXPECT_EQ(*read_file(in_.seed_share + "/connect/db"), "postgres:5432\n");
}

// Issue 13.8, the reference's contract: SEED_<X>_HOST is the service as the tenant wrote it
// (`my-redis`, resolved through the search domain), SEED_<X>_FQDN the full name.
TEST_F(GuestSetupTest, ConnectEnvHasTheServiceNameAndItsFullName) {
  in_.meta.connect["redis"] = ConnectMeta{"my-redis", std::nullopt, "SEED_REDIS_HOST", "/etc/seed/connect/redis", "my-redis"};
  in_.meta.connect["auth-server"] =
      ConnectMeta{"auth.example.org", std::nullopt, "SEED_AUTH_SERVER_HOST", "/etc/seed/connect/auth-server", "auth.example.org"};
  ASSERT_TRUE(write_seed_share(in_));
  auto env = read_file(in_.seed_share + "/env");
  ASSERT_TRUE(env);
  EXPECT_THAT(*env, HasSubstr("SEED_REDIS_HOST=my-redis\n"));
  EXPECT_THAT(*env, HasSubstr("SEED_REDIS_FQDN=my-redis.s-abcdefghijkl.seed.example.org\n"));
  EXPECT_THAT(*env, HasSubstr("SEED_DB_HOST=postgres\n"));  // the port is in connect/db, not here
  EXPECT_THAT(*env, HasSubstr("SEED_DB_FQDN=postgres.s-abcdefghijkl.seed.example.org\n"));
  EXPECT_THAT(*env, HasSubstr("SEED_AUTH_SERVER_HOST=auth.example.org\n"));
  EXPECT_THAT(*env, HasSubstr("SEED_AUTH_SERVER_FQDN=auth.example.org\n"));  // a DNS name already
  EXPECT_EQ(*read_file(in_.seed_share + "/connect/redis"), "my-redis\n");
}

TEST_F(GuestSetupTest, SpecHasSharesNicTpmAndMountHints) {
  auto spec = guest_vm_spec(in_);
  ASSERT_TRUE(spec) << spec.error().describe();
  EXPECT_EQ(spec->vcpus, 2u);
  EXPECT_EQ(spec->memory_mib, 1024u);
  EXPECT_EQ(spec->kernel, in_.toplevel + "/kernel");
  EXPECT_THAT(spec->cmdline, HasSubstr("console=ttyS0 init=/x/init seed.fs=seed:/run/seed/host:ro"));
  EXPECT_THAT(spec->cmdline, HasSubstr("seed.fs=storage-data:/seed/storage/data"));
  std::vector<std::string> tags;
  for (const auto& s : spec->shares) tags.push_back(s.tag + (s.read_only ? ":ro" : ":rw"));
  EXPECT_THAT(tags, ::testing::ElementsAre("nix-store:ro", "seed:ro", "seed-tpm:rw", "storage-data:rw"));
  ASSERT_EQ(spec->nets.size(), 1u);
  EXPECT_EQ(spec->nets[0].tap, "sdabc");
  EXPECT_EQ(spec->tpm_socket, in_.tpm_socket);
}

TEST_F(GuestSetupTest, AToplevelThatIsGoneIsABootErrorNamingIt) {
  std::filesystem::remove(in_.toplevel + "/kernel-params");
  auto spec = guest_vm_spec(in_);
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().get("stage").value_or(""), "boot");
  EXPECT_THAT(spec.error().message, HasSubstr(in_.toplevel));
  EXPECT_THAT(spec.error().message, HasSubstr("garbage-collected"));
}

}  // namespace
}  // namespace seed::reconcile
