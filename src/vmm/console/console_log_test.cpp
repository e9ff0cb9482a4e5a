#include "common/testing/temp_dir.hpp"
#include "vmm/console/console_log.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/proc_stat.hpp"
#include "common/process.hpp"
#include "vmm/console/log_store.hpp"

namespace seed::vmm {
namespace {

using ::testing::ElementsAre;
using namespace std::chrono_literals;

class ConsoleLog : public ::testing::Test {
 protected:
  seed::testing::TempDir tmp_;
  const std::string dir_ = tmp_.path();
  void SetUp() override {
    log_ = dir_ + "/console.log";
  }

  std::string content(const std::string& path) const {
    auto text = read_file(path);
    return text ? *text : "<missing>";
  }
  ConsoleLogWriter writer(uint64_t max_bytes, unsigned keep) const {
    auto w = ConsoleLogWriter::open(log_, {max_bytes, keep});
    EXPECT_TRUE(w.ok());
    return std::move(w).value();
  }

  std::string log_;
};

TEST_F(ConsoleLog, RotatesAndDropsTheOldest) {
  auto w = writer(10, 2);
  ASSERT_TRUE(w.write("0123456789abcdefghijKLMNOPQRSTuvw").ok());
  EXPECT_EQ(content(log_), "uvw");
  EXPECT_EQ(content(log_ + ".1"), "KLMNOPQRST");
  EXPECT_EQ(content(log_ + ".2"), "abcdefghij");
  EXPECT_FALSE(std::filesystem::exists(log_ + ".3"));
}

TEST_F(ConsoleLog, SizesNeverExceedMax) {
  auto w = writer(7, 3);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(w.write(std::string(static_cast<size_t>(i % 5 + 1), static_cast<char>('a' + i % 26))).ok());
    for (const char* suffix : {"", ".1", ".2", ".3"}) {
      std::string f = log_ + suffix;
      if (std::filesystem::exists(f)) {
        EXPECT_LE(std::filesystem::file_size(f), 7u) << f;
      }
    }
  }
  EXPECT_FALSE(std::filesystem::exists(log_ + ".4"));
  EXPECT_EQ(std::filesystem::file_size(log_ + ".3"), 7u);
}

TEST_F(ConsoleLog, ReopenContinuesTheCurrentFile) {
  {
    auto w = writer(10, 1);
    ASSERT_TRUE(w.write("abcdef").ok());
  }
  auto w = writer(10, 1);
  ASSERT_TRUE(w.write("ghijkl").ok());
  EXPECT_EQ(content(log_ + ".1"), "abcdefghij");
  EXPECT_EQ(content(log_), "kl");
}

TEST_F(ConsoleLog, KeepZeroKeepsOnlyTheCurrentFile) {
  auto w = writer(4, 0);
  ASSERT_TRUE(w.write("aaaabbbbcc").ok());
  EXPECT_EQ(content(log_), "cc");
  EXPECT_FALSE(std::filesystem::exists(log_ + ".1"));
}

TEST_F(ConsoleLog, OpenErrors) {
  auto zero = ConsoleLogWriter::open(log_, {0, 1});
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, Errc::invalid_argument);
  auto missing = ConsoleLogWriter::open(dir_ + "/no/dir/console.log", {10, 1});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().get("file"), dir_ + "/no/dir/console.log");
}

TEST_F(ConsoleLog, TailAcrossRotatedFiles) {
  auto w = writer(8, 5);
  ASSERT_TRUE(w.write("line1\nline2\nline3\nline4\n").ok());
  // line2 and line3 are split across files.
  ASSERT_EQ(content(log_ + ".2"), "line1\nli");
  ASSERT_EQ(content(log_ + ".1"), "ne2\nline");
  ASSERT_EQ(content(log_), "3\nline4\n");
  auto two = console_tail(log_, 2);
  ASSERT_TRUE(two.ok());
  EXPECT_THAT(*two, ElementsAre("line3", "line4"));
  auto three = console_tail(log_, 3);
  ASSERT_TRUE(three.ok());
  EXPECT_THAT(*three, ElementsAre("line2", "line3", "line4"));
}

