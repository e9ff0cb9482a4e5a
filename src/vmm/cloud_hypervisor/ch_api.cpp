#include "vmm/cloud_hypervisor/ch_api.hpp"

namespace seed::vmm::ch {
namespace {

using nlohmann::json;

// Bodies quoted in errors are cut here; CH's own error bodies are far shorter.
constexpr size_t kQuoteLimit = 2048;

std::string quote(std::string_view body) {
  if (body.size() <= kQuoteLimit) return std::string(body);
  return std::string(body.substr(0, kQuoteLimit)) + "... (" + std::to_string(body.size()) +
         " bytes)";
}

Errc code_for_status(long status) {
  switch (status) {
    case 400: return Errc::invalid_argument;  // CH could not read our request: a bug on our side
    case 404: return Errc::not_found;         // unknown endpoint, or (v53+) no VM created
    case 405:
    case 409: return Errc::conflict;
    case 429: return Errc::in_use;
    default: return Errc::process_failed;     // CH tried and failed; its chain says why
  }
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

Status status_of(Result<HttpResponse> result) {
  if (!result) return std::move(result).error();
  return ok();
}

}  // namespace

std::optional<std::string> ChVmInfo::console_pty() const {
  auto console = config.find("console");
  if (console == config.end() || !console->is_object()) return std::nullopt;
  auto mode = console->find("mode");
  auto file = console->find("file");
  if (mode == console->end() || *mode != "Pty" || file == console->end() || !file->is_string()) {
    return std::nullopt;
  }
  return file->get<std::string>();
}

Result<VmState> parse_vm_state(std::string_view name) {
  if (name == "Created") return VmState::created;
  if (name == "Running") return VmState::running;
  if (name == "Paused" || name == "BreakPoint") return VmState::paused;
  if (name == "Shutdown") return VmState::shutdown;
  return make_error(Errc::protocol, "unknown Cloud Hypervisor VM state '" + std::string(name) + "'");
}

std::string_view vm_state_name(VmState state) {
  switch (state) {
    case VmState::created: return "Created";
    case VmState::running: return "Running";
    case VmState::paused: return "Paused";
    case VmState::shutdown: return "Shutdown";
  }
  return "unknown";
}

std::optional<std::vector<std::string>> parse_error_chain(std::string_view body) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_array() || doc.empty()) return std::nullopt;
  std::vector<std::string> chain;
  for (const auto& item : doc) {
    if (!item.is_string()) return std::nullopt;
    chain.push_back(item.get<std::string>());
  }
  return chain;
}

Error ch_api_error(std::string_view endpoint, const HttpResponse& response,
                   const std::string& socket_path) {
  std::string head = "cloud-hypervisor refused " + std::string(endpoint) + " (HTTP " +
                     std::to_string(response.status) + ")";
  std::string ch_error;
  if (auto chain = parse_error_chain(response.body)) {
    ch_error = join(*chain, " : ");
  } else {
    ch_error = quote(response.body);  // plain-text bodies (before v47.0) are kept as they are
  }
  Error err = make_error(code_for_status(response.status),
                         ch_error.empty() ? head + " with an empty body" : head + ": " + ch_error)
                  .with("socket", socket_path)
                  .with("endpoint", std::string(endpoint))
                  .with("http_status", std::to_string(response.status));
  if (!ch_error.empty()) err.with("ch_error", ch_error);
  return err;
}

ChApi::ChApi(ChHttpClient http, ChCallTimeouts timeouts)
    : http_(std::move(http)), timeouts_(timeouts) {}

Result<HttpResponse> ChApi::call(HttpMethod method, std::string_view endpoint,
                                 const std::optional<json>& body,
                                 std::optional<std::chrono::milliseconds> timeout) {
  std::optional<std::string> text;
  if (body) text = body->dump();
  auto response = SEED_TRY(http_.request(method, endpoint, text, timeout));
  if (response.status < 200 || response.status > 299) {
    return ch_api_error(endpoint, response, http_.socket_path());
  }
  return response;
}

Result<json> ChApi::parse_body(std::string_view endpoint, const HttpResponse& response) {
  json doc = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(Errc::protocol, "cloud-hypervisor answered " + std::string(endpoint) +
                                          " (HTTP " + std::to_string(response.status) +
                                          ") with a body that is not a JSON object")
        .with("socket", http_.socket_path())
        .with("endpoint", std::string(endpoint))
        .with("body", quote(response.body));
  }
  return doc;
}

