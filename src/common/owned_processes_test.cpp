// The owner mark on spawned helpers and the sweep a restarted seedd runs with it, on real
// processes (sleep and sh).
#include "common/owned_processes.hpp"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include <gtest/gtest.h>

#include "common/proc_stat.hpp"
#include "common/testing/temp_dir.hpp"

namespace seed {
namespace {

using namespace std::chrono_literals;

bool alive(pid_t pid) {
  auto st = read_proc_stat(pid);
  return st && st->state != 'Z';
}

std::set<pid_t> pids_of(const std::vector<ProcessRecord>& records) {
  std::set<pid_t> out;
  for (const auto& r : records) out.insert(r.pid);
  return out;
}

class OwnedProcesses : public ::testing::Test {
 protected:
  Child start(std::vector<std::string> argv, const std::string& owner) {
    SpawnOptions o;
    o.argv = std::move(argv);
    o.owner = owner;
    auto c = spawn(o);
    EXPECT_TRUE(c) << c.error().describe();
    children_.push_back(c ? c->pid() : 0);
    return c ? std::move(*c) : Child();
  }
  void TearDown() override {
    (void)end_strays(owner_, {}, 0ms);  // grandchildren too
    (void)end_strays(owner_ + "-other", {}, 0ms);
    for (pid_t pid : children_) {
      if (pid > 0) ::kill(pid, SIGKILL);
    }
  }
  // Unique per test run: the mark of a directory only this test uses, as seedd's runtime dir.
  seed::testing::TempDir dir_;
  const std::string owner_ = dir_.path() + "/run";
  std::vector<pid_t> children_;
};

TEST_F(OwnedProcesses, FindsOnlyProcessesCarryingItsOwnMark) {
  Child mine = start({"sleep", "60"}, owner_);
  Child theirs = start({"sleep", "61"}, owner_ + "-other");
  Child unmarked = start({"sleep", "62"}, "");
  auto found = find_owned(owner_);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].pid, mine.pid());
  EXPECT_EQ(found[0].start_time, mine.record().start_time);
  EXPECT_EQ(found[0].argv, (std::vector<std::string>{"sleep", "60"}));
}

TEST_F(OwnedProcesses, EndsStraysKeepsWhatIsKeptWithItsChildrenAndIsDoneWhenItReturns) {
  // A kept helper with a child of its own (like virtiofsd's sandbox), two strays (one ignoring
  // SIGTERM, like a wedged helper), and a process of another owner.
  Child kept = start({"sh", "-c", "sleep 60 & wait"}, owner_);
  Child stray = start({"sleep", "60"}, owner_);
  Child stubborn = start({"sh", "-c", "trap '' TERM; sleep 60 & wait; sleep 60"}, owner_);
  Child other = start({"sleep", "60"}, owner_ + "-other");
  // Until the shells have forked their sleeps, nothing would show the children.
  for (int i = 0; i < 200 && find_owned(owner_).size() < 5; ++i) std::this_thread::sleep_for(10ms);
  auto before = find_owned(owner_);
  ASSERT_EQ(before.size(), 5u) << "kept, its child, stray, stubborn and its child";

  auto ended = end_strays(owner_, {kept.pid()}, 300ms);

  auto gone = pids_of(ended);
  EXPECT_TRUE(gone.count(stray.pid()));
  EXPECT_TRUE(gone.count(stubborn.pid()));
  EXPECT_FALSE(gone.count(kept.pid()));
  EXPECT_FALSE(alive(stray.pid()));
  EXPECT_FALSE(alive(stubborn.pid()));
  EXPECT_TRUE(alive(kept.pid()));
  EXPECT_TRUE(alive(other.pid()));
  auto left = find_owned(owner_);
  EXPECT_EQ(left.size(), 2u) << "the kept shell and its sleep";
  for (const auto& r : left) {
    auto st = read_proc_stat(r.pid);
    ASSERT_TRUE(st);
    EXPECT_TRUE(r.pid == kept.pid() || st->ppid == kept.pid()) << r.pid;
  }
}

TEST_F(OwnedProcesses, AStrayThatStartsAChildWhileDyingLeavesNothingBehind) {
  // A loop that ignores SIGTERM and starts a new sleep whenever its sleep ends; the sleep dies
  // of SIGTERM at once. Ending one at a time (or by one scan) would end the sleep, the loop
  // would start another in the grace, and that one would outlive the sweep. CI saw this with
  // the shell below in the test above when its sleep got the lower pid (pid_max wrapped).
  Child loop = start({"sh", "-c", "trap '' TERM; while :; do env --default-signal=TERM sleep 60; done"}, owner_);
  // Wait for the sleep itself: while its process is still `env`, SIGTERM is still ignored
  // (inherited from the loop) and it would die only of the SIGKILL, with no race to show.
  auto sleeping = [&] {
    auto found = find_owned(owner_);
    return found.size() == 2 &&
           std::any_of(found.begin(), found.end(), [](const ProcessRecord& r) { return !r.argv.empty() && r.argv[0] == "sleep"; });
  };
  for (int i = 0; i < 500 && !sleeping(); ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(sleeping()) << "the loop and its sleep";

  // The grace is long enough for the loop to start its next sleep even on a loaded machine.
  auto ended = end_strays(owner_, {}, 2s);

  EXPECT_GE(ended.size(), 3u) << "the loop, its sleep and the sleep it started while dying";
  EXPECT_FALSE(alive(loop.pid()));
  EXPECT_TRUE(find_owned(owner_).empty());
}

TEST_F(OwnedProcesses, TheMarkReplacesOneInheritedFromTheParentEnvironment) {
  SpawnOptions o;
  o.argv = {"sh", "-c", "echo \"$SEED_OWNER\""};
  o.env = {"SEED_OWNER=/somewhere/else"};
  o.owner = owner_;
  auto r = run(o);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->out, owner_ + "\n");
}

}  // namespace
}  // namespace seed
