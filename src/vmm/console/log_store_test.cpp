// The structured log store: the guest wire format, the logger's capture of both channels,
// selection (unit, since, boot, last N) and reading back through rotations. The logger
// process itself runs in console_log_test.cpp (LoggerBinaryWritesTheStore).
#include "vmm/console/log_store.hpp"

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/temp_dir.hpp"
#include "vmm/console/log_capture.hpp"

namespace seed::vmm {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> messages(const std::vector<SelectedRecord>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.record.message);
  return out;
}

TEST(GuestLine, WellFormedEntryKeepsEveryField) {
  auto r = parse_guest_line(
      R"({"unit":"nginx.service","priority":3,"timestamp":1796378400000001,"message":"bind failed","boot_id":"b1"})",
      42);
  EXPECT_EQ(r.source, LogSource::journal);
  EXPECT_FALSE(r.raw);
  EXPECT_EQ(r.unit, "nginx.service");
  EXPECT_EQ(r.priority, 3);
  EXPECT_EQ(r.timestamp_us, 1796378400000001);
  EXPECT_EQ(r.received_us, 42);
  EXPECT_EQ(r.message, "bind failed");
  EXPECT_EQ(r.boot_id, "b1");
}

TEST(GuestLine, JournalctlJsonSpellingIsAccepted) {
  // `journalctl -o json` gives upper-case fields with numbers as strings.
  auto r = parse_guest_line(
      R"({"_SYSTEMD_UNIT":"app.service","PRIORITY":"4","__REALTIME_TIMESTAMP":"1796378400000002","MESSAGE":"hi","_BOOT_ID":"b2"})",
      1);
  EXPECT_FALSE(r.raw);
  EXPECT_EQ(r.unit, "app.service");
  EXPECT_EQ(r.priority, 4);
  EXPECT_EQ(r.timestamp_us, 1796378400000002);
  EXPECT_EQ(r.boot_id, "b2");
}

TEST(GuestLine, MissingFieldsGetDefaults) {
  auto r = parse_guest_line(R"({"message":"only text","priority":99})", 7);
  EXPECT_FALSE(r.raw);
  EXPECT_EQ(r.unit, "");
  EXPECT_EQ(r.priority, 6);  // out of range: info
  EXPECT_EQ(r.timestamp_us, 7);
}

TEST(GuestLine, GarbageIsKeptAsRawText) {
  for (std::string_view bad : {"not json", "[1,2]", "\"str\"", R"({"unit":"x"})", R"({"message":5})", "{\"message\":"}) {
    auto r = parse_guest_line(bad, 9);
    EXPECT_TRUE(r.raw) << bad;
    EXPECT_EQ(r.message, bad);
    EXPECT_EQ(r.source, LogSource::journal);
  }
}

TEST(StoreLine, RoundTripsAndReplacesInvalidUtf8) {
  LogRecord r = parse_guest_line(R"({"unit":"u","priority":2,"timestamp":5,"message":"m","boot_id":"b"})", 6);
  auto back = decode_record(encode_record(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->unit, "u");
  EXPECT_EQ(back->priority, 2);
  EXPECT_EQ(back->timestamp_us, 5);
  EXPECT_EQ(back->received_us, 6);
  EXPECT_EQ(back->boot_id, "b");
  LogRecord bin;
  bin.message = std::string("ok \xff\xfe end");
  auto line = encode_record(bin);  // must not throw
  auto decoded = decode_record(line);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->message, "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_FALSE(decode_record("half a line\"}"));
  EXPECT_FALSE(decode_record(R"({"src":"elsewhere","rx":1,"msg":"x"})"));
}

TEST(Lines, SplitsBoundsAndDropsCr) {
  LineAssembler a;
  std::vector<std::pair<std::string, bool>> got;
  auto on = [&](std::string_view l, bool cut) { got.emplace_back(std::string(l), cut); };
  a.feed("one\r\ntw", on);
  a.feed("o\n", on);
  a.feed(std::string(kMaxLogLineBytes + 10, 'x') + "\nafter", on);
  a.flush_partial(on);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], std::make_pair(std::string("one"), false));
  EXPECT_EQ(got[1], std::make_pair(std::string("two"), false));
  EXPECT_EQ(got[2].first.size(), kMaxLogLineBytes);
  EXPECT_TRUE(got[2].second);
  EXPECT_EQ(got[3], std::make_pair(std::string("after"), false));
}

class Capture : public ::testing::Test {
 protected:
  seed::testing::TempDir tmp_;
  std::string console_ = tmp_.path() + "/console.log";
  std::string store_ = tmp_.path() + "/log.jsonl";

  LogCapture capture(ConsoleLogLimits limits = {}) {
    auto c = ConsoleLogWriter::open(console_, limits);
    auto s = LogStoreWriter::open(store_, limits);
    EXPECT_TRUE(c && s);
    return LogCapture(std::move(*c), std::move(*s));
  }
  std::vector<LogRecord> records() {
    auto r = read_log_records(store_);
    EXPECT_TRUE(r.ok());
    return r ? *r : std::vector<LogRecord>{};
  }
};

std::string entry(const std::string& unit, const std::string& msg, const std::string& boot = "b1") {
  return R"({"unit":")" + unit + R"(","priority":6,"timestamp":1,"message":")" + msg + R"(","boot_id":")" + boot + "\"}\n";
}

