// `seedd run`: for now the daemon re-adopts the VMs recorded in the runtime directory and
// supervises them (reports how each one ends). It never stops VMs when it exits: a seedd
// restart or upgrade leaves every guest running, and the next seedd adopts them again.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <map>
#include <memory>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "seedd/commands.hpp"

namespace seed {

int run_daemon(const Config& config) {
  auto driver = vmm::make_driver(config.driver);
  if (!driver) {
    log::error("seedd.start.failed", {{"error", driver.error().describe()}});
    return 1;
  }
  vmm::VmRunner runner(**driver, config.runner);
  std::map<std::string, std::unique_ptr<vmm::RunningVm>> vms;
  for (const auto& name : runner.recorded()) {
    auto vm = runner.adopt(name);
    if (vm) vms.emplace(name, std::move(*vm));
    else log::warn("vm.adopt.failed", {{"vm", name}, {"error", vm.error().describe()}});
  }

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  UniqueFd sigfd(::signalfd(-1, &mask, SFD_CLOEXEC));

  log::info("seedd.ready", {{"driver", (*driver)->info().name}, {"vms", vms.size()}});
  sd_notify(0, "READY=1");
  // Bounded wait, then sweep: the shape every later reconcile step will hang off.
  for (;;) {
    std::vector<pollfd> fds{{sigfd.get(), POLLIN, 0}};
    std::vector<std::string> names;
    for (auto& [name, vm] : vms) {
      fds.push_back({vm->vmm().pidfd(), POLLIN, 0});
      names.push_back(name);
    }
    int r = ::poll(fds.data(), fds.size(), 5000);
    if (r < 0 && errno != EINTR) return 1;
    if (fds[0].revents != 0) {
      log::info("seedd.stopping", {{"vms_left_running", vms.size()}});
      sd_notify(0, "STOPPING=1");
      return 0;
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      auto exit = vms[names[i - 1]]->wait_exit(std::chrono::milliseconds(0));
      if (exit) log::warn("vm.supervise.exited", {{"vm", names[i - 1]}, {"report", exit->report.describe()}});
      vms.erase(names[i - 1]);
    }
  }
}

}  // namespace seed
