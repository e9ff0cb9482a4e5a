#include "common/testing/temp_dir.hpp"
#include "common/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/proc_stat.hpp"

namespace seed {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class Process : public ::testing::Test {
 protected:
  seed::testing::TempDir tmp_;
  const std::string dir_ = tmp_.path();
};

SpawnOptions cmd(std::vector<std::string> argv) {
  SpawnOptions o;
  o.argv = std::move(argv);
  return o;
}

SpawnOptions sh(const std::string& script) { return cmd({"/bin/sh", "-c", script}); }

RunOptions with_timeout(std::chrono::milliseconds t) {
  RunOptions o;
  o.timeout = t;
  return o;
}

RunOptions with_input(std::string input) {
  RunOptions o;
  o.input = std::move(input);
  return o;
}

// Gone, or a zombie nobody reaped yet (a container's init may not reap): either way, dead.
bool dead(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    auto st = read_proc_stat(pid);
    if (!st || st->state == 'Z') return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// Reads from `fd` until `want` appears (or 5 s pass).
std::string read_until(int fd, const std::string& want) {
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (got.find(want) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

std::set<int> fd_numbers(const std::string& ls_output) {
  std::set<int> out;
  std::istringstream in(ls_output);
  int fd;
  while (in >> fd) out.insert(fd);
  return out;
}

TEST_F(Process, RunCapturesOutputAndExitCode) {
  auto r = run(sh("echo out; echo err >&2; exit 3"));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_TRUE(r->status.known);
  EXPECT_EQ(r->status.code, 3);
  EXPECT_EQ(r->status.signal, 0);
  EXPECT_FALSE(r->status.success());
  EXPECT_EQ(r->status.describe(), "exited with code 3");
}

TEST_F(Process, RunTrueAndFalse) {
  auto t = run(cmd({"true"}));
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->status.success());
  auto f = run(cmd({"false"}));
  ASSERT_TRUE(f.ok());  // a non-zero exit is not an error of run()
  EXPECT_EQ(f->status.code, 1);
}

TEST_F(Process, RunReportsSignal) {
  auto r = run(sh("kill -TERM $$"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status.signal, SIGTERM);
  EXPECT_FALSE(r->status.success());
  EXPECT_THAT(r->status.describe(), HasSubstr("killed by signal"));
}

TEST_F(Process, RunFeedsInput) {
  auto r = run(cmd({"cat"}), with_input("hello\nworld"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "hello\nworld");
}

TEST_F(Process, RunFeedsLargeInput) {
  std::string big(3 * 1024 * 1024 + 17, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = '\n';
  auto r = run(cmd({"cat"}), with_input(big));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.size(), big.size());
  EXPECT_TRUE(r->out == big);
}

TEST_F(Process, InputTheChildNeverReadsDoesNotKillUs) {
  // The child exits without reading; writing the rest must not raise SIGPIPE in the parent.
  std::string big(4 * 1024 * 1024, 'y');
  auto r = run(sh("exit 0"), with_input(big));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_TRUE(r->status.success());
}

TEST_F(Process, RunCheckedTurnsFailureIntoError) {
  auto r = run_checked(sh("echo 'disk on fire' >&2; exit 2"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::process_failed);
  EXPECT_EQ(r.error().message, "/bin/sh exited with code 2");
  EXPECT_EQ(r.error().get("stderr"), "disk on fire\n");
  EXPECT_EQ(r.error().get("binary"), "/bin/sh");
  auto good = run_checked(sh("echo fine"));
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->out, "fine\n");
}

TEST_F(Process, TimeoutKillsTheWholeProcessGroup) {
  std::string pidfile = dir_ + "/grandchild.pid";
  auto start = std::chrono::steady_clock::now();
  auto r = run(sh("sleep 30 & echo $! > " + pidfile + "; wait"), with_timeout(500ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::timeout);
  EXPECT_THAT(r.error().message, HasSubstr("/bin/sh did not finish within 500 ms"));
  auto text = read_file(pidfile);
  ASSERT_TRUE(text.ok());
  pid_t grandchild = std::stoi(*text);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(dead(grandchild)) << "grandchild sleep " << grandchild << " survived";
}

TEST_F(Process, CancelFdStopsTheWholeGroupAtOnce) {
  UniqueFd cancel(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  ASSERT_TRUE(cancel);
  std::string pidfile = dir_ + "/grandchild.pid";
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);
    uint64_t one = 1;
    (void)!::write(cancel.get(), &one, sizeof one);
  });
  RunOptions ro = with_timeout(60s);
  ro.cancel_fd = cancel.get();
  auto r = run(sh("sleep 30 & echo $! > " + pidfile + "; wait"), ro);
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_EQ(r.error().get("cancelled"), "yes");
  EXPECT_THAT(r.error().message, HasSubstr("/bin/sh was cancelled before it finished"));
  auto text = read_file(pidfile);
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(dead(std::stoi(*text)));
  // A cancel fd that never fires changes nothing.
  UniqueFd quiet(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  RunOptions calm = with_timeout(10s);
  calm.cancel_fd = quiet.get();
  auto ok = run(sh("echo fine"), calm);
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_EQ(ok->out, "fine\n");
}

TEST_F(Process, TimeoutWhileAGrandchildHoldsTheOutput) {
  // The shell exits at once, but its background child keeps stdout open past the deadline.
  std::string pidfile = dir_ + "/grandchild.pid";
  auto r = run(sh("sleep 30 & echo $! > " + pidfile), with_timeout(500ms));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::timeout);
  auto text = read_file(pidfile);
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(dead(std::stoi(*text)));
}

TEST_F(Process, MissingBinaryIsUnavailable) {
  auto c = spawn(cmd({"seed-no-such-program"}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, Errc::unavailable);
  EXPECT_THAT(c.error().message, HasSubstr("seed-no-such-program"));
  EXPECT_EQ(c.error().get("binary"), "seed-no-such-program");
  auto r = run_checked(cmd({dir_ + "/nothing"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_THAT(r.error().message, HasSubstr(dir_ + "/nothing"));
}

TEST_F(Process, UnexecutableFileIsUnavailable) {
  std::string junk = dir_ + "/junk";
  ASSERT_TRUE(write_file_atomic(junk, std::string("\x7f" "ELFgarbage", 10), 0755).ok());
  auto c = spawn(cmd({junk}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, Errc::unavailable);
  EXPECT_THAT(c.error().message, HasSubstr("cannot start " + junk));
}

TEST_F(Process, EmptyArgv) {
  auto c = spawn(SpawnOptions());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, Errc::invalid_argument);
}

TEST_F(Process, MappedFdReachesTheChild) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  auto opts = sh("echo to-three >&3; echo to-seven >&7");
  opts.fds = {{wr.get(), 3}, {wr.get(), 7}};
  auto r = run(opts);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_TRUE(r->status.success()) << r->err;
  wr.reset();
  EXPECT_EQ(read_until(rd.get(), "to-seven\n"), "to-three\nto-seven\n");
}

TEST_F(Process, UnmappedFdsAreNotInherited) {
  // A descriptor the parent left open without CLOEXEC, below and above the mapped number.
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ASSERT_EQ(::dup2(p[0], 40), 40);
  ASSERT_EQ(::dup2(p[1], 60), 60);
  ::close(p[0]);
  ::close(p[1]);
  UniqueFd low(40), high(60);
  auto opts = sh("ls /proc/$$/fd");
  opts.fds = {{high.get(), 50}};
  auto r = run(opts);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(fd_numbers(r->out), (std::set<int>{0, 1, 2, 50})) << r->out;
  auto plain = run(sh("ls /proc/$$/fd"));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(fd_numbers(plain->out), (std::set<int>{0, 1, 2})) << plain->out;
}

TEST_F(Process, ChildSetupFailureIsReportedForEveryMappedNumber) {
  // The start-up error channel must survive whatever fd numbers the mappings take.
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  for (int target = 3; target < 40; ++target) {
    SpawnOptions opts = cmd({"true"});
    opts.fds = {{wr.get(), target}};
    opts.cwd = dir_ + "/absent";
    auto c = spawn(opts);
    ASSERT_FALSE(c.ok()) << "child fd " << target;
    EXPECT_THAT(c.error().message, HasSubstr("No such file or directory"));
  }
}

TEST_F(Process, CwdIsApplied) {
  SpawnOptions opts = cmd({"pwd"});
  opts.cwd = dir_;
  auto r = run(opts);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, dir_ + "\n");
}

TEST_F(Process, OutputFileAppends) {
  std::string log = dir_ + "/vmm.log";
  ASSERT_TRUE(write_file_atomic(log, "first\n").ok());
  for (const char* word : {"second", "third"}) {
    auto opts = sh(std::string("echo ") + word + "; echo " + word + "-err >&2");
    opts.stdout_mode = opts.stderr_mode = Output::file;
    opts.stdout_file = opts.stderr_file = log;
    auto c = spawn(opts);
    ASSERT_TRUE(c.ok()) << c.error().describe();
    auto st = c->wait(5s);
    ASSERT_TRUE(st.ok());
    EXPECT_TRUE(st->success());
  }
  EXPECT_EQ(*read_file(log), "first\nsecond\nsecond-err\nthird\nthird-err\n");
}

TEST_F(Process, EnvAdditionsOverride) {
  ASSERT_EQ(::setenv("SEED_UT_EXISTING", "parent", 1), 0);
  auto opts = sh("echo \"$SEED_UT_EXISTING|$SEED_UT_NEW|$SEED_UT_EMPTY|${PATH:+path}\"");
  opts.env = {"SEED_UT_EXISTING=child", "SEED_UT_NEW=a=b", "SEED_UT_EMPTY="};
  auto r = run(opts);
  ::unsetenv("SEED_UT_EXISTING");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "child|a=b||path\n");
  // Only the exact key is replaced, not every variable sharing its prefix.
  ASSERT_EQ(::setenv("SEED_UT_A_LONGER", "kept", 1), 0);
  auto opts2 = sh("echo \"$SEED_UT_A_LONGER $SEED_UT_A\"");
  opts2.env = {"SEED_UT_A=x"};
  auto r2 = run(opts2);
  ::unsetenv("SEED_UT_A_LONGER");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->out, "kept x\n");
}

TEST_F(Process, ReadonlyPathsOnlyForTheChild) {
  ASSERT_EQ(::geteuid(), 0u) << "this test needs root (mount namespaces)";
  std::string shared = dir_ + "/shared";
  ASSERT_TRUE(std::filesystem::create_directory(shared));
  auto opts = sh("touch " + shared + "/inside");
  opts.readonly_paths = {shared};
  auto r = run(opts);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_FALSE(r->status.success());
  EXPECT_THAT(r->err, HasSubstr("Read-only file system"));
  EXPECT_FALSE(std::filesystem::exists(shared + "/inside"));
  // The parent (and a child without the option) still writes there.
  auto outside = run(sh("touch " + shared + "/outside"));
  ASSERT_TRUE(outside.ok());
  EXPECT_TRUE(outside->status.success()) << outside->err;
  EXPECT_TRUE(write_file_atomic(shared + "/parent", "x").ok());
}

TEST_F(Process, RunsAsAnotherUserWithoutSupplementaryGroups) {
  ASSERT_EQ(::geteuid(), 0u) << "this test needs root (setuid)";
  auto opts = sh("id -u; id -g; id -G");
  opts.uid = 65534;
  opts.gid = 65534;
  auto r = run(opts);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->out, "65534\n65534\n65534\n") << r->err;
}

TEST_F(Process, AddressSpaceLimitStopsAGreedyChild) {
  // 512 MiB in one allocation cannot fit under a 160 MiB cap; the same child runs fine without it.
  auto opts = sh("exec python3 -c 'b = bytearray(1 << 29); print(len(b))'");
  opts.address_space_limit = 160ull << 20;
  auto capped = run(opts);
  ASSERT_TRUE(capped.ok()) << capped.error().describe();
  EXPECT_FALSE(capped->status.success());
  EXPECT_THAT(capped->err, HasSubstr("MemoryError"));
  opts.address_space_limit.reset();
  auto free_run = run(opts);
  ASSERT_TRUE(free_run.ok());
  EXPECT_TRUE(free_run->status.success()) << free_run->err;
}

TEST_F(Process, ProcessRecordJsonRoundTrip) {
  ProcessRecord rec{4242, 123456789012ULL, {"qemu-system-x86_64", "-name", "web vm"}};
  nlohmann::json j = rec;
  EXPECT_EQ(j["pid"], 4242);
  EXPECT_EQ(j["start_time"], 123456789012ULL);
  auto back = nlohmann::json::parse(j.dump()).get<ProcessRecord>();
  EXPECT_EQ(back.pid, rec.pid);
  EXPECT_EQ(back.start_time, rec.start_time);
  EXPECT_EQ(back.argv, rec.argv);
  EXPECT_THROW(nlohmann::json({{"pid", 1}}).get<ProcessRecord>(), nlohmann::json::exception);
}

TEST_F(Process, SpawnRecordsStartTime) {
  auto c = spawn(cmd({"sleep", "30"}));
  ASSERT_TRUE(c.ok());
  auto st = read_proc_stat(c->pid());
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(c->record().pid, c->pid());
  EXPECT_EQ(c->record().start_time, st->start_time);
  EXPECT_EQ(c->record().argv, (std::vector<std::string>{"sleep", "30"}));
  EXPECT_TRUE(c->running());
  c->terminate();
}

TEST_F(Process, AdoptLiveProcess) {
  auto c = spawn(cmd({"sleep", "30"}));
  ASSERT_TRUE(c.ok());
  auto a = adopt(c->record());
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_EQ(a->pid(), c->pid());
  EXPECT_TRUE(a->running());
  EXPECT_FALSE(a->adopted());  // our own child: it can still be reaped
  auto how = a->terminate(2s);
  EXPECT_EQ(how.signal, SIGTERM);
  EXPECT_FALSE(c->running());
}

TEST_F(Process, AdoptSomeoneElsesProcess) {
  // A grandchild, reparented away from us when the shell exits: not reapable by us.
  auto r = run(sh("sleep 30 >/dev/null 2>&1 </dev/null & echo $!"));
  ASSERT_TRUE(r.ok());
  pid_t pid = std::stoi(r->out);
  auto st = read_proc_stat(pid);
  ASSERT_TRUE(st.has_value());
  auto a = adopt({pid, st->start_time, {"sleep", "30"}});
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_TRUE(a->adopted());
  EXPECT_TRUE(a->running());
  ASSERT_TRUE(a->signal(SIGKILL).ok());
  auto how = a->wait(5s);
  ASSERT_TRUE(how.ok()) << how.error().describe();
  EXPECT_FALSE(how->known);
  EXPECT_FALSE(how->success());
  EXPECT_FALSE(a->running());
}

TEST_F(Process, AdoptDeadProcessOrWrongStartTime) {
  auto c = spawn(cmd({"true"}));
  ASSERT_TRUE(c.ok());
  ProcessRecord rec = c->record();
  ASSERT_TRUE(c->wait(5s).ok());
  auto gone = adopt(rec);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, Errc::not_found);
  EXPECT_THAT(gone.error().message, HasSubstr(std::to_string(rec.pid)));

  auto live = spawn(cmd({"sleep", "30"}));
  ASSERT_TRUE(live.ok());
  ProcessRecord other = live->record();
  other.start_time += 1;  // the pid was recycled by another process
  auto replaced = adopt(other);
  ASSERT_FALSE(replaced.ok());
  EXPECT_EQ(replaced.error().code, Errc::not_found);
  EXPECT_THAT(replaced.error().message, HasSubstr("replaced"));
  EXPECT_EQ(replaced.error().get("argv"), "sleep 30");
  live->terminate();

  EXPECT_EQ(adopt({0, 0, {}}).error().code, Errc::not_found);
}

TEST_F(Process, WaitTimesOutThenTerminate) {
  auto c = spawn(cmd({"sleep", "30"}));
  ASSERT_TRUE(c.ok());
  auto w = c->wait(100ms);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, Errc::timeout);
  EXPECT_TRUE(c->running());
  auto start = std::chrono::steady_clock::now();
  auto how = c->terminate(5s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(how.signal, SIGTERM);
  EXPECT_FALSE(c->running());
  EXPECT_EQ(c->terminate().signal, SIGTERM);  // idempotent
}

TEST_F(Process, TerminateEscalatesToKill) {
  SpawnOptions opts = sh("trap '' TERM; echo ready; while :; do sleep 0.05; done");
  opts.stdout_mode = Output::capture;
  auto c = spawn(opts);
  ASSERT_TRUE(c.ok());
  ASSERT_THAT(read_until(c->stdout_pipe().get(), "ready\n"), HasSubstr("ready"));
  auto start = std::chrono::steady_clock::now();
  auto how = c->terminate(300ms);
  auto took = std::chrono::steady_clock::now() - start;
  ::kill(-c->pid(), SIGKILL);  // the shell's sleeps, which ignore TERM too
  EXPECT_EQ(how.signal, SIGKILL);
  EXPECT_GE(took, 250ms);  // poll rounds the grace down to whole milliseconds
  EXPECT_LT(took, 5s);
}

TEST_F(Process, MaxOutputCapsEachStream) {
  auto r = run(sh("head -c 200000 /dev/zero; head -c 50000 /dev/zero >&2; echo done >&2"),
               [] {
                 RunOptions o;
                 o.max_output = 1000;
                 return o;
               }());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_TRUE(r->status.success());  // the excess is drained, so the child is never blocked
  EXPECT_EQ(r->out.size(), 1000u);
  EXPECT_EQ(r->err.size(), 1000u);
}

TEST(FindExecutable, LooksUpPath) {
  auto sh_path = find_executable("sh");
  ASSERT_TRUE(sh_path.has_value());
  EXPECT_EQ(sh_path->back(), 'h');
  EXPECT_EQ(find_executable("/bin/sh"), "/bin/sh");
  EXPECT_FALSE(find_executable("seed-no-such-program").has_value());
  EXPECT_FALSE(find_executable("/etc/passwd").has_value());  // not executable
  EXPECT_FALSE(find_executable("/tmp").has_value());         // a directory
}

}  // namespace
}  // namespace seed
