// The VM layer end to end: real QEMU (TCG), real virtiofsd, the real hermetic test guest.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/fd.hpp"
#include <nlohmann/json.hpp>

#include "vmm/agent_client.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::vmm {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::VmTest;
using testing::read_console;
using testing::guest_sh;

double guest_uptime(RunningVm& vm) {
  auto agent = AgentClient::connect(vm.paths().agent_socket());
  if (!agent) return -1;
  auto lines = agent->call("uptime", 30s);
  return lines && !lines->empty() ? std::stod((*lines)[0]) : -1;
}

TEST_F(VmTest, BootsToReadyAnswersAgentAndStopsGracefully) {
  auto vm = runner_->start(guest_spec("boot"));
  ASSERT_TRUE(vm.ok()) << vm.error().describe();
  ASSERT_TRUE(wait_console(**vm, "SEED-GUEST-READY"));
  auto agent = AgentClient::connect((*vm)->paths().agent_socket());
  ASSERT_TRUE(agent.ok()) << agent.error().describe();
  auto pong = agent->call("ping", 20s);
  ASSERT_TRUE(pong.ok()) << pong.error().describe();
  EXPECT_EQ(*pong, std::vector<std::string>{"pong"});
  EXPECT_EQ(*(*vm)->control().state(), VmState::running);

  std::string console_file = (*vm)->paths().console_log();
  std::string runtime = (*vm)->paths().dir;
  auto stopped = (*vm)->stop(20s);
  ASSERT_TRUE(stopped.ok()) << stopped.error().describe();
  // The guest powered itself off in response to the ACPI button (the VMM exited 0).
  auto status = (*vm)->vmm().wait(0ms);
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->success()) << status->describe();
  EXPECT_FALSE(fs::exists(runtime)) << "runtime directory left behind";
  EXPECT_TRUE(fs::exists(console_file)) << "console log must outlive the VM";
}

TEST_F(VmTest, GuestReadsAndWritesVirtioFsSharesAndReadOnlyIsEnforced) {
  fs::create_directories(path("rw"));
  fs::create_directories(path("ro"));
  std::ofstream(path("rw/in.txt")) << "from-host\n";
  std::ofstream(path("ro/fixed.txt")) << "read-only\n";
  auto spec = guest_spec("fs", "seed.fs=rw:/mnt/rw,ro:/mnt/ro:ro");
  spec.shares = {{"rw", path("rw"), false}, {"ro", path("ro"), true}};
  auto vm = runner_->start(spec);
  ASSERT_TRUE(vm.ok()) << vm.error().describe();
  ASSERT_TRUE(wait_console(**vm, "SEED-GUEST-READY"));

  auto read = guest_sh(**vm, "cat /mnt/rw/in.txt /mnt/ro/fixed.txt");
  EXPECT_EQ(read.rc, 0);
  EXPECT_EQ(read.out, "from-host\nread-only\n");
  auto write = guest_sh(**vm, "echo from-guest > /mnt/rw/out.txt && sync");
  EXPECT_EQ(write.rc, 0);
  auto out = read_file(path("rw/out.txt"));
  ASSERT_TRUE(out.ok()) << "guest write not visible on the host";
  EXPECT_EQ(*out, "from-guest\n");
  auto denied = guest_sh(**vm, "touch /mnt/ro/intruder");
  EXPECT_NE(denied.rc, 0) << "a read-only share accepted a write";
  EXPECT_FALSE(fs::exists(path("ro/intruder")));
  ASSERT_TRUE((*vm)->stop(20s).ok());
}

TEST_F(VmTest, KillNineOfTheVmmIsDetectedAndReported) {
  auto vm = runner_->start(guest_spec("crash"));
  ASSERT_TRUE(vm.ok()) << vm.error().describe();
  ASSERT_TRUE(wait_console(**vm, "SEED-GUEST-READY"));
  std::string runtime = (*vm)->paths().dir;
  ASSERT_EQ(::kill((*vm)->vmm().pid(), SIGKILL), 0);
  auto exit = (*vm)->wait_exit(10s);
  ASSERT_TRUE(exit.ok()) << exit.error().describe();
  EXPECT_EQ(exit->status.signal, SIGKILL);
  EXPECT_EQ(exit->report.get("stage"), "runtime");
  EXPECT_NE(exit->report.message.find("signal"), std::string::npos) << exit->report.describe();
  EXPECT_NE(exit->report.get("console")->find("SEED-GUEST-READY"), std::string::npos)
      << "the report should carry the last console lines";
  EXPECT_FALSE(fs::exists(runtime));
}

