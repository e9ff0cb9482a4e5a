// Crash safety: a seedd process dies (as abruptly as kill -9) after N journaled actions of a
// first deploy; a new engine on the same node then converges: the instance runs and serves,
// with exactly one VM, one swtpm, one tap and one volume — nothing duplicated or leaked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/fd.hpp"
#include "common/process.hpp"
#include "engine_fixture.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::e2e {
namespace {

namespace fs = std::filesystem;

class CrashTest : public EngineTest, public ::testing::WithParamInterface<unsigned> {
 protected:
  // Live processes of this node whose argv[0] ends with `program`.
  int count_processes(const std::string& program) {
    int n = 0;
    for (const auto& e : fs::directory_iterator("/proc")) {
      const std::string pid = e.path().filename();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      auto cmdline = read_file(e.path().string() + "/cmdline");
      if (!cmdline || cmdline->find(root()) == std::string::npos) continue;
      const std::string argv0 = cmdline->substr(0, cmdline->find('\0'));
      if (argv0.size() >= program.size() && argv0.compare(argv0.size() - program.size(), program.size(), program) == 0) ++n;
    }
    return n;
  }
};

TEST_P(CrashTest, DeployCutOffAfterActionNConvergesWithoutDuplicatesOrLeaks) {
  const unsigned n = GetParam();
  const std::string uri = write_flake(web_flake(""));
  SpawnOptions child;
  // nsenter, not `ip netns exec`: that also gives the child a mount namespace of its own, and
  // the VM it leaves behind (with its virtiofsd) would keep the volume mounted in there, out of
  // reach of the next engine's unmount, its loop device attached for good. seedd runs in the
  // host's mount namespace (docs/host-config.md), and so does this stand-in for it.
  child.argv = {"nsenter", "--net=/run/netns/" + netns_->name(),
                vmm::testing::build_dir() + "/tests/e2e/engine_crash_child", root(), uri, std::to_string(n)};
  auto r = run(child);
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_EQ(r->status.code, 99) << "the fault hook did not fire after action " << n << ": " << r->status.describe();

  open_engine();
  in_ns([&] {
    auto planted = engine_->plant(uri, "test", nullptr);
    ASSERT_TRUE(planted) << planted.error().describe();
  });
  auto web = in_ns([&] { return instance(uri, "web"); });
  EXPECT_EQ(web.state, reconcile::InstanceState::running);
  EXPECT_THAT(http_get("http://127.0.0.1:8000/instance.json", web.dns_names.front()), ::testing::HasSubstr(web.generation));
  EXPECT_EQ(count_processes("qemu-system-x86_64"), 1) << "one VM, not a duplicate";
  EXPECT_EQ(count_processes("swtpm"), 1);
  EXPECT_EQ(count_processes("seed-console-logger"), 1);
  const std::string links = netns_->ip({"-o", "link", "show"});
  int taps = 0;
  for (size_t at = links.find(": sd"); at != std::string::npos; at = links.find(": sd", at + 1)) ++taps;
  EXPECT_EQ(taps, 1) << links;
  int images = 0;
  for (const auto& e : fs::directory_iterator(root() + "/images")) images += e.path().extension() == ".img";
  EXPECT_EQ(images, 1);
}

// Action order of a first deploy: 1 ensure_tap, 2 create_volume, 3 start_tpm, 4 start_vm,
// 5 await_healthy, 6 route.
INSTANTIATE_TEST_SUITE_P(AfterAction, CrashTest, ::testing::Values(1u, 2u, 4u, 5u));

}  // namespace
}  // namespace seed::e2e
