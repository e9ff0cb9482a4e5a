#include "vmm/shoot/shoot_template.hpp"

#include <algorithm>
#include <filesystem>
#include <thread>

#include "common/log.hpp"
#include "vmm/agent_client.hpp"

namespace seed::vmm::shoot {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

Result<AgentClient> wait_agent(const std::string& socket, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  auto agent = SEED_TRY(AgentClient::connect(socket, timeout));
  // One ping on one connection: it waits in the channel until the guest's agent reads it (the
  // echo of a not-yet-raw tty may add lines before "pong", never a second ".").
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  auto first = SEED_TRY(agent.call("ping", std::max(left, 1000ms)));
  if (std::find(first.begin(), first.end(), "pong") == first.end()) {
    return make_error(Errc::protocol, "the guest agent did not answer ping with pong");
  }
  // In step: the next answer is exactly this request's.
  auto second = SEED_TRY(agent.call("ping", 10s));
  if (second != std::vector<std::string>{"pong"}) {
    return make_error(Errc::protocol, "the guest agent's channel is out of step after ping");
  }
  return agent;
}

Status build_template(VmRunner& runner, const ShootImage& image, const ShootTier& tier,
                      const std::string& dir) {
  VmSpec spec;
  spec.name = std::string(kShootVmPrefix) + "tpl-" + tier.name;
  spec.vcpus = tier.vcpus;
  spec.memory_mib = tier.memory_mib;
  spec.kernel = image.kernel;
  spec.initrd = image.initrd;
  spec.cmdline = image.cmdline;
  spec.hotplug_slots = kShootHotplugSlots;  // no nets, no tpm_socket, no shares
  auto fail = [&](Error e) -> Status {
    if (!e.get("stage")) e.with("stage", "template");
    return std::move(e).with("tier", tier.name);
  };
  auto started = Clock::now();
  auto vm = runner.start(spec);
  if (!vm) return fail(std::move(vm).error());
  auto agent = wait_agent((*vm)->paths().agent_socket(), 180s);
  Status st = agent ? (*vm)->snapshot(dir) : Status(std::move(agent).error());
  // The template VM is only the source of the snapshot: it never runs a command.
  auto stopped = (*vm)->stop(0ms);
  if (!st) return fail(std::move(st).error());
  if (!stopped) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return fail(std::move(stopped).error());
  }
  log::info("shoot.template", {{"tier", tier.name}, {"dir", dir},
                               {"ms", std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()}});
  return ok();
}

}  // namespace seed::vmm::shoot
