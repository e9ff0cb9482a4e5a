// The VM lifecycle as ChControl runs it, against recorded CH exchanges, with a real pty
// standing in for the virtio-console pty CH allocates.
#include "vmm/cloud_hypervisor/ch_control.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <unistd.h>

#include "common/fd.hpp"
#include "common/unix_socket.hpp"
#include "vmm/cloud_hypervisor/testing/ch_replay_server.hpp"
#include "vmm/cloud_hypervisor/testing/ch_test_util.hpp"

namespace seed::vmm::ch {
namespace {

using namespace std::chrono_literals;
using testing::ExchangeFile;
using testing::golden_spec;
using testing::load_exchanges;
using testing::pick;
using testing::RecordedExchange;
using testing::ReplayServer;
using testing::TempDir;

// Reads what arrives on `fd` until `want` bytes came or a second passed.
std::string read_some(int fd, size_t want) {
  std::string out;
  char buf[256];
  while (out.size() < want) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) break;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class ChControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int slave = -1;
    char name[128] = {};
    ASSERT_EQ(::openpty(&master_, &slave, name, nullptr, nullptr), 0);
    ::close(slave);  // CH keeps its own end open; the bridge opens the pty by name
    pty_ = name;
    ASSERT_EQ(::mkdir((tmp_.path() + "/vm").c_str(), 0700), 0);
    ASSERT_EQ(::mkdir(paths().dir.c_str(), 0700), 0);
  }
  void TearDown() override {
    if (server_) {
      EXPECT_TRUE(server_->pending().empty()) << "recorded calls never made, first: " << server_->pending().front();
    }
    if (master_ >= 0) ::close(master_);
  }
  VmPaths paths() const { return VmPaths::for_vm(tmp_.path(), tmp_.path(), "web"); }
  std::string snapshot_dir() const { return tmp_.path() + "/snap"; }
  void write_snapshot(const nlohmann::json& config) const {
    ASSERT_EQ(::mkdir(snapshot_dir().c_str(), 0700), 0);
    ASSERT_TRUE(write_file_atomic(snapshot_dir() + "/config.json", config.dump(), 0600));
    ASSERT_TRUE(write_file_atomic(snapshot_dir() + "/state.json", "{}", 0600));
  }
  ExchangeFile file(const std::string& name) const {
    return load_exchanges(name, {{"VM_DIR", paths().dir}, {"CONSOLE_PTY", pty_}, {"SNAPSHOT_DIR", snapshot_dir()}});
  }
  ChControl control(std::vector<RecordedExchange> script) {
    server_ = std::make_unique<ReplayServer>(paths().control_socket(), std::move(script));
    return ChControl(ChApi(ChHttpClient(paths().control_socket(), HttpTimeouts{1000ms, 5000ms})), "web",
                     paths(), ChVersion{53, 0, 0});
  }
  // The agent channel works end to end: guest (pty master) <-> bridge <-> agent socket.
  void expect_agent_channel_works() {
    auto client = connect_unix(paths().agent_socket(), 1000ms);
    ASSERT_TRUE(client) << client.error().describe();
    // The bridge may still be accepting: send from the client first, then the reply.
    ASSERT_EQ(::write(client->get(), "ping\n", 5), 5);
    EXPECT_EQ(read_some(master_, 5), "ping\n");
    ASSERT_EQ(::write(master_, "pong\n", 5), 5);
    EXPECT_EQ(read_some(client->get(), 5), "pong\n");
  }

  TempDir tmp_;
  int master_ = -1;
  std::string pty_;
  std::unique_ptr<ReplayServer> server_;
};

TEST_F(ChControlTest, BootStateTransitionsSnapshotAddFsAndQuit) {
  auto ch = control(pick(file("lifecycle.json"),
                         {"create", "boot", "info running",                  // boot()
                          "info running",                                    // state()
                          "pause", "info paused",                            // pause()
                          "resume", "info running",                          // resume()
                          "info running", "pause", "info paused", "snapshot",  // snapshot()
                          "add-fs hotplug", "power-button", "vmm shutdown"}));
  auto st = ch.boot(golden_spec(), paths());
  ASSERT_TRUE(st) << st.error().describe();
  ASSERT_NE(ch.agent_bridge(), nullptr);
  EXPECT_EQ(ch.agent_bridge()->pty_path(), pty_);
  expect_agent_channel_works();

  auto state = ch.state();
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, VmState::running);
  ASSERT_TRUE(ch.pause());
  ASSERT_TRUE(ch.resume());
  // snapshot() pauses the running VM first and leaves it paused.
  st = ch.snapshot(snapshot_dir());
  ASSERT_TRUE(st) << st.error().describe();
  st = ch.add_fs({"extra", "/srv/extra", false}, paths().fs_socket("extra"));
  ASSERT_TRUE(st) << st.error().describe();
  ASSERT_TRUE(ch.power_button());
  ASSERT_TRUE(ch.quit());
  EXPECT_EQ(ch.agent_bridge(), nullptr);
  EXPECT_TRUE(server_->mismatches().empty());
}

TEST_F(ChControlTest, RestoreResumesAndServesTheAgentChannel) {
  auto script = pick(file("restore.json"), {"restore", "info paused", "resume", "info running"});
  // The snapshot's config.json is the VmConfig vm.info reports (one serde type, see ch_restore).
  write_snapshot(nlohmann::json::parse(script[1].body).at("config"));
  auto ch = control(script);
  auto st = ch.restore(golden_spec(), paths(), snapshot_dir());
  ASSERT_TRUE(st) << st.error().describe();
  expect_agent_channel_works();
  // CH was pointed at this VM's own copy, which names this VM's FIFO.
  auto own = nlohmann::json::parse(*read_file(paths().dir + "/ch-restore/config.json"));
  EXPECT_EQ(own["serial"]["file"], paths().serial_fifo());
}

