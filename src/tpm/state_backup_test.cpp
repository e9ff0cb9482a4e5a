#include "tpm/state_backup.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/fd.hpp"
#include "common/testing/temp_dir.hpp"

namespace seed::tpm {
namespace {

namespace fs = std::filesystem;

class StateBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TpmSettings s{tmp_.path() + "/state", tmp_.path() + "/run", tmp_.path() + "/ca"};
    paths_ = *paths_for(s, "team.web");
    fs::create_directories(paths_.state);
    write("tpm2-00.permall", "generation-1");
    write(".lock", "");
  }
  void write(const std::string& name, const std::string& content) {
    ASSERT_TRUE(write_file_atomic(paths_.state + "/" + name, content).ok());
  }
  std::string backed_up(const std::string& name) {
    auto r = read_file(paths_.backup + "/" + name);
    return r ? *r : "<missing>";
  }
  seed::testing::TempDir tmp_;
  TpmPaths paths_;
};

TEST_F(StateBackupTest, BackupCopiesStateWithoutTheLockAndReplacesTheOldOne) {
  EXPECT_FALSE(has_backup(paths_));
  ASSERT_TRUE(backup_state(paths_).ok());
  EXPECT_TRUE(has_backup(paths_));
  EXPECT_EQ(backed_up("tpm2-00.permall"), "generation-1");
  EXPECT_FALSE(fs::exists(paths_.backup + "/.lock"));
  write("tpm2-00.permall", "generation-2");
  ASSERT_TRUE(backup_state(paths_).ok());
  EXPECT_EQ(backed_up("tpm2-00.permall"), "generation-2");
  // No temporary directories are left next to the state.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(paths_.dir)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"state", "state.backup"}));
}

TEST_F(StateBackupTest, FailedBackupKeepsThePreviousOne) {
  ASSERT_TRUE(backup_state(paths_).ok());
  fs::remove_all(paths_.state);  // nothing to copy from
  auto s = backup_state(paths_);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error().get("instance").value_or(""), "team.web");
  EXPECT_EQ(backed_up("tpm2-00.permall"), "generation-1");
}

TEST_F(StateBackupTest, RestoreKeepsTheReplacedStateAside) {
  ASSERT_TRUE(backup_state(paths_).ok());
  write("tpm2-00.permall", "corrupt");
  auto kept = restore_backup(paths_);
  ASSERT_TRUE(kept.ok()) << kept.error().describe();
  EXPECT_EQ(*read_file(paths_.state + "/tpm2-00.permall"), "generation-1");
  EXPECT_EQ(*read_file(*kept + "/tpm2-00.permall"), "corrupt");
  EXPECT_EQ(backed_up("tpm2-00.permall"), "generation-1");
}

TEST_F(StateBackupTest, RestoreWithoutBackupIsNotFound) {
  auto r = restore_backup(paths_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(*read_file(paths_.state + "/tpm2-00.permall"), "generation-1");
}

}  // namespace
}  // namespace seed::tpm
