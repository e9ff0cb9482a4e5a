// `seedd vm ...`: start, stop and list VMs directly through the VM layer.
#include <cstdio>

#include "common/fd.hpp"
#include "common/json_reader.hpp"
#include "seedd/commands.hpp"
#include "vmm/vm_spec_json.hpp"

namespace seed {
namespace {

int fail(const Error& e) {
  std::fprintf(stderr, "seedd vm: %s\n", e.describe().c_str());
  return 1;
}

}  // namespace

int run_vm_command(const Config& config, const std::vector<std::string>& args) {
  if (args.empty()) return fail(make_error(Errc::invalid_argument, "missing vm subcommand (start, stop, list)"));
  auto driver = vmm::make_driver(config.driver);
  if (!driver) return fail(driver.error());
  vmm::VmRunner runner(**driver, config.runner);
  if (args[0] == "list" && args.size() == 1) {
    for (const auto& name : runner.recorded()) std::printf("%s\n", name.c_str());
    return 0;
  }
  if (args[0] == "start" && args.size() == 2) {
    auto text = read_file(args[1]);
    if (!text) return fail(text.error());
    auto json = parse_json(*text, args[1]);
    if (!json) return fail(json.error());
    auto spec = vmm::vm_spec_from_json(*json, args[1]);
    if (!spec) return fail(spec.error());
    auto vm = runner.start(*spec);
    if (!vm) return fail(vm.error());
    std::printf("%s started, pid %d\n", spec->name.c_str(), (*vm)->vmm().pid());
    return 0;  // the VM keeps running: the handle is released, not stopped
  }
  if (args[0] == "stop" && args.size() == 2) {
    auto vm = runner.adopt(args[1]);
    if (!vm) return fail(vm.error());
    auto st = (*vm)->stop(std::chrono::seconds(config.stop_timeout_s));
    if (!st) return fail(st.error());
    std::printf("%s stopped\n", args[1].c_str());
    return 0;
  }
  return fail(make_error(Errc::invalid_argument, "unknown vm subcommand (use start SPEC.json, stop NAME, list)"));
}

}  // namespace seed