TEST_F(ConsoleLog, TailWithFewerLinesThanAsked) {
  auto w = writer(8, 5);
  ASSERT_TRUE(w.write("line1\nline2\nline3\nline4\n").ok());
  auto all = console_tail(log_, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(*all, ElementsAre("line1", "line2", "line3", "line4"));
  auto none = console_tail(log_, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(ConsoleLog, TailKeepsPartialLastLineAndEmptyLines) {
  auto w = writer(1000, 1);
  ASSERT_TRUE(w.write("\nboot\n\nlogin: ").ok());
  auto all = console_tail(log_, 10);
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(*all, ElementsAre("", "boot", "", "login: "));
}

TEST_F(ConsoleLog, TailJustAfterRotation) {
  auto w = writer(6, 2);
  ASSERT_TRUE(w.write("abcde\nfghij\n").ok());  // both files exactly full: rotates on the next write
  ASSERT_TRUE(w.write("k").ok());
  auto all = console_tail(log_, 5);
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(*all, ElementsAre("abcde", "fghij", "k"));
}

TEST_F(ConsoleLog, TailOfMissingLogIsEmpty) {
  auto r = console_tail(log_, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

// Runs console_follow in the calling thread while `produce` runs in another one, until
// `expected` bytes arrived (or 10 s passed). Returns what was seen. `produce` gets a function
// that waits until the follower has seen n bytes.
using WaitSeen = std::function<void(size_t)>;
std::string follow_while(const std::string& path,
                         const std::function<void(const WaitSeen&)>& produce, size_t expected) {
  std::string seen;
  std::mutex mu;
  std::atomic<bool> started{false};
  auto deadline = std::chrono::steady_clock::now() + 10s;
  WaitSeen wait_seen = [&](size_t n) {
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mu);
        if (seen.size() >= n) return;
      }
      std::this_thread::sleep_for(1ms);
    }
  };
  std::thread producer([&] {
    while (!started) std::this_thread::sleep_for(1ms);
    produce(wait_seen);
  });
  auto st = console_follow(
      path,
      [&](std::string_view data) {
        std::lock_guard lock(mu);
        seen.append(data);
      },
      [&] {
        started = true;  // the first check comes after the file was opened
        std::lock_guard lock(mu);
        return seen.size() < expected && std::chrono::steady_clock::now() < deadline;
      },
      5ms);
  producer.join();
  EXPECT_TRUE(st.ok());
  return seen;
}

TEST_F(ConsoleLog, FollowSeesAppendedDataOnly) {
  auto w = writer(1 << 20, 1);
  ASSERT_TRUE(w.write("old line\n").ok());
  std::string seen = follow_while(
      log_,
      [&](const WaitSeen&) {
        ASSERT_TRUE(w.write("new1\n").ok());
        std::this_thread::sleep_for(20ms);
        ASSERT_TRUE(w.write("new2\n").ok());
      },
      10);
  EXPECT_EQ(seen, "new1\nnew2\n");
}

TEST_F(ConsoleLog, FollowFollowsRotations) {
  auto w = writer(16, 2);
  ASSERT_TRUE(w.write("before\n").ok());
  std::string expected;
  for (int i = 0; i < 12; ++i) expected += "msg-" + std::to_string(i) + "\n";
  std::string seen = follow_while(
      log_,
      [&](const WaitSeen& wait_seen) {
        for (size_t i = 0; i < expected.size(); i += 4) {
          ASSERT_TRUE(w.write(expected.substr(i, 4)).ok());
          // At most one rotation between two looks: a follower that sleeps through two
          // rotations skips a whole file by design.
          wait_seen(std::min(i + 4, expected.size()));
        }
      },
      expected.size());
  EXPECT_EQ(seen, expected);
  EXPECT_TRUE(std::filesystem::exists(log_ + ".2"));  // it did rotate, more than once
}

TEST_F(ConsoleLog, FollowWaitsForTheFileToAppear) {
  std::string seen = follow_while(
      log_,
      [&](const WaitSeen&) {
        std::this_thread::sleep_for(30ms);
        auto w = writer(1 << 20, 1);
        ASSERT_TRUE(w.write("first\n").ok());
      },
      6);
  EXPECT_EQ(seen, "first\n");
}

std::string logger_binary() {
  if (const char* build = std::getenv("SEED_BUILD_DIR")) {
    return std::string(build) + "/src/vmm/seed-console-logger";
  }
  // Run by hand from the build tree: the logger sits beside vmm_test.
  auto self = std::filesystem::read_symlink("/proc/self/exe");
  return (self.parent_path() / "seed-console-logger").string();
}

// Opens the FIFO for writing once the logger has it open for reading.
UniqueFd open_fifo_writer(const std::string& fifo) {
  for (int i = 0; i < 500; ++i) {
    UniqueFd fd(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (fd) return fd;
    std::this_thread::sleep_for(10ms);
  }
  return UniqueFd();
}

void write_all(const UniqueFd& fd, const std::string& s) {
  ASSERT_EQ(::write(fd.get(), s.data(), s.size()), static_cast<ssize_t>(s.size()));
}

bool wait_for_state(pid_t pid, char state) {
  for (int i = 0; i < 500; ++i) {
    auto st = read_proc_stat(pid);
    if (st && st->state == state) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST_F(ConsoleLog, LoggerBinaryEndToEnd) {
  std::string fifo = dir_ + "/serial.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  SpawnOptions opts;
  opts.argv = {logger_binary(), fifo, log_, "32", "3"};
  opts.stderr_mode = Output::file;
  opts.stderr_file = dir_ + "/logger.err";
  auto logger = spawn(opts);
  ASSERT_TRUE(logger.ok()) << logger.error().describe();

  UniqueFd w = open_fifo_writer(fifo);
  ASSERT_TRUE(w.valid()) << content(dir_ + "/logger.err");
  write_all(w, "hello\n");
  w.reset();  // the VMM closes its end (a restart, say): not end-of-file for the logger
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(logger->running()) << content(dir_ + "/logger.err");

  w = open_fifo_writer(fifo);
  ASSERT_TRUE(w.valid());
  write_all(w, "world\n");
  for (int i = 0; i < 5; ++i) write_all(w, "line-" + std::to_string(i) + "\n");

  // SIGTERM while output is still in the FIFO: the logger drains it before exiting. Stop it
  // first so the data is certainly unread when the signal lands.
  ASSERT_TRUE(logger->signal(SIGSTOP).ok());
  ASSERT_TRUE(wait_for_state(logger->pid(), 'T'));
  write_all(w, "drained\n");
  ASSERT_TRUE(logger->signal(SIGTERM).ok());
  ASSERT_TRUE(logger->signal(SIGCONT).ok());
  auto how = logger->wait(10s);
  ASSERT_TRUE(how.ok()) << how.error().describe();
  EXPECT_TRUE(how->success()) << how->describe() << "\n" << content(dir_ + "/logger.err");

  auto lines = console_tail(log_, 100);
  ASSERT_TRUE(lines.ok());
  EXPECT_THAT(*lines, ElementsAre("hello", "world", "line-0", "line-1", "line-2", "line-3",
                                  "line-4", "drained"));
  EXPECT_TRUE(std::filesystem::exists(log_ + ".1"));  // 55 bytes at 32 per file: rotated
  EXPECT_EQ(content(dir_ + "/logger.err"), "");
}

// The logger with the log channel: both FIFOs into the store, a boot marker first, garbage on
// the channel kept as text, and `resume` (a replacement logger) writes no second marker.
TEST_F(ConsoleLog, LoggerBinaryWritesTheStore) {
  std::string serial = dir_ + "/serial.fifo", channel = dir_ + "/log.fifo", store = dir_ + "/log.jsonl";
  ASSERT_EQ(::mkfifo(serial.c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo(channel.c_str(), 0600), 0);
  for (const char* mode : {"boot", "resume"}) {
    SpawnOptions opts;
    opts.argv = {logger_binary(), serial, log_, "4096", "2", channel, store, mode};
    opts.stderr_mode = Output::file;
    opts.stderr_file = dir_ + "/logger.err";
    auto logger = spawn(opts);
    ASSERT_TRUE(logger.ok()) << logger.error().describe();
    UniqueFd s = open_fifo_writer(serial);
    UniqueFd c = open_fifo_writer(channel);
    ASSERT_TRUE(s.valid() && c.valid()) << content(dir_ + "/logger.err");
    write_all(s, std::string("kernel line ") + mode + "\n");
    write_all(c, std::string(R"({"unit":"nginx.service","priority":6,"timestamp":5,"message":"up )") + mode +
                     R"(","boot_id":"b"})" + "\nnot json\n");
    std::this_thread::sleep_for(200ms);
    ASSERT_TRUE(logger->signal(SIGTERM).ok());
    auto how = logger->wait(10s);
    ASSERT_TRUE(how.ok() && how->success()) << content(dir_ + "/logger.err");
  }
  auto records = read_log_records(store);
  ASSERT_TRUE(records.ok());
  std::vector<std::string> seen;
  for (const auto& r : *records) seen.push_back(std::string(to_string(r.source)) + ":" + r.message);
  // Within one logger the two FIFOs are read in poll order, so compare per channel.
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "boot:VM started"), 1);
  EXPECT_EQ(seen.front(), "boot:VM started");
  EXPECT_THAT(seen, ::testing::IsSupersetOf({"console:kernel line boot", "journal:up boot", "journal:not json",
                                             "console:kernel line resume", "journal:up resume"}));
  EXPECT_EQ(content(log_), "kernel line boot\nkernel line resume\n");
  EXPECT_EQ(content(dir_ + "/logger.err"), "");
}

TEST_F(ConsoleLog, LoggerBinaryUsage) {
  SpawnOptions opts;
  opts.argv = {logger_binary(), "only-one-arg"};
  auto r = run(opts);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->status.code, 2);
  EXPECT_THAT(r->err, ::testing::HasSubstr("usage:"));
}

}  // namespace
}  // namespace seed::vmm
