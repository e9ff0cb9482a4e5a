// Cloud Hypervisor versions and the features Seed relies on, by the release that brought them.
//
// The version is read once per driver from vmm.ping; everything that differs between releases
// is decided here, through one table, instead of by version comparisons scattered in the driver.
#pragma once

#include <compare>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace seed::vmm::ch {

struct ChVersion {
  unsigned major = 0;
  unsigned minor = 0;
  unsigned patch = 0;

  auto operator<=>(const ChVersion&) const = default;
  // "v53.0" (patch shown only when non-zero, the way CH tags its releases).
  std::string to_string() const;
};

// Accepts what vmm.ping and `cloud-hypervisor --version` print: "53.0.0" (the crate version),
// "v53.0", "v53.0-dirty", "v52.0-12-g0123abcd" (git describe), "cloud-hypervisor v53.0".
Result<ChVersion> parse_ch_version(std::string_view text);

// The release the recorded API exchanges come from (testdata/exchanges) and that Seed is
// tested against.
inline constexpr ChVersion kChTargetVersion{53, 0, 0};
// The oldest release the driver accepts: every VmConfig field we send exists there, vmm.ping
// reports build features, and the serial port can write into a file (our FIFO).
inline constexpr ChVersion kChMinimumVersion{36, 0, 0};

enum class ChFeature {
  api_socket_fd,        // --api-socket fd=N: seedd binds the socket and hands it over
  ping_features,        // vmm.ping carries pid and the compiled-in features
  error_chain_json,     // error bodies are a JSON array of messages, outermost first
  not_created_is_404,   // requests against a VM that was never created answer 404, not 500
  net_ip_optional,      // NetConfig.ip has no default; older releases default to 192.168.249.1
  restore_resume_flag,  // vm.restore takes "resume": true
  memory_restore_on_demand,  // vm.restore takes "memory_restore_mode": "OnDemand" (userfaultfd)
  console_socket,       // virtio-console in Socket mode (no release supports it yet)
};

struct ChFeatureGate {
  ChFeature feature;
  std::string_view name;
  std::optional<ChVersion> since;  // nullopt: not in any release we know of
  std::string_view note;           // where this was established (CH source or docs)
};

std::span<const ChFeatureGate> ch_feature_table();
const ChFeatureGate& ch_feature_gate(ChFeature feature);
bool ch_supports(const ChVersion& version, ChFeature feature);

}  // namespace seed::vmm::ch
