#include "vmm/vm_runner.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/crash_point.hpp"
#include "common/json_reader.hpp"
#include "common/log.hpp"
#include "common/owned_processes.hpp"
#include "common/unix_socket.hpp"
#include "vmm/vm_helpers.hpp"
#include "vmm/vm_spec_json.hpp"

namespace seed::vmm {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string console_tail_text(const std::string& path, size_t lines) {
  auto tail = console_tail(path, lines);
  if (!tail) return "";
  std::string out;
  for (const auto& l : *tail) out += l + "\n";
  return out;
}

Error with_stage(Error e, const char* stage, const std::string& vm) {
  if (!e.get("stage")) e.with("stage", stage);
  return std::move(e).with("vm", vm);
}

// The driver's capability flags decide before anything is spawned: a spec asking for what
// the driver cannot do fails in "prepare" with nothing started.
Status check_driver_can_run(const VmmDriverInfo& driver, const VmSpec& spec, bool restoring) {
  if (!spec.tpm_socket.empty() && !driver.tpm) {
    return make_error(Errc::unavailable, "the " + driver.name + " driver cannot attach a TPM to VM " + spec.name)
        .with("hint", "choose a hypervisor with TPM support (vmm.hypervisor in seedd's config) or set tpm to false");
  }
  if (restoring && !driver.snapshot) {
    return make_error(Errc::unavailable, "the " + driver.name + " driver cannot restore VM snapshots");
  }
  return ok();
}

}  // namespace

RunningVm::~RunningVm() = default;

Status RunningVm::persist() const {
  nlohmann::json fs_records = nlohmann::json::object();
  for (const auto& [tag, child] : fs_daemons_) fs_records[tag] = child.record();
  nlohmann::json record{{"name", spec_.name}, {"driver", driver_name_}, {"spec", to_json(spec_)},
                        {"fs", fs_records}};
  if (vmm_.pid() > 0) record["vmm"] = vmm_.record();
  if (logger_.pid() > 0) record["logger"] = logger_.record();
  return write_file_atomic(paths_.record_file(), record.dump(2) + "\n", 0600);
}

void RunningVm::stop_helpers_and_clean() {
  if (logger_.pid() > 0) logger_.terminate(2s);  // SIGTERM: it drains the FIFO first
  for (auto& [tag, child] : fs_daemons_) {
    if (child.pid() > 0) child.terminate(1s);
  }
  std::error_code ec;
  fs::remove_all(paths_.dir, ec);
  stopped_ = true;
}

Status RunningVm::stop(std::chrono::milliseconds grace) {
  if (stopped_) return ok();
  Status first;
  if (vmm_.pid() > 0 && vmm_.running()) {
    // Ask the guest first; a guest that ignores the button is stopped by the VMM, then killed.
    if (auto st = control_->power_button(); !st) first = std::move(st);
    if (!vmm_.wait(grace)) {
      // A zero grace is a deliberate hard stop (shoot clones), not a guest that misbehaves.
      if (grace.count() > 0) log::warn("vm.stop.forced", {{"vm", spec_.name}, {"reason", "guest did not power off"}});
      (void)control_->quit();
      if (!vmm_.wait(3s)) vmm_.terminate(1s);
    }
  }
  stop_helpers_and_clean();
  log::info("vm.stopped", {{"vm", spec_.name}});
  return first;
}

Result<VmExit> RunningVm::wait_exit(std::optional<std::chrono::milliseconds> timeout) {
  auto status = SEED_TRY(vmm_.wait(timeout));
  Error report = make_error(status.success() ? Errc::unavailable : Errc::process_failed,
                            "VM " + spec_.name + " stopped: its VMM " + status.describe())
                     .with("stage", "runtime")
                     .with("vm", spec_.name);
  report.with("vmm_log", file_tail(paths_.vmm_log()));
  report.with("console", console_tail_text(paths_.console_log(), 20));
  log::warn("vm.exited", {{"vm", spec_.name}, {"how", status.describe()}});
  stop_helpers_and_clean();
  return VmExit{status, std::move(report)};
}