TEST_F(VmTest, SnapshotThenRestoreContinuesTheSameGuest) {
  auto vm = runner_->start(guest_spec("snap"));
  ASSERT_TRUE(vm.ok()) << vm.error().describe();
  ASSERT_TRUE(wait_console(**vm, "SEED-GUEST-READY"));
  ASSERT_EQ(guest_sh(**vm, "echo remembered > /tmp/marker").rc, 0);
  double before = guest_uptime(**vm);
  ASSERT_GT(before, 0);
  auto snap = (*vm)->snapshot(path("snapshot"));
  ASSERT_TRUE(snap.ok()) << snap.error().describe();
  ASSERT_TRUE(fs::exists(path("snapshot/state")));
  ASSERT_TRUE((*vm)->stop(20s).ok());

  auto restored = runner_->restore(path("snapshot"));
  ASSERT_TRUE(restored.ok()) << restored.error().describe();
  // Same memory: the file written before the snapshot is still in the guest's tmpfs, and the
  // clock went on instead of starting from zero.
  auto marker = guest_sh(**restored, "cat /tmp/marker");
  EXPECT_EQ(marker.out, "remembered\n");
  EXPECT_GE(guest_uptime(**restored), before);
  ASSERT_TRUE((*restored)->stop(20s).ok());
}

TEST_F(VmTest, ANewProcessAdoptsARunningVmWithoutRebootingIt) {
  // A child process plays the seedd that started the VM and then went away.
  pid_t starter = ::fork();
  ASSERT_GE(starter, 0);
  if (starter == 0) {
    auto vm = runner_->start(guest_spec("adopt"));
    ::_exit(vm.ok() ? 0 : 1);  // without stop(): the VM must keep running
  }
  int status = 0;
  ASSERT_EQ(::waitpid(starter, &status, 0), starter);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(runner_->recorded(), std::vector<std::string>{"adopt"});

  auto vm = runner_->adopt("adopt");
  ASSERT_TRUE(vm.ok()) << vm.error().describe();
  EXPECT_TRUE((*vm)->adopted());
  EXPECT_TRUE((*vm)->vmm().adopted()) << "the VMM should belong to the previous process";
  ASSERT_TRUE(wait_console(**vm, "SEED-GUEST-READY"));
  double first = guest_uptime(**vm);
  ASSERT_GT(first, 0);
  // Adopting again (a second restart) keeps the same guest running: uptime only grows.
  vm->reset();
  auto again = runner_->adopt("adopt");
  ASSERT_TRUE(again.ok()) << again.error().describe();
  EXPECT_GE(guest_uptime(**again), first);
  EXPECT_EQ(read_console(**again).find("SEED-GUEST-READY"),
            read_console(**again).rfind("SEED-GUEST-READY"))
      << "the guest booted twice";
  ASSERT_TRUE((*again)->stop(20s).ok());
  EXPECT_TRUE(runner_->recorded().empty());
}

TEST_F(VmTest, AdoptingAVmThatDiedWhileAwayCleansItsLeftovers) {
  pid_t starter = ::fork();
  ASSERT_GE(starter, 0);
  if (starter == 0) ::_exit(runner_->start(guest_spec("gone")).ok() ? 0 : 1);
  int status = 0;
  ASSERT_EQ(::waitpid(starter, &status, 0), starter);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto record = read_file(path("run/vm/gone/vm.json"));
  ASSERT_TRUE(record.ok());
  auto pid = nlohmann::json::parse(*record)["vmm"]["pid"].get<int>();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(20ms);
  auto vm = runner_->adopt("gone");
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.error().code, Errc::not_found);
  EXPECT_FALSE(fs::exists(path("run/vm/gone")));
}

}  // namespace
}  // namespace seed::vmm
