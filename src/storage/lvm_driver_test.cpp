// The LVM driver against recorded lvm2 outputs: the exact argv it builds, how it reads lvm's
// JSON reports, and how it maps lvm's error messages and exit codes onto sentinel errors.
#include "storage/lvm_driver.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <sstream>

#include "common/testing/temp_dir.hpp"

namespace seed::storage {
namespace {

std::string fixture(const std::string& name) {
  const char* src = std::getenv("SEED_SOURCE_DIR");
  std::ifstream in(std::string(src ? src : ".") + "/src/storage/testdata/" + name);
  EXPECT_TRUE(in) << "missing fixture " << name;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Exchange {
  std::vector<std::string> argv;
  int code = 0;
  std::string out;
  std::string err;
};

// Replays one recorded answer per expected command, in order, and fails on any other command.
class ReplayRunner final : public CommandRunner {
 public:
  explicit ReplayRunner(std::deque<Exchange>* script) : script_(script) {}
  Result<RunResult> run(const std::vector<std::string>& argv) override {
    if (script_->empty()) {
      ADD_FAILURE() << "unexpected command: " << join(argv);
      return make_error(Errc::internal, "unexpected command");
    }
    Exchange e = script_->front();
    script_->pop_front();
    EXPECT_EQ(join(argv), join(e.argv));
    RunResult r;
    r.status.code = e.code;
    r.out = e.out;
    r.err = e.err;
    return r;
  }
  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& a : v) s += (s.empty() ? "" : " ") + a;
    return s;
  }

 private:
  std::deque<Exchange>* script_;
};

const std::vector<std::string> kVgs = {"lvm", "vgs", "--reportformat", "json", "--units", "b",
                                       "--nosuffix", "--options",
                                       "vg_name,vg_size,vg_free,vg_extent_size", "vg0"};
const std::vector<std::string> kLvs = {"lvm", "lvs", "--reportformat", "json", "--units", "b",
                                       "--nosuffix", "--options",
                                       "lv_name,vg_name,lv_size,lv_path,lv_attr,pool_lv", "vg0"};

class LvmDriverTest : public ::testing::Test {
 protected:
  std::unique_ptr<LvmDriver> driver(std::string thin_pool = "") {
    LvmDriverConfig c;
    c.volume_group = "vg0";
    c.thin_pool = std::move(thin_pool);
    c.mount_root = tmp_.path() + "/mnt";
    return std::make_unique<LvmDriver>(c, std::make_unique<ReplayRunner>(&script_));
  }
  void TearDown() override {
    EXPECT_TRUE(script_.empty()) << script_.size() << " expected commands never ran, next: "
                                 << ReplayRunner::join(script_.front().argv);
  }
  seed::testing::TempDir tmp_;
  std::deque<Exchange> script_;
  VolumeId web_{"team", "web", "data"};
  VolumeId fresh_{"team", "api", "db"};
};

TEST_F(LvmDriverTest, CreateBuildsThickLvWithExactSizeThenMkfs) {
  script_ = {
      {kLvs, 0, fixture("lvs_vg0.json"), ""},
      {kVgs, 0, fixture("vgs_vg0.json"), ""},
      // 500Mi is a whole number of 4 MiB extents: no rounding.
      {{"lvm", "lvcreate", "--yes", "--addtag", "seed", "--name", "seed.team.api.db",
        "--wipesignatures", "y", "--zero", "y", "--size", "524288000b", "vg0"},
       0, "", "  Logical volume \"seed.team.api.db\" created.\n"},
      {{"mkfs.ext4", "-q", "-F", "-m", "0", "-E", "nodiscard", "/dev/vg0/seed.team.api.db"}, 0,
       "", ""},
  };
  auto s = driver()->create(fresh_, 500ULL << 20);
  EXPECT_TRUE(s.ok()) << s.error().describe();
}

TEST_F(LvmDriverTest, CreateRoundsUpToTheExtentSize) {
  script_ = {
      {kLvs, 0, fixture("lvs_vg0_empty.json"), ""},
      {kVgs, 0, fixture("vgs_vg0.json"), ""},
      {{"lvm", "lvcreate", "--yes", "--addtag", "seed", "--name", "seed.team.api.db",
        "--wipesignatures", "y", "--zero", "y", "--size", "1002438656b", "vg0"},
       0, "", ""},
      {{"mkfs.ext4", "-q", "-F", "-m", "0", "-E", "nodiscard", "/dev/vg0/seed.team.api.db"}, 0,
       "", ""},
  };
  // 1G (decimal) = 238.4 extents of 4 MiB → 239 extents.
  auto s = driver()->create(fresh_, 1'000'000'000ULL);
  EXPECT_TRUE(s.ok()) << s.error().describe();
}

TEST_F(LvmDriverTest, CreateInThinPoolUsesVirtualSize) {
  script_ = {
      {kLvs, 0, fixture("lvs_vg0_empty.json"), ""},
      {kVgs, 0, fixture("vgs_vg0_nearly_full.json"), ""},
      {{"lvm", "lvcreate", "--yes", "--addtag", "seed", "--name", "seed.team.api.db",
        "--virtualsize", "10737418240b", "--thinpool", "pool0", "vg0"},
       0, "", ""},
      {{"mkfs.ext4", "-q", "-F", "-m", "0", "-E", "nodiscard", "/dev/vg0/seed.team.api.db"}, 0,
       "", ""},
  };
  auto d = driver("pool0");
  EXPECT_EQ(d->info().name, "lvm-thin");
  // Thin volumes may exceed the VG's free space: that is what thin provisioning is for.
  auto s = d->create(fresh_, 10ULL << 30);
  EXPECT_TRUE(s.ok()) << s.error().describe();
}

TEST_F(LvmDriverTest, CreateBeyondFreeSpaceIsRefusedBeforeLvcreate) {
  script_ = {
      {kLvs, 0, fixture("lvs_vg0_empty.json"), ""},
      {kVgs, 0, fixture("vgs_vg0_nearly_full.json"), ""},
  };
  auto s = driver()->create(fresh_, 1ULL << 30);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::invalid_argument);
  EXPECT_NE(s.error().message.find("has only 100Mi bytes free"), std::string::npos)
      << s.error().message;
  EXPECT_EQ(s.error().get("volume").value_or(""), "team/api/db");
}

TEST_F(LvmDriverTest, CreateOfExistingVolumeTouchesNothing) {
  script_ = {{kLvs, 0, fixture("lvs_vg0.json"), ""}};
  auto s = driver()->create(web_, 1ULL << 30);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::already_exists);
}

