// The Cloud Hypervisor driver: starts `cloud-hypervisor` on an API socket seedd has already
// bound, and hands out ChControl connections to it.
//
// Launch runs in named phases (find binary, bind socket, spawn, ping, check version) under a
// Reverter, so any failure kills the process and removes the socket, and the first error is
// the one reported. The VMM's version is read from vmm.ping once per driver instance and
// gates what the driver relies on (ch_version.hpp).
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include "vmm/cloud_hypervisor/ch_api.hpp"
#include "vmm/cloud_hypervisor/ch_version.hpp"
#include "vmm/driver.hpp"

namespace seed::vmm::ch {

struct ChDriverOptions {
  std::string binary = "cloud-hypervisor";  // looked up in PATH unless it contains '/'
  HttpTimeouts http;
  ChCallTimeouts calls;
  // How long a freshly spawned VMM may take to answer its first vmm.ping.
  std::chrono::milliseconds start_timeout{10000};
};

class CloudHypervisorDriver : public Driver {
 public:
  explicit CloudHypervisorDriver(std::string binary = "cloud-hypervisor");
  explicit CloudHypervisorDriver(ChDriverOptions options);

  // name "cloud-hypervisor"; version is empty until the first launch() or connect() has
  // pinged a VMM (it is written once, before that call returns).
  const VmmDriverInfo& info() const override;

  // Spawns `cloud-hypervisor --api-socket fd=3 -v`, output appended to paths.vmm_log(). No VM
  // exists yet: boot() or restore() on the returned control creates it. `restore_from` needs
  // nothing different at launch for CH, since the restore is an API call.
  Result<LaunchedVmm> launch(const VmSpec& spec, const VmPaths& paths,
                             const std::optional<std::string>& restore_from) override;

  // Attaches to the API socket of a VMM started earlier, pings it, and serves the agent
  // channel again if its VM has one.
  Result<std::unique_ptr<VmmControl>> connect(const VmPaths& paths) override;

  std::optional<ChVersion> version() const;

 private:
  // Caches the version of the first VMM seen; rejects releases older than kChMinimumVersion.
  Result<ChVersion> note_version(const ChPing& ping);
  ChApi make_api(const std::string& socket, std::chrono::milliseconds total) const;

  ChDriverOptions options_;
  mutable std::mutex mutex_;
  VmmDriverInfo info_;
  std::optional<ChVersion> version_;
};

// The last `max_bytes` of a log file (from a line start when possible), for error reports.
std::string log_tail(const std::string& path, size_t max_bytes = 4096);

}  // namespace seed::vmm::ch
