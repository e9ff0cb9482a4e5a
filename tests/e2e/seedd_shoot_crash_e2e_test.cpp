// kill -9 of the real `seedd run` binary with shoots in flight (issue 16). seedd runs as it
// runs on a node: from a seedd.json (shoots on, the hermetic guest as the shoot image) in the
// test's network namespace and the host's mount namespace, driven through its control socket by
// the real seedctl. A real QEMU/TCG instance with shoot on and a volume POSTs two shoots with
// busybox nc; SIGKILL ends seedd while both run. The next `seedd run` goes through seedd's own
// start path (config parsing, start_node, the engine adopting the instance, ending strays, the
// pool ending the old shoot VMs, the listener binding again): afterwards no process, directory,
// socket, console log or mount of the old clones is left, the instance is the same VM (adopted,
// not restarted) and answers, and a new shoot writes the volume and the instance reads it back.
// Also SIGTERM (systemctl stop/restart) with a shoot in flight: seedd exits 0 and ends the clone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "common/process.hpp"
#include "engine_fixture.hpp"
#include "reconcile/slot_names.hpp"
#include "shoot_guest.hpp"
#include "shoot_node.hpp"
#include "storage/command_runner.hpp"
#include "storage/file_driver.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::e2e {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using vmm::testing::guest_sh;

// The shoot settings of shoot_node.hpp, as seedd.json keys (docs/shoots.md "Configuration").
nlohmann::json shoot_config() {
  const auto image = shoot_image();
  return {{"image", {{"kernel", image.kernel}, {"initrd", image.initrd}, {"cmdline", image.cmdline}}},
          {"tiers", {{{"name", "small"}, {"vcpus", 1}, {"memory_mib", 256}, {"pool", 1}}}},
          {"max_vms", 2},
          {"max_memory_mib", 512}};
}

class SeeddShootCrashTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    if (HasFatalFailure()) return;
    // The fixture's own DNS server and ingress hold 127.0.0.1:5353, 8000 and 8443 in the
    // namespace: seedd's listen elsewhere. The bridge, subnet and guest API port are the ones
    // shoot_guest's requests go to (node_parts.hpp).
    nlohmann::json config = {
        {"state_dir", root() + "/state"},
        {"runtime_dir", root() + "/run"},
        {"domain", "seed.test"},
        {"vmm", {{"hypervisor", "qemu"}, {"accel", "tcg"}, {"stop_timeout_s", 5}}},
        {"network", {{"bridge", "seed0"}, {"subnet", "10.77.0.0/24"}}},
        {"storage", {{"backend", "file"}, {"directory", root() + "/images"}}},
        {"listen", {{"dns", {"127.0.0.1:5354"}}, {"http", {"127.0.0.1:8081"}}, {"https", nlohmann::json::array()}}},
        {"control", {{"socket", socket()}}},
        {"ssh", {{"port", 2222}}},
        {"ssh_listen", "127.0.0.1"},
        {"api", {{"port", kGuestApiPort}}},
        {"nix_env", {"NIX_CONFIG=build-users-group =\nsubstituters =\nsandbox = true\n", "HOME=" + root()}},
        {"shoot", shoot_config()}};
    ASSERT_TRUE(write_file_atomic(config_file(), config.dump(2) + "\n"));
    start_seedd();
    if (HasFatalFailure()) return;
    uri_ = write_flake(web_flake("shoot.enable = true;"));
    auto planted = seedctl({"plant", uri_}, std::chrono::minutes(5));
    ASSERT_EQ(planted.status.code, 0) << planted.out << planted.err << seedd_log();
    auto web = instance_json();
    ASSERT_EQ(web.value("state", ""), "running") << web.dump();
    agent_ = root() + "/run/vm/" +
             reconcile::slot_vm_name({web.value("namespace", ""), web.value("name", "")}, 'a') + "/agent.sock";
    wait_for_pool();
  }

  void TearDown() override {
    // A test stopped between the kill and the restart: a seedd ends the old clones first.
    if (!seedd_ && started_) start_seedd();
    if (seedd_) {
      if (!uri_.empty()) {
        auto r = seedctl({"unplant", uri_}, std::chrono::minutes(2));
        EXPECT_EQ(r.status.code, 0) << r.out << r.err;
      }
      auto stopped = stop_seedd(SIGTERM);
      EXPECT_TRUE(stopped.success()) << "seedd on SIGTERM: " << stopped.describe() << "\n" << seedd_log();
    }
    // Volumes stay mounted after an unplant (they are kept): unmount them from where seedd's
    // file driver mounts them (<state>/volumes).
    storage::FileDriver volumes({root() + "/images", root() + "/state/volumes"},
                                std::make_unique<storage::SystemRunner>());
    if (auto list = volumes.list({})) {
      for (const auto& v : *list) {
        if (v.mounted) {
          EXPECT_TRUE(volumes.unmount(v.id));
        }
      }
    }
    EngineTest::TearDown();  // reports and kills any process still naming the test's root
  }

  std::string config_file() const { return root() + "/seedd.json"; }
  std::string socket() const { return root() + "/run/control.sock"; }
  std::string clone_prefix() const { return root() + "/run/vm/shoot-"; }

  // `seedd --config seedd.json run` in the test's network namespace (nsenter execs it: the
  // pid is seedd's), its log in seedd-<n>.log; returns once seedctl gets an answer, which
  // comes after start_node has adopted, cleaned up and started every part.
  void start_seedd() {
    SpawnOptions o;
    o.argv = {"nsenter", "--net=/run/netns/" + netns_->name(), vmm::testing::build_dir() + "/src/seedd/seedd",
              "--config", config_file(), "run"};
    o.stderr_mode = Output::file;
    o.stderr_file = log_file_ = root() + "/seedd-" + std::to_string(++starts_) + ".log";
    auto spawned = spawn(o);
    ASSERT_TRUE(spawned) << spawned.error().describe();
    seedd_.emplace(std::move(*spawned));
    started_ = true;
    for (int i = 0; i < 600; ++i) {  // bounded: start_node, not timed
      if (fs::exists(socket()) && seedctl({"status"}).status.code == 0) return;
      if (!seedd_->running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "seedd did not answer on its control socket\n" << seedd_log();
  }
  ExitStatus stop_seedd(int sig) {
    (void)seedd_->signal(sig);
    auto ended = seedd_->wait(std::chrono::seconds(120));
    ExitStatus status = ended ? *ended : seedd_->terminate(std::chrono::seconds(1));
    if (!ended) status.known = false;  // it did not end on `sig`: killed here
    seedd_.reset();
    return status;
  }
  std::string seedd_log() const {
    auto text = read_file(log_file_);
    return text ? *text : "(no log at " + log_file_ + ")";
  }

  RunResult seedctl(std::vector<std::string> args, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    SpawnOptions o;
    o.argv = {vmm::testing::build_dir() + "/src/seedctl/seedctl", "--socket", socket()};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.stdout_mode = Output::capture;
    o.stderr_mode = Output::capture;
    RunOptions ro;
    ro.timeout = timeout;
    auto r = run(o, ro);
    if (!r) return {ExitStatus{true, -1, 0}, "", r.error().describe()};
    return *r;
  }
  nlohmann::json seedctl_json(std::vector<std::string> args) {
    args.push_back("--json");
    auto r = seedctl(args);
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_TRUE(r.status.code == 0 && !j.is_discarded()) << r.out << r.err;
    return j.is_discarded() ? nlohmann::json::object() : j;
  }
  nlohmann::json instance_json() {
    auto status = seedctl_json({"status"});
    if (status.contains("sources") && !status["sources"].empty() && !status["sources"][0]["instances"].empty()) {
      return status["sources"][0]["instances"][0];
    }
    ADD_FAILURE() << "no instance in " << status.dump();
    return nlohmann::json::object();
  }
  // The pool's only tier as `seedctl shoots --json` shows it.
  nlohmann::json tier() {
    auto shoots = seedctl_json({"shoots"});
    if (shoots.contains("tiers") && shoots["tiers"].size() == 1) return shoots["tiers"][0];
    ADD_FAILURE() << "not one shoot tier: " << shoots.dump();
    return nlohmann::json::object();
  }
  // The template is reused or built in the background, then a clone restored (bounded).
  void wait_for_pool() {
    for (int i = 0; i < 600; ++i) {
      auto t = tier();
      ASSERT_EQ(t.value("template_error", ""), "");
      if (t.value("template", "") == "ready" && t.value("ready", 0) > 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    FAIL() << "the pool never had a ready clone\n" << seedd_log();
  }
  // The instance VM's QEMU as its record names it.
  pid_t parent_qemu() {
    auto text = read_file(fs::path(agent_).parent_path().string() + "/vm.json");
    auto j = text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
    return j.is_object() && j.contains("vmm") ? j["vmm"].value("pid", 0) : 0;
  }
  // Mount points under the test's root (the instance's volume): a clone adds none on the host.
  std::set<std::string> mounts() {
    std::set<std::string> out;
    std::ifstream in("/proc/self/mountinfo");
    for (std::string line; std::getline(in, line);) {
      if (line.find(root()) != std::string::npos) out.insert(line.substr(line.find(root())));
    }
    return out;
  }
  // What of a shoot clone is on the host and not one of the pool's ready clones (bounded wait
  // for the pool to settle); "" when nothing.
  std::string left_beyond_ready_clones() {
    std::string left;
    for (int i = 0; i < 240; ++i) {
      auto t = tier();
      left = clones_beyond_ready(root(), t.value("ready", 0),
                                 t.value("running", 1) != 0 || t.value("restoring", 1) != 0, t.dump());
      if (left.empty()) return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return left;
  }

  std::optional<Child> seedd_;
  bool started_ = false;
  int starts_ = 0;
  std::string log_file_;
  std::string uri_;
  std::string agent_;
};

TEST_F(SeeddShootCrashTest, KillMinus9OfSeeddMidShootLeavesNothingAndShootsWorkAfter) {
  const pid_t parent = parent_qemu();
  ASSERT_GT(parent, 0);
  const auto mounts_before = mounts();
  ASSERT_FALSE(mounts_before.empty()) << "the instance's volume is mounted";

  // Two shoots that would run for 10 minutes. With room for two VMs, the second waits for the
  // refill's restore (or, if it came before that started, gets a 429 and tries again).
  const std::string slow = R"({"command":["sleep","600"],"timeout":300000})";
  guest_shoot_in_background(agent_, slow, "a");
  ASSERT_TRUE(wait_streaming(agent_, "a")) << guest_sh(agent_, "cat /tmp/a.out").out << seedd_log();
  bool second = false;
  for (int i = 0; i < 30 && !second; ++i) {
    guest_sh(agent_, "kill $(cat /tmp/b.pid 2>/dev/null) 2>/dev/null");
    guest_shoot_in_background(agent_, slow, "b");
    second = wait_streaming(agent_, "b");
    if (!second) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  ASSERT_TRUE(second) << guest_sh(agent_, "cat /tmp/b.out").out << seedd_log();
  EXPECT_EQ(tier().value("running", 0), 2);

  // What the two running clones are made of as the kill leaves them.
  const auto before = processes_naming(clone_prefix());
  std::set<pid_t> clone_qemus;
  for (const auto& [pid, cmdline] : before) {
    if (cmdline.find("qemu-system") != std::string::npos) clone_qemus.insert(pid);
  }
  ASSERT_EQ(clone_qemus.size(), 2u) << "two clones run the two shoots (the pool has room for two)";

  const auto killed = stop_seedd(SIGKILL);
  ASSERT_EQ(killed.signal, SIGKILL) << killed.describe();
  // The clones outlive seedd (their own sessions): what follows is the next seedd's cleanup,
  // not the kernel's.
  unsigned outlived = 0;
  for (const auto& [pid, cmdline] : processes_naming(clone_prefix())) outlived += clone_qemus.count(pid);
  ASSERT_EQ(outlived, 2u) << "both clones' QEMUs outlived seedd";
  // The instance's connections ended with the process that held them, without a result.
  for (const std::string tag : {"a", "b"}) {
    EXPECT_THAT(guest_sh(agent_, "cat /tmp/" + tag + ".out").out, Not(HasSubstr("\"exitCode\"")));
  }

  start_seedd();
  ASSERT_FALSE(HasFatalFailure());
  // The instance was adopted, not restarted: the same QEMU, running, answering its agent.
  EXPECT_EQ(instance_json().value("state", ""), "running");
  EXPECT_EQ(parent_qemu(), parent);
  EXPECT_EQ(::kill(parent, 0), 0);
  EXPECT_THAT(guest_sh(agent_, "echo parent-alive").out, HasSubstr("parent-alive"));
  wait_for_pool();
  // The template kept in the state directory served the new pool: nothing was booted again.
  EXPECT_EQ(tier().value("template_origin", ""), "reused");
  // No process of the old clones, and every clone process, directory, socket and console log
  // now is one of the new pool's ready clones; no mount came or went.
  for (const auto& [pid, cmdline] : processes_naming(clone_prefix())) {
    auto old = before.find(pid);
    EXPECT_TRUE(old == before.end() || old->second != cmdline) << "left over from before the kill: " << pid << " "
                                                               << cmdline;
  }
  EXPECT_EQ(left_beyond_ready_clones(), "") << seedd_log();
  EXPECT_EQ(mounts(), mounts_before);

  // A new shoot works, writes the instance's volume, and the instance reads it back.
  auto reply = guest_shoot(agent_, R"({"command":["sh","-c","echo after-kill > /seed/storage/data/shot.txt && echo wrote"]})");
  EXPECT_THAT(reply, HasSubstr("\"exitCode\":0")) << reply << seedd_log();
  EXPECT_THAT(reply, HasSubstr("\"stdout\":\"wrote\\n\"")) << reply;
  EXPECT_EQ(guest_sh(agent_, "cat /seed/storage/data/shot.txt").out, "after-kill\n");
  // That shoot's clone went whole, its console log included.
  EXPECT_EQ(left_beyond_ready_clones(), "");
}

// SIGTERM (systemctl stop or restart) while a shoot runs: seedd ends the shoot and its clone,
// then the pool with its ready clones, and exits 0; the instance keeps running. (The pool used
// to be destroyed by the engine's shutdown while the HTTP thread of the shoot still held its
// clone, which it handed back to the freed pool when the API stopped.)
TEST_F(SeeddShootCrashTest, SigtermOfSeeddMidShootEndsTheShootAndExitsCleanly) {
  const pid_t parent = parent_qemu();
  guest_shoot_in_background(agent_, R"({"command":["sleep","600"],"timeout":300000})", "a");
  ASSERT_TRUE(wait_streaming(agent_, "a")) << guest_sh(agent_, "cat /tmp/a.out").out << seedd_log();
  const auto stopped = stop_seedd(SIGTERM);
  EXPECT_TRUE(stopped.success()) << "seedd on SIGTERM: " << stopped.describe() << "\n" << seedd_log();
  EXPECT_THAT(processes_naming(clone_prefix()), IsEmpty());
  for (const auto& e : fs::directory_iterator(root() + "/run/vm")) {
    EXPECT_NE(e.path().filename().string().rfind("shoot-", 0), 0u) << e.path();
  }
  EXPECT_EQ(::kill(parent, 0), 0) << "the instance outlives seedd";
}

}  // namespace
}  // namespace seed::e2e