Status RunningVm::snapshot(const std::string& dir) {
  if (!can_snapshot_) {
    return make_error(Errc::unavailable, "the " + driver_name_ + " driver cannot snapshot VMs")
        .with("vm", spec_.name)
        .with("stage", "snapshot");
  }
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    return make_error(Errc::already_exists, "snapshot directory already exists: " + dir)
        .with("vm", spec_.name);
  }
  if (!fs::create_directories(dir, ec)) {
    return make_error(Errc::io, "cannot create snapshot directory " + dir + ": " + ec.message());
  }
  auto st = control_->snapshot(dir);
  if (st) st = write_file_atomic(dir + "/spec.json", to_json(spec_).dump(2) + "\n");
  auto resumed = control_->resume();
  if (!st) {
    fs::remove_all(dir, ec);
    return with_stage(std::move(st).error(), "snapshot", spec_.name);
  }
  if (!resumed) return with_stage(std::move(resumed).error(), "snapshot", spec_.name);
  log::info("vm.snapshot", {{"vm", spec_.name}, {"dir", dir}});
  return ok();
}

Status RunningVm::add_share(const FsShare& share) {
  if (fs_daemons_.count(share.tag) != 0) {
    return make_error(Errc::already_exists, "VM " + spec_.name + " already has a share '" + share.tag + "'")
        .with("stage", "attach");
  }
  SEED_TRY(check_socket_path(paths_.fs_socket(share.tag)));
  auto daemon = start_virtiofsd(virtiofsd_binary_, share, paths_);
  if (!daemon) return with_stage(std::move(daemon).error(), "attach", spec_.name);
  auto& child = fs_daemons_.emplace(share.tag, std::move(*daemon)).first->second;
  auto undo = [&](Error e) -> Status {
    child.terminate(1s);
    fs_daemons_.erase(share.tag);
    ::unlink(paths_.fs_socket(share.tag).c_str());
    (void)persist();
    return with_stage(std::move(e), "attach", spec_.name);
  };
  if (auto st = persist(); !st) return undo(std::move(st).error());
  if (auto st = control_->add_fs(share, paths_.fs_socket(share.tag)); !st) {
    Error e = std::move(st).error();
    if (!child.running()) e.with("virtiofsd_" + share.tag, file_tail(paths_.fs_log(share.tag)));
    return undo(std::move(e));
  }
  return ok();
}

VmRunner::VmRunner(Driver& driver, RunnerSettings settings)
    : driver_(driver), settings_(std::move(settings)) {}

std::vector<ProcessRecord> VmRunner::end_strays() {
  std::set<pid_t> keep;
  for (const auto& name : recorded()) {
    auto paths = VmPaths::for_vm(settings_.runtime_dir, settings_.state_dir, name);
    auto text = read_file(paths.record_file());
    auto json = text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
    if (!json.is_object()) continue;
    for (const char* key : {"vmm", "logger"}) {
      if (json.contains(key) && json[key].contains("pid")) keep.insert(json[key]["pid"].get<pid_t>());
    }
    if (json.contains("fs") && json["fs"].is_object()) {
      for (const auto& [tag, rec] : json["fs"].items()) {
        if (rec.contains("pid")) keep.insert(rec["pid"].get<pid_t>());
      }
    }
  }
  return seed::end_strays(settings_.runtime_dir, keep);
}