TEST_F(LvmDriverTest, LvcreateRaceAndNoSpaceErrorsAreClassified) {
  script_ = {
      {kLvs, 0, fixture("lvs_vg0_empty.json"), ""},
      {kVgs, 0, fixture("vgs_vg0.json"), ""},
      {{"lvm", "lvcreate", "--yes", "--addtag", "seed", "--name", "seed.team.web.data",
        "--wipesignatures", "y", "--zero", "y", "--size", "1073741824b", "vg0"},
       5, "", fixture("err_lv_exists.txt")},
      {kLvs, 0, fixture("lvs_vg0_empty.json"), ""},
      {kVgs, 0, fixture("vgs_vg0.json"), ""},
      {{"lvm", "lvcreate", "--yes", "--addtag", "seed", "--name", "seed.team.web.data",
        "--wipesignatures", "y", "--zero", "y", "--size", "1073741824b", "vg0"},
       5, "", fixture("err_insufficient.txt")},
  };
  auto d = driver();
  auto raced = d->create(web_, 1ULL << 30);
  ASSERT_FALSE(raced.ok());
  EXPECT_EQ(raced.error().code, Errc::already_exists) << raced.error().describe();
  auto full = d->create(web_, 1ULL << 30);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, Errc::invalid_argument) << full.error().describe();
  EXPECT_NE(full.error().message.find("insufficient free space"), std::string::npos);
  EXPECT_NE(full.error().get("stderr").value_or("").find("256 required"), std::string::npos);
}

TEST_F(LvmDriverTest, FailedMkfsRemovesOnlyTheLvJustCreated) {
  script_ = {
      {kLvs, 0, fixture("lvs_vg0_empty.json"), ""},
      {kVgs, 0, fixture("vgs_vg0.json"), ""},
      {{"lvm", "lvcreate", "--yes", "--addtag", "seed", "--name", "seed.team.api.db",
        "--wipesignatures", "y", "--zero", "y", "--size", "8388608b", "vg0"},
       0, "", ""},
      {{"mkfs.ext4", "-q", "-F", "-m", "0", "-E", "nodiscard", "/dev/vg0/seed.team.api.db"}, 1,
       "", "mkfs.ext4: No space left on device while writing out and closing file system\n"},
      {{"lvm", "lvremove", "--yes", "vg0/seed.team.api.db"}, 0, "", ""},
  };
  auto s = driver()->create(fresh_, 8ULL << 20);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::process_failed);
  EXPECT_NE(s.error().get("stderr").value_or("").find("No space"), std::string::npos);
}

TEST_F(LvmDriverTest, MissingVolumeGroupIsNotFoundWithLvmsMessage) {
  script_ = {{kLvs, 5, "", fixture("err_vg_not_found.txt")}};
  auto s = driver()->create(fresh_, 1ULL << 30);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::not_found);
  EXPECT_NE(s.error().message.find("Volume group \"vg9\" not found"), std::string::npos)
      << s.error().message;
  EXPECT_EQ(s.error().get("exit").value_or(""), "exited with code 5");
}

