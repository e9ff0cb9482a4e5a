// The Service's exec: a command in an instance through one of its exec ports
// (vmm/agent_exec_channel.hpp), a few at a time per instance (exec_ports.hpp).
#include <filesystem>

#include "common/log.hpp"
#include "reconcile/engine.hpp"
#include "vmm/agent_exec_channel.hpp"

namespace seed::reconcile {
namespace {

using namespace std::chrono_literals;

// How long the guest's agent has to answer (a guest under TCG that is busy booting takes a
// few seconds).
constexpr auto kOpenTimeout = 15s;

class EngineExec final : public ExecSession {
 public:
  EngineExec(std::unique_ptr<vmm::ExecChannel> channel, std::shared_ptr<ExecPorts> ports, InstanceId id, unsigned port)
      : channel_(std::move(channel)), ports_(std::move(ports)), id_(std::move(id)), port_(port) {}
  ~EngineExec() override {
    channel_.reset();  // kills a command still running
    ports_->release(id_, port_);
  }
  int fd() const override { return channel_->fd(); }
  Status input(std::string_view bytes) override { return channel_->send_stdin(bytes); }
  Status close_input() override { return channel_->close_stdin(); }
  Result<Output> read() override {
    auto got = SEED_TRY(channel_->read());
    return Output{std::move(got.out), std::move(got.err), got.ended, got.exit_code, got.lost};
  }

 private:
  std::unique_ptr<vmm::ExecChannel> channel_;
  std::shared_ptr<ExecPorts> ports_;
  InstanceId id_;
  unsigned port_;
};

}  // namespace

Result<std::unique_ptr<ExecSession>> Engine::open_exec(const InstanceId& id, const ExecRequest& request) {
  const auto& driver = runner_->driver().info();
  if (driver.exec_ports == 0) {
    return make_error(Errc::unavailable, "exec needs a hypervisor with a second console port; this node runs " +
                                             id.name + " under " + driver.name + ", which has one (the agent's)")
        .with("instance", id.name)
        .with("stage", "exec")
        .with("hint", "use `logs " + id.name + "` to see the instance; the node owner can run it under QEMU");
  }
  auto paths = SEED_TRY(console_of(id));
  std::error_code ec;
  if (!std::filesystem::exists(paths.exec_socket(0), ec)) {
    // A VM an older seedd started (and this one adopted) has no exec ports yet.
    return make_error(Errc::unavailable, id.name + " was started without exec channels")
        .with("instance", id.name)
        .with("stage", "exec")
        .with("hint", "`restart " + id.name + "` starts it with them");
  }
  const unsigned port = SEED_TRY(exec_ports_->take(id, driver.exec_ports));
  auto channel = vmm::ExecChannel::open(paths.exec_socket(port), request.argv, kOpenTimeout);
  if (!channel) {
    exec_ports_->release(id, port);
    return std::move(channel).error().with("instance", id.name);
  }
  log::info("reconcile.exec_started", {{"instance", id.str()}, {"key", request.holder}, {"port", port}});
  return std::unique_ptr<ExecSession>(std::make_unique<EngineExec>(std::move(*channel), exec_ports_, id, port));
}

}  // namespace seed::reconcile
