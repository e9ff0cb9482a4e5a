// The Service's console: one interactive shell per instance at a time, through the VM's
// console channel (vmm/console/console_channel.hpp).
#include <filesystem>

#include "common/log.hpp"
#include "common/time_text.hpp"
#include "reconcile/engine.hpp"
#include "vmm/console/console_channel.hpp"

namespace seed::reconcile {
namespace {

using namespace std::chrono_literals;

// How long the guest's relay has to start a shell (a guest under TCG that is busy booting
// takes a few seconds).
constexpr auto kOpenTimeout = 15s;

class EngineConsole final : public ConsoleSession {
 public:
  EngineConsole(std::unique_ptr<vmm::ConsoleChannel> channel, std::shared_ptr<ConsoleHolders> holders, InstanceId id)
      : channel_(std::move(channel)), holders_(std::move(holders)), id_(std::move(id)) {}
  ~EngineConsole() override {
    channel_.reset();  // hangs up first, so the next holder finds the relay ready
    holders_->release(id_);
  }
  int fd() const override { return channel_->fd(); }
  Status input(std::string_view bytes) override { return channel_->send_input(bytes); }
  Status resize(uint16_t rows, uint16_t cols) override { return channel_->resize({rows, cols}); }
  Result<Output> read() override {
    auto got = SEED_TRY(channel_->read());
    return Output{std::move(got.data), got.ended, got.exit_status, got.lost};
  }

 private:
  std::unique_ptr<vmm::ConsoleChannel> channel_;
  std::shared_ptr<ConsoleHolders> holders_;
  InstanceId id_;
};

}  // namespace

Result<std::unique_ptr<ConsoleSession>> Engine::open_console(const InstanceId& id, const ConsoleRequest& request) {
  const auto& driver = runner_->driver().info();
  if (!driver.console_channel) {
    return make_error(Errc::unavailable, "console needs a hypervisor with a second console port; this node runs " +
                                             id.name + " under " + driver.name + ", which has one (the agent's)")
        .with("instance", id.name)
        .with("stage", "console")
        .with("hint", "use `logs " + id.name + "` to see the instance; the node owner can run it under QEMU");
  }
  auto paths = SEED_TRY(console_of(id));
  std::error_code ec;
  if (!std::filesystem::exists(paths.console_socket(), ec)) {
    // A VM an older seedd started (and this one adopted) has no console port yet.
    return make_error(Errc::unavailable, id.name + " was started without a console channel")
        .with("instance", id.name)
        .with("stage", "console")
        .with("hint", "`restart " + id.name + "` starts it with one");
  }
  SEED_TRY(consoles_->take(id, request.holder, now_unix_us()));
  auto channel = vmm::ConsoleChannel::open(paths.console_socket(), {request.rows, request.cols}, request.term,
                                           kOpenTimeout);
  if (!channel) {
    consoles_->release(id);
    return std::move(channel).error().with("instance", id.name);
  }
  log::info("reconcile.console_opened", {{"instance", id.str()}, {"key", request.holder}});
  return std::unique_ptr<ConsoleSession>(std::make_unique<EngineConsole>(std::move(*channel), consoles_, id));
}

}  // namespace seed::reconcile