TEST_F(Capture, InterleavesBothChannelsInArrivalOrder) {
  auto c = capture();
  ASSERT_TRUE(c.boot(100).ok());
  ASSERT_TRUE(c.console_data("Linux version 6.1\nseed-gu", 101).ok());
  ASSERT_TRUE(c.journal_data(entry("nginx.service", "started"), 102).ok());
  ASSERT_TRUE(c.console_data("est: ready\n", 103).ok());
  ASSERT_TRUE(c.journal_data("garbage line\n\n", 104).ok());
  ASSERT_TRUE(c.console_data("login: ", 105).ok());
  ASSERT_TRUE(c.idle(106).ok());
  auto rs = records();
  ASSERT_EQ(rs.size(), 6u);
  EXPECT_EQ(rs[0].source, LogSource::boot);
  EXPECT_EQ(rs[1].message, "Linux version 6.1");
  EXPECT_EQ(rs[2].unit, "nginx.service");
  EXPECT_EQ(rs[3].message, "seed-guest: ready");
  EXPECT_EQ(rs[3].received_us, 103);
  EXPECT_TRUE(rs[4].raw);
  EXPECT_EQ(rs[5].message, "login: ");
  // console.log stays the verbatim serial output.
  EXPECT_EQ(*read_file(console_), "Linux version 6.1\nseed-guest: ready\nlogin: ");
}

TEST_F(Capture, OverlongJournalLineIsKeptCutAsRaw) {
  auto c = capture();
  std::string huge = R"({"unit":"u","message":")" + std::string(kMaxLogLineBytes * 2, 'y') + "\"}\n";
  ASSERT_TRUE(c.journal_data(huge, 1).ok());
  ASSERT_TRUE(c.journal_data(entry("u", "next"), 2).ok());
  auto rs = records();
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_TRUE(rs[0].raw);
  EXPECT_TRUE(rs[0].truncated);
  EXPECT_EQ(rs[0].message.size(), kMaxLogLineBytes);
  EXPECT_EQ(rs[1].message, "next");
}

TEST_F(Capture, StoreRotatesWithTheConsoleLimitsAndReadsBack) {
  auto c = capture({200, 2});
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(c.journal_data(entry("u", "m" + std::to_string(i)), i).ok());
  EXPECT_TRUE(std::filesystem::exists(store_ + ".2"));
  EXPECT_FALSE(std::filesystem::exists(store_ + ".3"));
  for (const char* suffix : {"", ".1", ".2"}) EXPECT_LE(std::filesystem::file_size(store_ + suffix), 200u);
  auto rs = records();
  ASSERT_FALSE(rs.empty());
  EXPECT_EQ(rs.back().message, "m29");
  for (size_t i = 1; i < rs.size(); ++i) EXPECT_LT(rs[i - 1].received_us, rs[i].received_us);
}

std::vector<LogRecord> two_boots() {
  std::vector<LogRecord> rs;
  auto add = [&](LogSource src, const std::string& unit, const std::string& msg, int64_t rx) {
    LogRecord r;
    r.source = src;
    r.unit = unit;
    r.message = msg;
    r.received_us = r.timestamp_us = rx;
    rs.push_back(r);
  };
  add(LogSource::console, "", "from a boot whose marker rotated away", 1);
  add(LogSource::boot, "", "VM started", 10);
  add(LogSource::console, "", "kernel 1", 11);
  add(LogSource::journal, "nginx.service", "nginx 1", 12);
  add(LogSource::journal, "app.service", "app 1", 13);
  add(LogSource::boot, "", "VM started", 20);
  add(LogSource::console, "", "kernel 2", 21);
  add(LogSource::journal, "nginx.service", "nginx 2", 22);
  add(LogSource::journal, "nginxfoo.service", "not nginx", 23);
  return rs;
}

LogSelection sel(std::optional<int> boot, std::optional<std::string> unit = std::nullopt,
                 std::optional<int64_t> since = std::nullopt, size_t lines = 100) {
  LogSelection s;
  s.boot = boot;
  s.unit = std::move(unit);
  s.since_us = since;
  s.lines = lines;
  return s;
}

TEST(Select, BootsAreNumberedFromTheNewest) {
  auto rs = two_boots();
  EXPECT_THAT(messages(select_records(rs, sel(0))), ElementsAre("VM started", "kernel 2", "nginx 2", "not nginx"));
  EXPECT_THAT(messages(select_records(rs, sel(-1))), ElementsAre("VM started", "kernel 1", "nginx 1", "app 1"));
  EXPECT_THAT(messages(select_records(rs, sel(-2))), ElementsAre("from a boot whose marker rotated away"));
  EXPECT_TRUE(select_records(rs, sel(-3)).empty());
  auto all = select_records(rs, sel(std::nullopt));
  ASSERT_EQ(all.size(), rs.size());
  EXPECT_EQ(all.front().boot, -2);
  EXPECT_EQ(all.back().boot, 0);
}

TEST(Select, UnitSinceAndLastN) {
  auto rs = two_boots();
  EXPECT_THAT(messages(select_records(rs, sel(std::nullopt, "nginx"))), ElementsAre("nginx 1", "nginx 2"));
  EXPECT_THAT(messages(select_records(rs, sel(-1, "nginx.service"))), ElementsAre("nginx 1"));
  EXPECT_THAT(messages(select_records(rs, sel(std::nullopt, std::nullopt, 21))), ElementsAre("kernel 2", "nginx 2", "not nginx"));
  EXPECT_THAT(messages(select_records(rs, sel(std::nullopt, std::nullopt, std::nullopt, 2))), ElementsAre("nginx 2", "not nginx"));
  EXPECT_THAT(messages(select_records(rs, sel(std::nullopt, "app", std::nullopt, 1))), ElementsAre("app 1"));
}

TEST(Select, MissingStoreIsEmpty) {
  seed::testing::TempDir tmp;
  auto r = read_log_records(tmp.path() + "/none.jsonl");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

}  // namespace
}  // namespace seed::vmm
