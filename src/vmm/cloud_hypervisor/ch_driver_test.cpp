// Launch and connect: process behaviour with fake `cloud-hypervisor` scripts (only where a
// process is the point), the API side against recorded exchanges.
#include "vmm/cloud_hypervisor/ch_driver.hpp"

#include <gtest/gtest.h>
#include <pty.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "vmm/cloud_hypervisor/testing/ch_replay_server.hpp"
#include "vmm/cloud_hypervisor/testing/ch_test_util.hpp"

namespace seed::vmm::ch {
namespace {

using namespace std::chrono_literals;
using testing::load_exchanges;
using testing::pick;
using testing::ReplayServer;
using testing::TempDir;
using testing::write_script;

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool process_gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

class ChDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkdir((tmp_.path() + "/vm").c_str(), 0700), 0);
    ASSERT_EQ(::mkdir(paths().dir.c_str(), 0700), 0);
  }
  VmPaths paths() const { return VmPaths::for_vm(tmp_.path(), tmp_.path(), "web"); }
  VmSpec spec() const { return testing::golden_spec(); }
  ChDriverOptions options(const std::string& binary) const {
    ChDriverOptions o;
    o.binary = binary;
    o.start_timeout = 2000ms;
    o.http = HttpTimeouts{1000ms, 2000ms};
    return o;
  }
  TempDir tmp_;
};

TEST_F(ChDriverTest, InfoNamesTheDriverAndItsCapabilities) {
  CloudHypervisorDriver driver;
  EXPECT_EQ(driver.info().name, "cloud-hypervisor");
  EXPECT_TRUE(driver.info().snapshot);
  EXPECT_TRUE(driver.info().tpm);
  // One virtio-console port (the agent's): no console channel, so `console` is refused.
  EXPECT_FALSE(driver.info().console_channel);
  EXPECT_EQ(driver.info().version, "");  // nothing pinged yet
}

TEST_F(ChDriverTest, AbsentBinaryIsNamedAndLeavesNoSocket) {
  const std::string binary = tmp_.path() + "/bin/cloud-hypervisor";
  CloudHypervisorDriver driver(options(binary));
  auto launched = driver.launch(spec(), paths(), std::nullopt);
  ASSERT_FALSE(launched);
  EXPECT_EQ(launched.error().code, Errc::unavailable);
  EXPECT_NE(launched.error().message.find(binary), std::string::npos) << launched.error().message;
  EXPECT_EQ(launched.error().get("stage"), "spawn");
  EXPECT_EQ(launched.error().get("vm"), "web");
  EXPECT_FALSE(exists(paths().control_socket()));
}

TEST_F(ChDriverTest, BinaryNotInPathIsNamed) {
  CloudHypervisorDriver driver(options("cloud-hypervisor-that-does-not-exist"));
  auto launched = driver.launch(spec(), paths(), std::nullopt);
  ASSERT_FALSE(launched);
  EXPECT_NE(launched.error().message.find("cloud-hypervisor-that-does-not-exist"), std::string::npos);
  EXPECT_FALSE(exists(paths().control_socket()));
}

TEST_F(ChDriverTest, ExitingAtOnceReportsTheLogTailAndCleansUp) {
  const std::string pidfile = tmp_.path() + "/pid";
  const std::string args = tmp_.path() + "/args";
  auto binary = write_script(tmp_.path(), "cloud-hypervisor",
                             "echo $$ > " + pidfile + "\n"
                             "echo \"$@\" > " + args + "\n"
                             "if [ -S /proc/self/fd/3 ]; then echo fd3=socket >> " + args + "; fi\n"
                             "echo 'cloud-hypervisor: 0.000123s: <vmm> ERROR:vmm/src/lib.rs:412 -- "
                             "Error creating hypervisor: Failed to open /dev/kvm' >&2\n"
                             "exit 1\n");
  CloudHypervisorDriver driver(options(binary));
  auto launched = driver.launch(spec(), paths(), std::nullopt);
  ASSERT_FALSE(launched);
  const Error& err = launched.error();
  EXPECT_EQ(err.code, Errc::process_failed);
  EXPECT_NE(err.message.find("exited at once (exited with code 1)"), std::string::npos) << err.message;
  EXPECT_NE(std::string(err.get("log_tail").value_or("")).find("Failed to open /dev/kvm"), std::string::npos)
      << err.describe();
  EXPECT_EQ(err.get("stage"), "spawn");
  // It was started the way CH expects: the API socket as fd 3.
  EXPECT_EQ(slurp(args), "--api-socket fd=3 -v\nfd3=socket\n");
  EXPECT_FALSE(exists(paths().control_socket()));
  pid_t pid = std::stoi(slurp(pidfile));
  EXPECT_TRUE(process_gone(pid)) << "pid " << pid << " still exists";
}

