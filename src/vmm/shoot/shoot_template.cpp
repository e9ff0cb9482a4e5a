#include "vmm/shoot/shoot_template.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "common/crash_point.hpp"
#include "common/digest.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"
#include "vmm/agent_client.hpp"

namespace seed::vmm::shoot {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

Status fsync_path(const std::string& path, bool directory) {
  UniqueFd fd(::open(path.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) return errno_error("cannot sync " + path, errno);
  return ok();
}

// Makes the freshly built template at `building` durable and then valid: every file and the
// directory synced, the key written last, the directory renamed over `dir`, its parent synced.
Status commit_template(const std::string& building, const std::string& dir, const std::string& key) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(building, ec)) {
    if (entry.is_regular_file()) SEED_TRY(fsync_path(entry.path(), false));
  }
  if (ec) return make_error(Errc::io, "cannot list " + building + ": " + ec.message());
  // The window a crash test stops in: the snapshot is complete on disk but not yet keyed.
  crash_point("shoot-template-unkeyed");
  SEED_TRY(write_file_atomic(building + "/" + kTemplateKeyFile, key, 0600));
  SEED_TRY(fsync_path(building, true));
  fs::remove_all(dir, ec);
  if (::rename(building.c_str(), dir.c_str()) != 0) return errno_error("cannot rename " + building + " to " + dir, errno);
  return fsync_path(fs::path(dir).parent_path(), true);
}

}  // namespace

const char* to_string(TemplateOrigin origin) {
  switch (origin) {
    case TemplateOrigin::none: return "";
    case TemplateOrigin::built: return "built";
    case TemplateOrigin::reused: return "reused";
    case TemplateOrigin::rebuilt: return "rebuilt";
  }
  return "";
}

Result<std::string> template_key(const ShootImage& image, const ShootTier& tier, const VmmDriverInfo& driver) {
  std::string key = "seed shoot template format " + std::to_string(kTemplateFormat) + "\n";
  key += "driver " + driver.name + "\n";
  for (const auto& [what, file] : {std::pair{"kernel", image.kernel}, std::pair{"initrd", image.initrd}}) {
    if (file.empty()) {
      key += std::string(what) + " none\n";
      continue;
    }
    auto bytes = read_file(file);
    if (!bytes) {
      return std::move(bytes).error().with("stage", "template").with("tier", tier.name)
          .with("hint", "shoot.image." + std::string(what) + " in seedd.json must name a readable file");
    }
    key += std::string(what) + " sha256:" + hex(sha256(*bytes)) + "\n";
  }
  key += "cmdline " + image.cmdline + "\n";
  key += "tier " + tier.name + " vcpus " + std::to_string(tier.vcpus) + " memory_mib " +
         std::to_string(tier.memory_mib) + "\n";
  key += "hotplug_slots " + std::to_string(kShootHotplugSlots) + "\n";
  return key;
}

Result<EnsuredTemplate> ensure_template(VmRunner& runner, const ShootImage& image, const ShootTier& tier,
                                        const std::string& dir, const std::string& key, bool rebuild) {
  constexpr std::string_view kVmm = "vmm_version ";  // the key file's last line
  if (!rebuild) {
    auto kept = read_file(dir + "/" + kTemplateKeyFile);
    const std::string now = runner.driver().info().version;
    if (kept && kept->size() > key.size() && kept->compare(0, key.size(), key) == 0 &&
        std::string_view(*kept).substr(key.size(), kVmm.size()) == kVmm) {
      std::string made_by = kept->substr(key.size() + kVmm.size());
      if (!made_by.empty() && made_by.back() == '\n') made_by.pop_back();
      if (now.empty() || now == made_by) {
        log::info("shoot.template.reused", {{"tier", tier.name}, {"dir", dir}, {"vmm_version", made_by}});
        return EnsuredTemplate{TemplateOrigin::reused, made_by};
      }
    }
    if (kept) log::info("shoot.template.stale", {{"tier", tier.name}, {"dir", dir}});
  }
  const std::string building = dir + ".building";
  std::error_code ec;
  fs::remove_all(building, ec);  // a build an earlier seedd did not finish
  SEED_TRY(build_template(runner, image, tier, building));
  const std::string made_by = runner.driver().info().version;  // known: the build launched a VMM
  if (auto st = commit_template(building, dir, key + std::string(kVmm) + made_by + "\n"); !st) {
    fs::remove_all(building, ec);
    return std::move(st).error().with("stage", "template").with("tier", tier.name);
  }
  return EnsuredTemplate{TemplateOrigin::built, made_by};
}

Result<AgentClient> wait_agent(const std::string& socket, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  auto agent = SEED_TRY(AgentClient::connect(socket, timeout));
  // One ping on one connection: it waits in the channel until the guest's agent reads it (the
  // echo of a not-yet-raw tty may add lines before "pong", never a second ".").
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  auto first = SEED_TRY(agent.call("ping", std::max(left, 1000ms)));
  if (std::find(first.begin(), first.end(), "pong") == first.end()) {
    return make_error(Errc::protocol, "the guest agent did not answer ping with pong");
  }
  // In step: the next answer is exactly this request's.
  auto second = SEED_TRY(agent.call("ping", 10s));
  if (second != std::vector<std::string>{"pong"}) {
    return make_error(Errc::protocol, "the guest agent's channel is out of step after ping");
  }
  return agent;
}

Status build_template(VmRunner& runner, const ShootImage& image, const ShootTier& tier,
                      const std::string& dir) {
  VmSpec spec;
  spec.name = std::string(kShootVmPrefix) + "tpl-" + tier.name;
  spec.vcpus = tier.vcpus;
  spec.memory_mib = tier.memory_mib;
  spec.kernel = image.kernel;
  spec.initrd = image.initrd;
  spec.cmdline = image.cmdline;
  spec.hotplug_slots = kShootHotplugSlots;  // no nets, no tpm_socket, no shares
  auto fail = [&](Error e) -> Status {
    if (!e.get("stage")) e.with("stage", "template");
    return std::move(e).with("tier", tier.name);
  };
  auto started = Clock::now();
  auto vm = runner.start(spec);
  if (!vm) return fail(std::move(vm).error());
  auto agent = wait_agent((*vm)->paths().agent_socket(), 180s);
  Status st = agent ? (*vm)->snapshot(dir) : Status(std::move(agent).error());
  // The template VM is only the source of the snapshot: it never runs a command.
  auto stopped = (*vm)->stop(0ms);
  if (!st) return fail(std::move(st).error());
  if (!stopped) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return fail(std::move(stopped).error());
  }
  log::info("shoot.template", {{"tier", tier.name}, {"dir", dir},
                               {"ms", std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()}});
  return ok();
}

}  // namespace seed::vmm::shoot
