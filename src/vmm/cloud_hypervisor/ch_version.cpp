#include "vmm/cloud_hypervisor/ch_version.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace seed::vmm::ch {
namespace {

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// Reads one decimal component at `pos`; advances `pos` past it.
std::optional<unsigned> read_number(std::string_view text, size_t& pos) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data() + pos) return std::nullopt;
  pos = static_cast<size_t>(end - text.data());
  return value;
}

// Each entry names the CH release that introduced the behaviour and where that was read, so
// the next person can re-check it against a newer CH instead of trusting folklore.
constexpr std::array<ChFeatureGate, 8> kTable{{
    {ChFeature::api_socket_fd, "api_socket_fd", ChVersion{15, 0, 0},
     "cloud-hypervisor/src/main.rs parse_api_socket(): path=<path> or fd=<fd>"},
    {ChFeature::ping_features, "ping_features", ChVersion{36, 0, 0},
     "vmm/src/api/mod.rs VmmPingResponse gained `features` (pid since v32.0)"},
    {ChFeature::error_chain_json, "error_chain_json", ChVersion{47, 0, 0},
     "vmm/src/api/http/mod.rs error_response(): serde_json array of the error chain; "
     "plain Display text before"},
    {ChFeature::not_created_is_404, "not_created_is_404", ChVersion{53, 0, 0},
     "vmm/src/api/http/mod.rs api_error_status_code(): VmNotCreated/VmMissingConfig -> 404"},
    {ChFeature::net_ip_optional, "net_ip_optional", ChVersion{49, 0, 0},
     "vmm/src/vm_config.rs NetConfig.ip became Option; an existing tap is never re-addressed "
     "either way (net_util/src/open_tap.rs)"},
    {ChFeature::restore_resume_flag, "restore_resume_flag", ChVersion{52, 0, 0},
     "vmm/src/config.rs RestoreConfig.resume; docs/snapshot_restore.md"},
    {ChFeature::memory_restore_on_demand, "memory_restore_on_demand", ChVersion{52, 0, 0},
     "vmm/src/config.rs RestoreConfig.memory_restore_mode (Copy|OnDemand, commit bf85af907, "
     "first tagged v52.0); docs/snapshot_restore.md: OnDemand faults pages in with userfaultfd "
     "and fails instead of falling back to Copy"},
    {ChFeature::console_socket, "console_socket", std::nullopt,
     "vmm/src/console_devices.rs: virtio-console Socket mode fails with "
     "NoSocketOptionSupportForConsoleDevice (serial only)"},
}};

}  // namespace

std::string ChVersion::to_string() const {
  std::string out = "v" + std::to_string(major) + "." + std::to_string(minor);
  if (patch != 0) out += "." + std::to_string(patch);
  return out;
}

Result<ChVersion> parse_ch_version(std::string_view text) {
  auto bad = [&] {
    return make_error(Errc::protocol,
                      "cannot read a Cloud Hypervisor version from '" + std::string(text) + "'")
        .with("version", std::string(text));
  };
  size_t pos = 0;
  while (pos < text.size() && !is_digit(text[pos])) ++pos;
  if (pos == text.size()) return bad();
  // A bare number inside a word ("x86_64") is not a version: it must start the text or
  // follow a space or a 'v'.
  if (pos > 0 && text[pos - 1] != 'v' && text[pos - 1] != ' ') return bad();
  ChVersion v;
  auto major = read_number(text, pos);
  if (!major || pos >= text.size() || text[pos] != '.') return bad();
  ++pos;
  auto minor = read_number(text, pos);
  if (!minor) return bad();
  v.major = *major;
  v.minor = *minor;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    auto patch = read_number(text, pos);
    if (!patch) return bad();
    v.patch = *patch;
  }
  // What may follow: nothing, a git-describe or -dirty suffix, or whitespace.
  if (pos < text.size() && text[pos] != '-' && text[pos] != '+' &&
      !std::isspace(static_cast<unsigned char>(text[pos]))) {
    return bad();
  }
  return v;
}

std::span<const ChFeatureGate> ch_feature_table() { return kTable; }

const ChFeatureGate& ch_feature_gate(ChFeature feature) {
  for (const auto& gate : kTable) {
    if (gate.feature == feature) return gate;
  }
  // Every enumerator has a row (a unit test checks this): reaching here is a broken invariant.
  throw std::logic_error("ChFeature without a row in the feature table");
}

bool ch_supports(const ChVersion& version, ChFeature feature) {
  const auto& gate = ch_feature_gate(feature);
  return gate.since && version >= *gate.since;
}

}  // namespace seed::vmm::ch
