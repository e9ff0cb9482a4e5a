#include "common/log.hpp"

#include <cstdint>

#include <gtest/gtest.h>

namespace seed::log {
namespace {

TEST(LogFormat, EventOnly) { EXPECT_EQ(format("seedd.ready", {}), "seedd.ready"); }

TEST(LogFormat, PlainValuesAreBare) {
  EXPECT_EQ(format("vm.started", {{"vm", "web"}, {"driver", std::string("qemu")},
                                  {"path", std::string_view("/run/seedd/vm/web")}}),
            "vm.started vm=web driver=qemu path=/run/seedd/vm/web");
}

TEST(LogFormat, Numbers) {
  int pid = 4242;
  uint64_t big = 18446744073709551615ULL;
  int64_t negative = -7;
  size_t count = 0;
  EXPECT_EQ(format("n", {{"pid", pid}, {"big", big}, {"neg", negative}, {"count", count}}),
            "n pid=4242 big=18446744073709551615 neg=-7 count=0");
}

TEST(LogFormat, SpacesAreQuoted) {
  EXPECT_EQ(format("vm.stop.forced", {{"reason", "guest did not power off"}}),
            "vm.stop.forced reason=\"guest did not power off\"");
}

TEST(LogFormat, EqualsIsQuoted) {
  EXPECT_EQ(format("e", {{"cmdline", "console=ttyS0"}}), "e cmdline=\"console=ttyS0\"");
}

TEST(LogFormat, QuotesAndBackslashesAreEscaped) {
  EXPECT_EQ(format("e", {{"msg", "say \"hi\""}}), "e msg=\"say \\\"hi\\\"\"");
  EXPECT_EQ(format("e", {{"path", "C:\\x"}}), "e path=\"C:\\\\x\"");
}

TEST(LogFormat, NewlinesStayOnOneLine) {
  std::string line = format("vm.exited", {{"report", "failed\nstderr:\nboom"}});
  EXPECT_EQ(line, "vm.exited report=\"failed\\nstderr:\\nboom\"");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(LogFormat, TabsAreQuoted) {
  EXPECT_EQ(format("e", {{"v", "a\tb"}}), "e v=\"a\tb\"");
}

TEST(LogFormat, EmptyValueIsQuoted) {
  EXPECT_EQ(format("e", {{"stderr", ""}, {"next", "x"}}), "e stderr=\"\" next=x");
}

TEST(LogFormat, FieldOrderIsKept) {
  EXPECT_EQ(format("e", {{"b", "2"}, {"a", "1"}, {"c", "3"}}), "e b=2 a=1 c=3");
}

TEST(ParseLevel, KnownNames) {
  auto d = parse_level("debug");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, Level::debug);
  EXPECT_EQ(*parse_level("info"), Level::info);
  EXPECT_EQ(*parse_level("warn"), Level::warn);
  EXPECT_EQ(*parse_level("error"), Level::error);
}

TEST(ParseLevel, UnknownNameListsChoices) {
  for (const char* bad : {"", "INFO", "warning", "trace"}) {
    auto r = parse_level(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_EQ(r.error().message,
              "unknown log level '" + std::string(bad) + "' (use debug, info, warn, error)");
  }
}

}  // namespace
}  // namespace seed::log
