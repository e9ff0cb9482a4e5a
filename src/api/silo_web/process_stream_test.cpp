// ProcessStream with real programs: what reaches the client, what a failing or silent program
// turns into, the slot bound, and that an abandoned stream leaves no process behind.
#include "api/silo_web/process_stream.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>

#include "common/testing/proc_counts.hpp"

namespace seed::api::silo_web {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<ProcessStream> start(std::vector<std::string> argv, std::shared_ptr<StreamSlots> slots,
                                     const std::string& input = "", std::chrono::milliseconds stall = 10s) {
  SpawnOptions o;
  o.argv = std::move(argv);
  auto s = ProcessStream::start(std::move(o), input, std::move(slots), stall);
  EXPECT_TRUE(s.ok()) << s.error().describe();
  return s.ok() ? *s : nullptr;
}

// Dead: no such process, or a zombie waiting for whoever reaps orphans here.
bool gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

// Everything read() gives until it ends; false when it ended with a failure.
bool drain(ProcessStream& s, std::string* out) {
  char buf[4096];
  while (true) {
    const ssize_t n = s.read(buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0) return false;
    out->append(buf, static_cast<size_t>(n));
  }
}

TEST(ProcessStream, PassesTheInputThroughAndEndsCleanly) {
  auto slots = std::make_shared<StreamSlots>(2);
  const std::string input(200000, 'q');  // more than a pipe holds: it goes in through a memfd
  auto s = start({"cat"}, slots, input);
  ASSERT_TRUE(s);
  std::string out;
  EXPECT_TRUE(drain(*s, &out));
  EXPECT_EQ(out, input);
}

TEST(ProcessStream, AProgramThatFailsAfterSomeOutputFailsTheStream) {
  auto slots = std::make_shared<StreamSlots>(2);
  // The shell only stands in for a git that writes part of a tarball and then fails.
  auto s = start({"sh", "-c", "echo partial; exit 3"}, slots);
  ASSERT_TRUE(s);
  std::string out;
  EXPECT_FALSE(drain(*s, &out));
  EXPECT_EQ(out, "partial\n");
}

TEST(ProcessStream, ASilentProgramFailsTheStream) {
  auto slots = std::make_shared<StreamSlots>(2);
  auto s = start({"sleep", "30"}, slots, "", 200ms);
  ASSERT_TRUE(s);
  std::string out;
  EXPECT_FALSE(drain(*s, &out));
}

TEST(ProcessStream, SlotsBoundHowManyRunAndAnAbandonedStreamLeavesNoProcess) {
  auto slots = std::make_shared<StreamSlots>(1);
  auto s = start({"yes"}, slots);
  ASSERT_TRUE(s);
  char buf[16];
  EXPECT_GT(s->read(buf, sizeof buf), 0);
  SpawnOptions o;
  o.argv = {"true"};
  auto refused = ProcessStream::start(o, "", slots, 1s);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::unavailable);
  EXPECT_EQ(slots->live(), 1u);
  // `yes` never ends by itself: dropping the stream (a client that went away) must stop it.
  const pid_t pid = s->pid();
  s.reset();
  EXPECT_TRUE(gone(pid)) << "yes (pid " << pid << ") still runs";
  EXPECT_EQ(slots->live(), 0u);
  EXPECT_TRUE(ProcessStream::start(o, "", slots, 1s).ok());
}

TEST(ProcessStream, AnAbandonedStreamStopsWhatItsProgramStarted) {
  auto slots = std::make_shared<StreamSlots>(1);
  // As git-http-backend starts git-upload-pack: a program with a child of its own.
  auto s = start({"sh", "-c", "sleep 300 & echo $!; wait"}, slots);
  ASSERT_TRUE(s);
  char buf[64];
  const ssize_t n = s->read(buf, sizeof buf);
  ASSERT_GT(n, 0);
  const pid_t grandchild = std::atoi(std::string(buf, static_cast<size_t>(n)).c_str());
  ASSERT_GT(grandchild, 0);
  EXPECT_EQ(::kill(grandchild, 0), 0);
  s.reset();
  EXPECT_TRUE(seed::testing::eventually([&] { return gone(grandchild); })) << "sleep still runs";
}

TEST(ProcessStream, ReadsACgiHeadAndSendsTheRestAsTheBody) {
  auto slots = std::make_shared<StreamSlots>(1);
  auto s = start({"printf", "Status: 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nbody"}, slots);
  ASSERT_TRUE(s);
  auto head = s->read_cgi_head();
  ASSERT_TRUE(head.ok()) << head.error().describe();
  EXPECT_EQ(*head, "Status: 403 Forbidden\r\nContent-Type: text/plain");
  std::string out;
  EXPECT_TRUE(drain(*s, &out));
  EXPECT_EQ(out, "body");
}

}  // namespace
}  // namespace seed::api::silo_web
