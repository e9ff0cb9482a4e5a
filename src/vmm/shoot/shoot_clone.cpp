#include "vmm/shoot/shoot_clone.hpp"

#include <openssl/rand.h>
#include <signal.h>

#include <filesystem>

#include "common/log.hpp"
#include "vmm/shoot/shoot_exec.hpp"
#include "vmm/shoot/shoot_template.hpp"
#include "vmm/vm_helpers.hpp"

namespace seed::vmm::shoot {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::chrono::microseconds since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t);
}

std::string to_hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// A request answered by one "ok" line, or "err <why>".
Status agent_ok(AgentClient& agent, const std::string& request, const char* what) {
  auto lines = SEED_TRY(agent.call(request, 10s));
  if (lines == std::vector<std::string>{"ok"}) return ok();
  std::string why = lines.empty() ? "no answer" : lines[0];
  return make_error(Errc::process_failed, std::string("the clone could not ") + what + ": " + why)
      .with("stage", "prepare")
      .with("hint", "the shoot image's agent must serve rng and clock (tests/guest/README.md)");
}

}  // namespace

std::string host_nonce(size_t n) {
  std::string bytes(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");  // the host has no randomness: broken invariant
  }
  return bytes;
}

Result<std::unique_ptr<ShootVm>> ShootVm::restore(VmRunner& runner, const std::string& template_dir,
                                                  const std::string& name) {
  auto started = Clock::now();
  std::unique_ptr<ShootVm> clone(new ShootVm());
  auto vm = runner.restore(template_dir, name);
  if (!vm) {
    auto e = std::move(vm).error();
    if (!e.get("stage")) e.with("stage", "restore");
    return e;
  }
  clone->vm_ = std::move(*vm);
  clone->exec_via_ = exec_via(runner.driver().info());
  auto fail = [&](Error e) -> Error {
    clone->destroy();
    if (!e.get("stage")) e.with("stage", "restore");
    return std::move(e).with("vm", name);
  };
  auto agent = wait_agent(clone->vm_->paths().agent_socket(), 60s);
  if (!agent) return fail(std::move(agent).error());
  clone->agent_.emplace(std::move(*agent));
  clone->restore_time_ = since(started);
  return clone;
}

ShootVm::~ShootVm() { destroy(); }

const std::string& ShootVm::name() const { return vm_->spec().name; }

Status ShootVm::attach(const std::vector<ShootMount>& mounts) {
  if (mounts.empty()) return ok();
  // Each mount waits for the driver to register its tag (hotplugged_mount_command).
  std::string script = "true";
  for (const auto& m : mounts) {
    if (m.mount_point.empty() || m.mount_point[0] != '/') {
      return make_error(Errc::invalid_argument, "mount point of share '" + m.share.tag + "' is not absolute")
          .with("stage", "attach");
    }
    SEED_TRY(vm_->add_share(m.share));
    script += " && " + hotplugged_mount_command(m.share.tag, m.mount_point, m.share.read_only);
  }
  auto lines = SEED_TRY(agent_->call("sh " + script, 30s));
  if (lines.empty() || lines.back() != "rc 0") {
    std::string said;
    for (const auto& l : lines) said += l + "\n";
    return make_error(Errc::process_failed, "the clone could not mount the parent's shares")
        .with("stage", "attach")
        .with("guest", said);
  }
  return ok();
}

Status ShootVm::prepare(const std::string& nonce) {
  SEED_TRY(agent_ok(*agent_, "rng " + to_hex(nonce), "reseed its RNG"));
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return agent_ok(*agent_, "clock " + std::to_string(now.count()), "set its clock");
}

Result<ShootResult> ShootVm::run(const ShootCommand& command, std::optional<ExecVia> via) {
  const ExecVia route = via.value_or(exec_via_);
  // The agent channel (QEMU's socket chardev, CH's bridge) serves one client at a time.
  if (route == ExecVia::agent_console) agent_.reset();
  return run_command(exec_route(vm_->paths(), route), command);
}

void ShootVm::kill() {
  if (vm_ && vm_->vmm().pid() > 0) (void)vm_->vmm().signal(SIGKILL);
}

void ShootVm::destroy() {
  if (!vm_) return;
  agent_.reset();
  // No graceful shutdown: nothing in a clone outlives its command.
  (void)vm_->stop(0ms);
  // Its console log (<state>/console/<clone>) too, once its logger is gone: it belongs to one
  // tenant's shoot, and a later clone of the same name (names restart with each seedd) may
  // serve another tenant.
  std::error_code ec;
  std::filesystem::remove_all(vm_->paths().console_dir, ec);
  vm_.reset();
}

}  // namespace seed::vmm::shoot