Result<ChPing> ChApi::ping() {
  auto response = SEED_TRY(call(HttpMethod::get, "vmm.ping"));
  auto doc = SEED_TRY(parse_body("vmm.ping", response));
  ChPing ping;
  auto text = [&](const char* key) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  ping.version = text("version");
  ping.build_version = text("build_version");
  // `version` is the plain crate version; build_version may carry git-describe noise, so it
  // is only the fallback.
  auto parsed = parse_ch_version(ping.version);
  if (!parsed) parsed = parse_ch_version(ping.build_version);
  if (!parsed) {
    return make_error(Errc::protocol, "vmm.ping reports no readable version")
        .with("socket", http_.socket_path())
        .with("endpoint", "vmm.ping")
        .with("body", quote(response.body));
  }
  ping.parsed = *parsed;
  if (auto it = doc.find("pid"); it != doc.end() && it->is_number_integer()) {
    ping.pid = it->get<int64_t>();
  }
  if (auto it = doc.find("features"); it != doc.end() && it->is_array()) {
    for (const auto& f : *it) {
      if (f.is_string()) ping.features.push_back(f.get<std::string>());
    }
  }
  return ping;
}

Status ChApi::shutdown_vmm() {
  // CH answers 200 with an empty body here (its OpenAPI document says 204); both are fine.
  return status_of(call(HttpMethod::put, "vmm.shutdown"));
}

Status ChApi::create_vm(const json& vm_config) {
  return status_of(call(HttpMethod::put, "vm.create", vm_config));
}

Status ChApi::boot_vm() {
  return status_of(call(HttpMethod::put, "vm.boot", std::nullopt, timeouts_.boot));
}

Result<ChVmInfo> ChApi::vm_info() {
  auto response = SEED_TRY(call(HttpMethod::get, "vm.info"));
  auto doc = SEED_TRY(parse_body("vm.info", response));
  auto bad = [&](const std::string& what) {
    return make_error(Errc::protocol, "cloud-hypervisor answered vm.info with " + what)
        .with("socket", http_.socket_path())
        .with("endpoint", "vm.info")
        .with("body", quote(response.body));
  };
  auto state = doc.find("state");
  if (state == doc.end() || !state->is_string()) return bad("no \"state\"");
  auto config = doc.find("config");
  if (config == doc.end() || !config->is_object()) return bad("no \"config\" object");
  ChVmInfo info;
  info.state_name = state->get<std::string>();
  auto parsed = parse_vm_state(info.state_name);
  if (!parsed) return bad("an unknown state \"" + info.state_name + "\"");
  info.state = *parsed;
  info.config = std::move(*config);
  if (auto it = doc.find("memory_actual_size"); it != doc.end() && it->is_number_unsigned()) {
    info.memory_actual_size = it->get<uint64_t>();
  }
  return info;
}

Status ChApi::shutdown_vm() { return status_of(call(HttpMethod::put, "vm.shutdown")); }

Status ChApi::power_button() { return status_of(call(HttpMethod::put, "vm.power-button")); }

Status ChApi::delete_vm() { return status_of(call(HttpMethod::put, "vm.delete")); }

Status ChApi::pause_vm() { return status_of(call(HttpMethod::put, "vm.pause")); }

Status ChApi::resume_vm() { return status_of(call(HttpMethod::put, "vm.resume")); }

Status ChApi::snapshot_vm(const std::string& destination_url) {
  return status_of(call(HttpMethod::put, "vm.snapshot", json{{"destination_url", destination_url}},
                        timeouts_.snapshot));
}

Status ChApi::restore_vm(const json& restore_config) {
  return status_of(call(HttpMethod::put, "vm.restore", restore_config, timeouts_.restore));
}

Result<std::optional<json>> ChApi::add_fs(const json& fs_config) {
  auto response = SEED_TRY(call(HttpMethod::put, "vm.add-fs", fs_config));
  if (response.status == 204 || response.body.empty()) return std::optional<json>();
  auto doc = SEED_TRY(parse_body("vm.add-fs", response));
  return std::optional<json>(std::move(doc));
}

}  // namespace seed::vmm::ch