TEST_F(LvmDriverTest, GrowExtendsThenResizesOfflineFilesystem) {
  script_ = {
      {kLvs, 0, fixture("lvs_vg0.json"), ""},
      {kVgs, 0, fixture("vgs_vg0.json"), ""},
      {{"lvm", "lvextend", "--size", "2147483648b", "vg0/seed.team.web.data"}, 0, "", ""},
      {{"e2fsck", "-f", "-p", "/dev/vg0/seed.team.web.data"}, 0, "", ""},
      {{"resize2fs", "/dev/vg0/seed.team.web.data"}, 0, "", ""},
  };
  auto s = driver()->grow(web_, 2ULL << 30);
  EXPECT_TRUE(s.ok()) << s.error().describe();
}

TEST_F(LvmDriverTest, GrowRefusesShrinkAndSameSizeOnlyFinishesTheFilesystem) {
  script_ = {
      {kLvs, 0, fixture("lvs_vg0.json"), ""},
      {kVgs, 0, fixture("vgs_vg0.json"), ""},
      {kLvs, 0, fixture("lvs_vg0.json"), ""},
      {kVgs, 0, fixture("vgs_vg0.json"), ""},
      // No lvextend: the LV already has the size; the filesystem is made to fill it.
      {{"e2fsck", "-f", "-p", "/dev/vg0/seed.team.web.data"}, 0, "", ""},
      {{"resize2fs", "/dev/vg0/seed.team.web.data"}, 0, "", ""},
  };
  auto d = driver();
  auto shrink = d->grow(web_, 512ULL << 20);
  ASSERT_FALSE(shrink.ok());
  EXPECT_EQ(shrink.error().code, Errc::cannot_shrink);
  EXPECT_NE(shrink.error().message.find("is 1Gi and cannot shrink to 512Mi"), std::string::npos)
      << shrink.error().message;
  EXPECT_TRUE(d->grow(web_, 1ULL << 30).ok());
}

TEST_F(LvmDriverTest, GrowOfMissingVolumeIsNotFound) {
  script_ = {{kLvs, 0, fixture("lvs_vg0_empty.json"), ""}};
  auto s = driver()->grow(web_, 2ULL << 30);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::not_found);
}

TEST_F(LvmDriverTest, ListShowsOnlySeedVolumesAndMarksOrphans) {
  script_ = {{kLvs, 0, fixture("lvs_vg0.json"), ""}};
  auto l = driver()->list({web_});
  ASSERT_TRUE(l.ok()) << l.error().describe();
  ASSERT_EQ(l->size(), 2u);  // "root" is not ours
  EXPECT_EQ((*l)[0].id, (VolumeId{"team", "old", "cache"}));
  EXPECT_TRUE((*l)[0].orphan);
  EXPECT_EQ((*l)[0].size_bytes, 524288000u);
  EXPECT_EQ((*l)[1].id, web_);
  EXPECT_FALSE((*l)[1].orphan);
  EXPECT_FALSE((*l)[1].mounted);
  EXPECT_EQ((*l)[1].mount_path, tmp_.path() + "/mnt/seed.team.web.data");
}

TEST_F(LvmDriverTest, MalformedReportsAreProtocolErrors) {
  script_ = {
      {kLvs, 0, "{\"report\": [{\"lv\": [{\"lv_name\":\"x\"}]}]}", ""},
      {kLvs, 0, "not json", ""},
      {kLvs, 0,
       "{\"report\":[{\"lv\":[{\"lv_name\":\"seed.a.b.c\",\"vg_name\":\"vg0\",\"lv_size\":"
       "\"1.00g\",\"lv_path\":\"/dev/vg0/seed.a.b.c\",\"lv_attr\":\"\",\"pool_lv\":\"\"}]}]}",
       ""},
  };
  auto d = driver();
  for (int i = 0; i < 3; ++i) {
    auto l = d->list({});
    ASSERT_FALSE(l.ok());
    EXPECT_EQ(l.error().code, Errc::protocol) << l.error().describe();
  }
}

TEST_F(LvmDriverTest, MissingLvmBinaryIsUnavailable) {
  LvmDriverConfig c;
  c.volume_group = "vg0";
  c.mount_root = tmp_.path();
  c.lvm = "/nonexistent/lvm";
  LvmDriver d(c, std::make_unique<SystemRunner>());
  auto l = d.list({});
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, Errc::unavailable) << l.error().describe();
}

}  // namespace
}  // namespace seed::storage