std::vector<std::string> VmRunner::recorded() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(settings_.runtime_dir + "/vm", ec)) {
    if (fs::exists(entry.path() / "vm.json")) names.push_back(entry.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status VmRunner::prepare_runtime_dir(RunningVm& vm) {
  const auto& p = vm.paths_;
  std::error_code ec;
  if (fs::exists(p.record_file(), ec)) {
    return make_error(Errc::already_exists,
                      "VM " + vm.spec_.name + " already has a runtime record; stop or adopt it first")
        .with("file", p.record_file());
  }
  SEED_TRY(check_socket_path(p.control_socket()));
  SEED_TRY(check_socket_path(p.agent_socket()));
  for (const auto& share : vm.spec_.shares) SEED_TRY(check_socket_path(p.fs_socket(share.tag)));
  fs::create_directories(p.dir, ec);
  if (ec) return make_error(Errc::io, "cannot create " + p.dir + ": " + ec.message());
  fs::permissions(p.dir, fs::perms::owner_all, ec);
  fs::create_directories(p.console_dir, ec);
  if (ec) return make_error(Errc::io, "cannot create " + p.console_dir + ": " + ec.message());
  return ok();
}

Result<std::unique_ptr<RunningVm>> VmRunner::launch(const VmSpec& spec,
                                                    const std::optional<std::string>& snapshot) {
  if (auto st = validate(spec); !st) return with_stage(std::move(st).error(), "prepare", spec.name);
  if (auto st = check_driver_can_run(driver_.info(), spec, snapshot.has_value()); !st) {
    return with_stage(std::move(st).error(), "prepare", spec.name);
  }
  std::unique_ptr<RunningVm> vm(new RunningVm());
  vm->spec_ = spec;
  vm->paths_ = VmPaths::for_vm(settings_.runtime_dir, settings_.state_dir, spec.name);
  vm->driver_name_ = driver_.info().name;
  vm->can_snapshot_ = driver_.info().snapshot;
  vm->virtiofsd_binary_ = settings_.virtiofsd_binary;
  if (auto st = prepare_runtime_dir(*vm); !st) {
    // Nothing of ours exists yet unless the directory was just made; never touch another VM's.
    if (st.error().code != Errc::already_exists) {
      std::error_code ec;
      fs::remove(vm->paths_.dir, ec);
    }
    return with_stage(std::move(st).error(), "prepare", spec.name);
  }
  // From here on every failure goes through this one path: stop what runs, remove what exists.
  auto fail = [&](Error e, const char* stage) -> Error {
    if (vm->vmm_.pid() > 0) {
      vm->vmm_.terminate(1s);
      e.with("vmm_log", file_tail(vm->paths_.vmm_log()));
      e.with("console", console_tail_text(vm->paths_.console_log(), 20));
    }
    vm->stop_helpers_and_clean();
    log::warn("vm.start.failed", {{"vm", spec.name}, {"stage", stage}, {"error", e.message}});
    return with_stage(std::move(e), stage, spec.name);
  };

  // Each process is recorded right after it is spawned; one that seedd dies too early to
  // record carries the owner mark (VmPaths::owner), by which a restarted seedd ends it.
  auto logger = start_console_logger(settings_.console_logger_binary, vm->paths_, settings_.console);
  if (!logger) return fail(std::move(logger).error(), "prepare");
  vm->logger_ = std::move(*logger);
  crash_point("vm.logger.spawned");
  if (auto st = vm->persist(); !st) return fail(std::move(st).error(), "prepare");
  for (const auto& share : spec.shares) {
    auto daemon = start_virtiofsd(settings_.virtiofsd_binary, share, vm->paths_);
    if (!daemon) return fail(std::move(daemon).error(), "prepare");
    vm->fs_daemons_.emplace(share.tag, std::move(*daemon));
    crash_point("vm.virtiofsd.spawned");
    if (auto st = vm->persist(); !st) return fail(std::move(st).error(), "prepare");
  }

  auto launched = driver_.launch(spec, vm->paths_, snapshot);
  if (!launched) return fail(std::move(launched).error(), "spawn");
  vm->vmm_ = std::move(launched->process);
  vm->control_ = std::move(launched->control);
  crash_point("vm.vmm.launched");  // the VMM answered its control socket; not recorded yet
  if (auto st = vm->persist(); !st) return fail(std::move(st).error(), "spawn");

  auto booted = snapshot ? vm->control_->restore(spec, vm->paths_, *snapshot)
                         : vm->control_->boot(spec, vm->paths_);
  if (!booted) {
    for (const auto& [tag, daemon] : vm->fs_daemons_) {
      if (!daemon.running()) booted = std::move(booted).error().with("virtiofsd_" + tag, file_tail(vm->paths_.fs_log(tag)));
    }
    return fail(std::move(booted).error(), "boot");
  }
  log::info(snapshot ? "vm.restored" : "vm.started",
            {{"vm", spec.name}, {"driver", vm->driver_name_}, {"pid", vm->vmm_.pid()}});
  return vm;
}

Result<std::unique_ptr<RunningVm>> VmRunner::start(const VmSpec& spec) {
  return launch(spec, std::nullopt);
}

Result<std::unique_ptr<RunningVm>> VmRunner::restore(const std::string& snapshot_dir,
                                                     const std::optional<std::string>& as_name) {
  std::string spec_file = snapshot_dir + "/spec.json";
  auto text = read_file(spec_file);
  if (!text) {
    return std::move(text).error().with("stage", "prepare").with(
        "hint", "not a snapshot directory written by seedd (spec.json is missing)");
  }
  auto json = SEED_TRY(parse_json(*text, spec_file));
  auto spec = SEED_TRY(vm_spec_from_json(json, spec_file));
  if (as_name) spec.name = *as_name;
  return launch(spec, snapshot_dir);
}

Result<std::unique_ptr<RunningVm>> VmRunner::adopt(const std::string& name) {
  auto paths = VmPaths::for_vm(settings_.runtime_dir, settings_.state_dir, name);
  auto text = read_file(paths.record_file());
  if (!text) {
    return make_error(Errc::not_found, "no record of VM " + name).with("file", paths.record_file());
  }
  auto json = SEED_TRY(parse_json(*text, paths.record_file()));
  std::unique_ptr<RunningVm> vm(new RunningVm());
  vm->paths_ = paths;
  vm->adopted_ = true;
  try {
    vm->spec_ = SEED_TRY(vm_spec_from_json(json.at("spec"), paths.record_file()));
    vm->driver_name_ = json.at("driver").get<std::string>();
    if (json.contains("logger")) {
      if (auto c = seed::adopt(json["logger"].get<ProcessRecord>())) vm->logger_ = std::move(*c);
    }
    for (const auto& [tag, rec] : json.at("fs").items()) {
      if (auto c = seed::adopt(rec.get<ProcessRecord>())) vm->fs_daemons_.emplace(tag, std::move(*c));
    }
    auto vmm = json.contains("vmm") ? seed::adopt(json["vmm"].get<ProcessRecord>())
                                    : Result<Child>(make_error(Errc::not_found, "never spawned"));
    if (!vmm) {
      // The VM is gone (crashed while seedd was away, or a start never finished): tidy up.
      vm->stop_helpers_and_clean();
      return make_error(Errc::not_found, "VM " + name + " is no longer running; its leftovers were removed")
          .with("vm", name);
    }
    vm->vmm_ = std::move(*vmm);
  } catch (const nlohmann::json::exception& e) {
    return make_error(Errc::invalid_argument, "corrupt VM record: " + std::string(e.what()))
        .with("file", paths.record_file());
  }
  if (vm->driver_name_ != driver_.info().name) {
    return make_error(Errc::conflict, "VM " + name + " runs under " + vm->driver_name_ +
                                          " but this seedd uses " + driver_.info().name);
  }
  vm->can_snapshot_ = driver_.info().snapshot;
  vm->virtiofsd_binary_ = settings_.virtiofsd_binary;
  auto control = driver_.connect(paths);
  if (!control) return with_stage(std::move(control).error(), "adopt", name);
  vm->control_ = std::move(*control);
  if (vm->logger_.pid() == 0) {
    // The logger died: a new one reads the same FIFO, which the VMM still holds open.
    auto logger = start_console_logger(settings_.console_logger_binary, paths, settings_.console,
                                       LoggerStart::resume);
    if (logger) vm->logger_ = std::move(*logger);
  }
  SEED_TRY(vm->persist());
  log::info("vm.adopted", {{"vm", name}, {"pid", vm->vmm_.pid()}});
  return vm;
}

}  // namespace seed::vmm
