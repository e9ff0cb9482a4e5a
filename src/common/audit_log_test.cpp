// The session audit store on a real file in a temp directory.
#include "common/audit_log.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/testing/temp_dir.hpp"

namespace seed {
namespace {

TEST(AuditLog, ListsABeginJoinedWithItsEnd) {
  testing::TempDir dir;
  AuditLog audit(dir.path() + "/sessions.audit.jsonl");
  const uint64_t id = audit.begin("exec", "SHA256:abc", "web.alice", R"(["sh","-c","exit 3"])");
  audit.end(id, 3);

  auto entries = audit.list();
  ASSERT_TRUE(entries.ok()) << entries.error().describe();
  ASSERT_EQ(entries->size(), 1u);
  const AuditEntry& e = entries->front();
  EXPECT_EQ(e.id, id);
  EXPECT_EQ(e.kind, "exec");
  EXPECT_EQ(e.fingerprint, "SHA256:abc");
  EXPECT_EQ(e.instance, "web.alice");
  EXPECT_EQ(e.detail, R"(["sh","-c","exit 3"])");
  EXPECT_GT(e.started_ms, 0);
  ASSERT_TRUE(e.ended_ms.has_value());
  EXPECT_GE(*e.ended_ms, e.started_ms);
  EXPECT_EQ(e.exit_code, 3);
}

TEST(AuditLog, ASessionWithoutEndIsListedOpenAndSurvivesANewLogObject) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/a.jsonl";
  uint64_t open_id = 0;
  {
    AuditLog audit(path);
    open_id = audit.begin("console", "SHA256:k", "db.bob", "term=xterm");
  }
  AuditLog reopened(path);  // seedd restarted
  auto entries = reopened.list();
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ(entries->front().id, open_id);
  EXPECT_FALSE(entries->front().ended_ms.has_value());
  EXPECT_FALSE(entries->front().exit_code.has_value());
}

TEST(AuditLog, ATornLastLineIsSkipped) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/a.jsonl";
  AuditLog audit(path);
  const uint64_t id = audit.begin("exec", "k", "i", "[]");
  { std::ofstream(path, std::ios::app) << R"({"event":"end","id":)"; }  // a crash mid-write
  auto entries = audit.list();
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ(entries->front().id, id);
  EXPECT_FALSE(entries->front().exit_code.has_value());
}

TEST(AuditLog, RotationKeepsTwoBoundedFilesAndTheNewestSessions) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/a.jsonl";
  const uint64_t max = 1024;
  AuditLog audit(path, max);
  uint64_t last = 0;
  for (int i = 0; i < 200; ++i) {
    last = audit.begin("exec", "SHA256:key", "web.alice", "[\"n" + std::to_string(i) + "\"]");
    audit.end(last, i % 256);
  }
  EXPECT_LE(std::filesystem::file_size(path), max);
  EXPECT_LE(std::filesystem::file_size(path + ".1"), max);
  EXPECT_FALSE(std::filesystem::exists(path + ".2"));
  size_t files = 0;
  for ([[maybe_unused]] auto& f : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 2u);

  auto entries = audit.list();
  ASSERT_TRUE(entries.ok());
  ASSERT_FALSE(entries->empty());
  EXPECT_LT(entries->size(), 200u);  // the oldest went with the rotation
  EXPECT_EQ(entries->back().id, last);
  EXPECT_EQ(entries->back().detail, "[\"n199\"]");
  EXPECT_EQ(entries->back().exit_code, 199);
}

TEST(AuditLog, InvalidUtf8InTheCommandIsRecordedNotThrown) {
  testing::TempDir dir;
  AuditLog audit(dir.path() + "/a.jsonl");
  const uint64_t id = audit.begin("exec", "k", "i", std::string("[\"\xff\xfe\"]"));
  audit.end(id, 0);
  auto entries = audit.list();
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ(entries->front().exit_code, 0);
}

TEST(AuditLog, AnUnwritableFileDoesNotFailTheSession) {
  AuditLog audit("/nonexistent-seed-dir/a.jsonl");
  const uint64_t id = audit.begin("exec", "k", "i", "[]");  // logged as audit.write_failed
  audit.end(id, 0);
  EXPECT_NE(id, 0u);
  auto entries = audit.list();
  ASSERT_TRUE(entries.ok());
  EXPECT_TRUE(entries->empty());
}

}  // namespace
}  // namespace seed