// A shoot clone gets its mounts after the restore: vm.add-fs must reach the restored VM (CH
// hot-plugs it, answering with the PCI address) and vm.info then lists the device. The replay
// cannot catch whether the guest sees the device; the shoot VM tests do that under QEMU.
TEST_F(ChControlTest, RestoredVmTakesAHotPluggedShare) {
  auto script = pick(file("restore.json"), {"restore", "info paused", "resume", "info running",
                                            "add-fs hotplug", "info running with added fs"});
  write_snapshot(nlohmann::json::parse(script[1].body).at("config"));
  auto ch = control(script);
  auto st = ch.restore(golden_spec(), paths(), snapshot_dir());
  ASSERT_TRUE(st) << st.error().describe();
  st = ch.add_fs({"work", "/srv/work", false}, paths().fs_socket("work"));
  ASSERT_TRUE(st) << st.error().describe();
  ChApi api(ChHttpClient(paths().control_socket(), HttpTimeouts{1000ms, 5000ms}));
  auto info = api.vm_info();
  ASSERT_TRUE(info) << info.error().describe();
  EXPECT_EQ(info->config.at("fs").back().at("tag"), "work");
  EXPECT_TRUE(server_->mismatches().empty());
}

// A clone of a snapshot taken with private memory cannot take a share: CH's reason is kept.
TEST_F(ChControlTest, AddFsIntoPrivateMemoryKeepsTheReason) {
  auto script = pick(file("restore.json"), {"add-fs without shared memory"});
  auto ch = control(script);
  auto st = ch.add_fs({"work", "/srv/work", false}, paths().fs_socket("work"));
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("Using vhost-user requires using shared memory"), std::string::npos)
      << st.error().describe();
  EXPECT_EQ(st.error().get("share"), "work");
}

TEST_F(ChControlTest, FailedBootKeepsTheChainAndReportsTheRealState) {
  auto lifecycle = file("lifecycle.json");
  auto errors = file("errors.json");
  auto script = pick(lifecycle, {"create"});
  for (auto& ex : pick(errors, {"boot initramfs missing", "info created after failed boot"})) script.push_back(ex);
  auto ch = control(script);
  auto st = ch.boot(golden_spec(), paths());
  ASSERT_FALSE(st);
  const Error& err = st.error();
  EXPECT_EQ(err.code, Errc::process_failed);
  EXPECT_EQ(err.get("ch_error"),
            "Error from API : The VM could not boot : Cannot open initramfs file : No such file or "
            "directory (os error 2)");
  EXPECT_EQ(err.get("vm_state"), "Created");
  EXPECT_EQ(err.get("stage"), "boot");
  EXPECT_EQ(err.get("vm"), "web");
  EXPECT_EQ(ch.agent_bridge(), nullptr);
}

TEST_F(ChControlTest, StateDecidesWhenTheStatusCodeDisagrees) {
  // CH answers 500 to pausing a paused VM; vm.info shows the VM is where we wanted it.
  auto errors = file("errors.json");
  auto ch = control(pick(errors, {"pause already paused", "info paused"}));
  auto st = ch.pause();
  EXPECT_TRUE(st) << st.error().describe();
}

TEST_F(ChControlTest, FailedTransitionReportsChainAndState) {
  // vm.resume fails and vm.info shows the VM still paused: the chain is the answer.
  auto errors = file("errors.json");
  auto script = pick(errors, {"resume failing", "info paused"});
  auto ch = control(script);
  auto st = ch.resume();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().get("vm_state"), "Paused");
  EXPECT_NE(st.error().message.find("The VM could not resume"), std::string::npos);
  EXPECT_EQ(st.error().get("stage"), "runtime");
}

TEST_F(ChControlTest, AcceptedCallWithWrongStateIsAnError) {
  // vm.boot says 204 but the VM is not running: the status code is not trusted.
  auto lifecycle = file("lifecycle.json");
  auto ch = control(pick(lifecycle, {"create", "boot", "info created"}));
  auto st = ch.boot(golden_spec(), paths());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::process_failed);
  EXPECT_EQ(st.error().message,
            "cloud-hypervisor accepted vm.boot but vm.info reports state Created, not Running");
}

TEST_F(ChControlTest, SnapshotRefusesAVmThatNeverBooted) {
  auto ch = control(pick(file("lifecycle.json"), {"info created"}));
  auto st = ch.snapshot(snapshot_dir());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::conflict);
}

TEST_F(ChControlTest, QuitCountsAVmmThatExitsWhileAnsweringAsDone) {
  // Nobody listening any more: the VMM already went away, which is what quit() asked for.
  ChControl ch(ChApi(ChHttpClient(paths().control_socket(), HttpTimeouts{500ms, 1000ms})), "web", paths(),
               ChVersion{53, 0, 0});
  EXPECT_TRUE(ch.quit());
}

TEST_F(ChControlTest, ReattachServesTheAgentChannelAgain) {
  auto ch = control(pick(file("lifecycle.json"), {"info running"}));
  ASSERT_TRUE(ch.reattach());
  expect_agent_channel_works();
}

TEST_F(ChControlTest, ReattachToAVmmWithoutVmIsFine) {
  auto ch = control(pick(file("errors.json"), {"info before create"}));
  EXPECT_TRUE(ch.reattach());
  EXPECT_EQ(ch.agent_bridge(), nullptr);
}

TEST(ChControlUrl, FileUrls) { EXPECT_EQ(file_url("/var/lib/seed/snap/web"), "file:///var/lib/seed/snap/web"); }

}  // namespace
}  // namespace seed::vmm::ch