TEST_F(ChDriverTest, SilentVmmIsKilledAndItsSocketRemoved) {
  const std::string pidfile = tmp_.path() + "/pid";
  // exec keeps fd 3 (the API socket) open in a process that never answers.
  auto binary = write_script(tmp_.path(), "cloud-hypervisor",
                             "echo $$ > " + pidfile + "\nexec sleep 60\n");
  auto opts = options(binary);
  opts.start_timeout = 500ms;
  CloudHypervisorDriver driver(opts);
  auto start = std::chrono::steady_clock::now();
  auto launched = driver.launch(spec(), paths(), std::nullopt);
  ASSERT_FALSE(launched);
  EXPECT_EQ(launched.error().code, Errc::timeout) << launched.error().describe();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_FALSE(exists(paths().control_socket()));
  pid_t pid = std::stoi(slurp(pidfile));
  EXPECT_TRUE(process_gone(pid)) << "pid " << pid << " still exists";
}

TEST_F(ChDriverTest, ConnectPingsCachesTheVersionAndServesTheAgentChannel) {
  int master = -1, slave = -1;
  char name[128] = {};
  ASSERT_EQ(::openpty(&master, &slave, name, nullptr, nullptr), 0);
  ::close(slave);
  auto rec = load_exchanges("lifecycle.json",
                            {{"VM_DIR", paths().dir}, {"CONSOLE_PTY", name}, {"SNAPSHOT_DIR", "/x"}});
  {
    ReplayServer server(paths().control_socket(), pick(rec, {"ping", "info running"}));
    CloudHypervisorDriver driver(options("cloud-hypervisor"));
    auto control = driver.connect(paths());
    ASSERT_TRUE(control) << control.error().describe();
    EXPECT_EQ(driver.info().version, "v53.0");
    EXPECT_EQ(driver.version(), (ChVersion{53, 0, 0}));
    EXPECT_TRUE(exists(paths().agent_socket()));
    EXPECT_TRUE(server.pending().empty());
    control->reset();
    EXPECT_FALSE(exists(paths().agent_socket()));
  }
  ::close(master);
}

TEST_F(ChDriverTest, VersionIsDetectedOnceAndOldReleasesAreRefused) {
  auto v46 = load_exchanges("errors_v46.json");
  CloudHypervisorDriver driver(options("cloud-hypervisor"));
  {
    ReplayServer server(paths().control_socket(),
                        {pick(v46, {"ping"})[0], pick(load_exchanges("errors.json", {{"VM_DIR", paths().dir}}),
                                                      {"info before create"})[0]});
    ASSERT_TRUE(driver.connect(paths()));
  }
  EXPECT_EQ(driver.info().version, "v46.0");
  {
    // A v53 VMM seen later does not change the cached version (a warning is logged).
    ReplayServer server(paths().control_socket(),
                        pick(load_exchanges("lifecycle.json", {{"VM_DIR", paths().dir}}),
                             {"ping", "info after delete"}));
    ASSERT_TRUE(driver.connect(paths()));
  }
  EXPECT_EQ(driver.version(), (ChVersion{46, 0, 0}));

  CloudHypervisorDriver fresh(options("cloud-hypervisor"));
  ReplayServer old(paths().control_socket(),
                   {{"ping", "GET", "/api/v1/vmm.ping", std::nullopt, 200, {},
                     R"({"build_version":"v35.0","version":"35.0.0","pid":1})"}});
  auto refused = fresh.connect(paths());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::unavailable);
  EXPECT_NE(refused.error().message.find("v35.0 is too old"), std::string::npos) << refused.error().message;
  EXPECT_EQ(fresh.info().version, "");
}

TEST_F(ChDriverTest, ConnectWithNobodyListeningIsUnavailable) {
  CloudHypervisorDriver driver(options("cloud-hypervisor"));
  auto control = driver.connect(paths());
  ASSERT_FALSE(control);
  EXPECT_EQ(control.error().code, Errc::unavailable);
  EXPECT_EQ(control.error().get("stage"), "runtime");
}

TEST(ChDriverLog, TailStartsAtALine) {
  TempDir tmp;
  const std::string path = tmp.path() + "/log";
  std::ofstream(path) << std::string(5000, 'a') << "\nlast line one\nlast line two\n";
  EXPECT_EQ(log_tail(path, 30), "last line one\nlast line two\n");
  EXPECT_EQ(log_tail(tmp.path() + "/missing"), "");
}

}  // namespace
}  // namespace seed::vmm::ch
