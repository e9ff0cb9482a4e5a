// `seedd demo`: the README's first command. Boots the hermetic test guest through the same
// VM layer the daemon uses, with a virtio-fs share, prints the console as it arrives, talks
// to the guest agent, then powers the VM off and shows that nothing was left behind.
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "common/fd.hpp"
#include "seedd/commands.hpp"
#include "seedd/guest_spec.hpp"
#include "vmm/agent_client.hpp"
#include "vmm/console/console_log.hpp"

namespace seed {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int fail(const Error& e) {
  std::fprintf(stderr, "seedd demo: %s\n", e.describe().c_str());
  return 1;
}

}  // namespace

int run_demo(const Config& base, const std::string& guest_dir) {
  char tmpl[] = "/tmp/seedd-demo-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return fail(errno_error("mkdtemp", errno));
  const std::string root = tmpl;
  Config config = base;
  config.runner.runtime_dir = root + "/run";
  config.runner.state_dir = root + "/state";
  const std::string shared = root + "/shared";
  std::filesystem::create_directories(shared);
  (void)write_file_atomic(shared + "/hello.txt", "hello from the host, through virtio-fs\n");

  auto driver = vmm::make_driver(config.driver);
  if (!driver) return fail(driver.error());
  auto spec = spec_from_toplevel("demo", guest_dir, "seed.hostname=demo seed.fs=demo:/mnt/demo");
  if (!spec) return fail(spec.error());
  spec->shares.push_back({"demo", shared, true});

  vmm::VmRunner runner(**driver, config.runner);
  std::printf("== starting microVM 'demo' with %s\n", (*driver)->info().name.c_str());
  auto t0 = Clock::now();
  auto vm = runner.start(*spec);
  if (!vm) return fail(vm.error());
  std::printf("== %s %s, pid %d; console follows\n", (*driver)->info().name.c_str(),
              (*driver)->info().version.c_str(), (*vm)->vmm().pid());

  bool ready = false;
  std::string pending;
  auto deadline = t0 + 90s;
  (void)vmm::console_follow(
      (*vm)->paths().console_log(),
      [&](std::string_view data) {
        std::fwrite(data.data(), 1, data.size(), stdout);
        std::fflush(stdout);
        pending.append(data);
        if (pending.find("SEED-GUEST-READY") != std::string::npos) ready = true;
        if (pending.size() > 4096) pending.erase(0, pending.size() - 64);
      },
      [&] { return !ready && Clock::now() < deadline && (*vm)->vmm().running(); }, 50ms);
  if (!ready) {
    auto exit = (*vm)->vmm().running() ? Result<vmm::VmExit>(make_error(Errc::timeout, "guest not ready within 90 s"))
                                       : (*vm)->wait_exit(0ms);
    (void)(*vm)->stop(2s);
    return fail(exit ? exit->report : exit.error());
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  std::printf("\n== guest ready %lld ms after start\n", static_cast<long long>(ms));

  auto agent = vmm::AgentClient::connect((*vm)->paths().agent_socket());
  if (agent) {
    auto pong = agent->call("ping", 10s);
    std::printf("== agent: ping -> %s\n", pong && !pong->empty() ? (*pong)[0].c_str() : "(no answer)");
    auto hello = agent->call("sh cat /mnt/demo/hello.txt", 10s);
    if (hello) {
      for (const auto& l : *hello) {
        if (l.rfind("| ", 0) == 0) std::printf("== guest reads the share: %s\n", l.c_str() + 2);
      }
    }
  }
  std::printf("== stopping (ACPI power button)\n");
  auto t1 = Clock::now();
  auto stopped = (*vm)->stop(std::chrono::seconds(config.stop_timeout_s));
  auto stop_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t1).count();
  if (!stopped) return fail(stopped.error());
  bool clean = !std::filesystem::exists(root + "/run/vm/demo");
  std::printf("== stopped in %lld ms; runtime directory removed: %s\n", static_cast<long long>(stop_ms),
              clean ? "yes" : "NO");
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  return clean ? 0 : 1;
}

}  // namespace seed
