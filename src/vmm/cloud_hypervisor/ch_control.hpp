// VmmControl for one Cloud Hypervisor process: the VM lifecycle as sequences of REST calls.
//
// State changes (boot, pause, resume, restore) are judged by vm.info, never by the status code
// of the call that asked for them: CH answers 500 for almost everything, including "already
// paused", and a call can fail after the VM reached the state we wanted. So after each such
// call the VM's state is read back; the call's error (CH's chain, verbatim) is returned only
// when the VM did not get where it should, and carries the state it is in (context vm_state).
// Calls that change no state (snapshot, add_fs, power_button) are judged by their answer.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "vmm/cloud_hypervisor/ch_agent_bridge.hpp"
#include "vmm/cloud_hypervisor/ch_api.hpp"
#include "vmm/driver.hpp"

namespace seed::vmm::ch {

// Not thread-safe: one caller (the VM's runner) drives one VMM.
class ChControl : public VmmControl {
 public:
  ChControl(ChApi api, std::string vm_name, VmPaths paths, ChVersion version);

  // create with vm_config(), boot, confirm Running, then serve the agent channel.
  Status boot(const VmSpec& spec, const VmPaths& paths) override;
  // vm.restore (the VM comes back paused), resume, confirm Running, serve the agent channel.
  // Restores from this VM's own copy of `snapshot_dir` (ch_restore: config.json rewritten for
  // `paths` and `spec`, the rest symlinked), so the serial FIFO, virtiofsd sockets, taps and
  // swtpm are this VM's, and must exist before this runs; the snapshot itself is only read.
  Status restore(const VmSpec& spec, const VmPaths& paths, const std::string& snapshot_dir) override;
  Result<VmState> state() override;
  Status pause() override;
  Status resume() override;
  Status power_button() override;
  // Pauses a running VM first and leaves it paused afterwards: the caller decides whether the
  // VM resumes or is stopped (a snapshot for a fast restart is normally followed by a stop).
  Status snapshot(const std::string& dir) override;
  Status add_fs(const FsShare& share, const std::string& socket) override;
  // vmm.shutdown. The VMM exits while answering, so a closed connection counts as done.
  Status quit() override;

  // After a seedd restart: serves the agent channel again if the VM has a console pty.
  Status reattach();

  const ChVersion& version() const { return version_; }
  const ChAgentBridge* agent_bridge() const { return bridge_.get(); }

 private:
  // Reads vm.info after `action` and decides (see the header comment); returns what it read.
  Result<ChVmInfo> confirm_state(std::string_view action, Status call, VmState want);
  Status start_agent_bridge(const ChVmInfo& info, std::string_view stage);
  Error tagged(Error err, std::string_view stage) const;

  ChApi api_;
  std::string vm_name_;
  VmPaths paths_;
  ChVersion version_;
  std::unique_ptr<ChAgentBridge> bridge_;
};

// "file:///abs/dir", the URL form vm.snapshot and vm.restore take.
std::string file_url(const std::string& dir);

}  // namespace seed::vmm::ch
