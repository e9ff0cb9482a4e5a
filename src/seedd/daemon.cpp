// `seedd run`: starts the node (drivers, DNS, ingress, the reconcile engine, which adopts the
// VMs of an earlier seedd and deploys every planted source), tells systemd it is ready and
// runs until SIGTERM/SIGINT. It never stops VMs when it exits: a seedd restart or upgrade
// leaves every guest running, and the next seedd adopts them again.
#include <signal.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "seedd/commands.hpp"
#include "seedd/node.hpp"

namespace seed {

int run_daemon(const Config& config) {
  // Signals are blocked before any thread starts, so every thread inherits the mask and
  // only the signalfd sees them.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  UniqueFd sigfd(::signalfd(-1, &mask, SFD_CLOEXEC));

  auto node = start_node(config);
  if (!node) {
    log::error("seedd.start.failed", {{"error", node.error().describe()}});
    return 1;
  }
  log::info("seedd.ready", {{"state_dir", config.runner.state_dir}});
  sd_notify(0, "READY=1");
  signalfd_siginfo info{};
  while (::read(sigfd.get(), &info, sizeof info) < 0 && errno == EINTR) {
  }
  log::info("seedd.stopping", {{"signal", info.ssi_signo}, {"vms", "left running"}});
  sd_notify(0, "STOPPING=1");
  node->reset();
  return 0;
}

}  // namespace seed
