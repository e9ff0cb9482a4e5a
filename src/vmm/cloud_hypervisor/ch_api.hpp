// The typed Cloud Hypervisor REST calls Seed uses (paths and bodies as in CH's
// vmm/src/api/openapi/cloud-hypervisor.yaml), and the one place where CH's answers become
// values or Errors.
//
// CH answers most failures with HTTP 500 and a JSON array of messages, the error chain from
// the outermost error to the root cause (since v47.0; plain text before). That chain is the
// only useful diagnosis there is, so it is kept verbatim: joined with " : " in the message and
// in context["ch_error"], never replaced by a generic text. The status code picks the Errc,
// but callers must not conclude the VM's state from it: ask vm_info() (see ch_control).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "vmm/cloud_hypervisor/ch_http.hpp"
#include "vmm/cloud_hypervisor/ch_version.hpp"
#include "vmm/driver.hpp"

namespace seed::vmm::ch {

struct ChPing {
  std::string version;        // the crate version, "53.0.0"
  std::string build_version;  // git describe of the build, "v53.0" or "v53.0-4-gabc-dirty"
  ChVersion parsed;
  std::optional<int64_t> pid;         // since v32.0
  std::vector<std::string> features;  // compiled-in cargo features, since v36.0 ("kvm", ...)
};

struct ChVmInfo {
  VmState state = VmState::created;
  std::string state_name;  // as CH spelled it ("Running")
  nlohmann::json config;   // the VmConfig as CH holds it, defaults filled in
  std::optional<uint64_t> memory_actual_size;
  // The pseudo-terminal CH allocated for the virtio-console (console mode Pty).
  std::optional<std::string> console_pty() const;
};

// CH's VmState names: Created, Running, Paused, Shutdown (and BreakPoint, a debugger stop,
// read as paused).
Result<VmState> parse_vm_state(std::string_view name);
std::string_view vm_state_name(VmState state);

// The error chain of an error body: the array's strings, outermost first; nullopt when the
// body is not a JSON array of strings (older releases answer plain text).
std::optional<std::vector<std::string>> parse_error_chain(std::string_view body);

// The Error for a non-2xx answer, CH's words kept verbatim.
Error ch_api_error(std::string_view endpoint, const HttpResponse& response,
                   const std::string& socket_path);

// Deadlines for calls that may legitimately take long.
struct ChCallTimeouts {
  // vm.boot waits up to a minute for each vhost-user backend (virtiofsd) to accept before it
  // fails with its own, better, message; give it room to say so.
  std::chrono::milliseconds boot{90000};
  // Snapshot and restore copy all of guest memory to or from disk.
  std::chrono::milliseconds snapshot{600000};
  std::chrono::milliseconds restore{600000};
};

class ChApi {
 public:
  explicit ChApi(ChHttpClient http, ChCallTimeouts timeouts = {});

  Result<ChPing> ping();                                    // GET vmm.ping
  Status shutdown_vmm();                                    // PUT vmm.shutdown
  Status create_vm(const nlohmann::json& vm_config);        // PUT vm.create
  Status boot_vm();                                         // PUT vm.boot
  Result<ChVmInfo> vm_info();                               // GET vm.info
  Status shutdown_vm();                                     // PUT vm.shutdown
  Status power_button();                                    // PUT vm.power-button
  Status delete_vm();                                       // PUT vm.delete
  Status pause_vm();                                        // PUT vm.pause
  Status resume_vm();                                       // PUT vm.resume
  Status snapshot_vm(const std::string& destination_url);  // PUT vm.snapshot
  Status restore_vm(const nlohmann::json& restore_config);  // PUT vm.restore (ch_restore)
  // PUT vm.add-fs. CH answers 200 with {"id","bdf"} when it hot-plugged the device into a
  // running VM and 204 when it only added it to the config of a VM not booted yet (nullopt).
  Result<std::optional<nlohmann::json>> add_fs(const nlohmann::json& fs_config);

  const ChHttpClient& http() const { return http_; }

 private:
  // One call; non-2xx answers become ch_api_error().
  Result<HttpResponse> call(HttpMethod method, std::string_view endpoint,
                            const std::optional<nlohmann::json>& body = std::nullopt,
                            std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  Result<nlohmann::json> parse_body(std::string_view endpoint, const HttpResponse& response);

  ChHttpClient http_;
  ChCallTimeouts timeouts_;
};

}  // namespace seed::vmm::ch
