// seedd's configuration: one JSON file (what the NixOS host module renders). Every key is
// optional; unknown or mistyped keys are errors naming the key and the file.
#pragma once

#include <string>

#include "common/error.hpp"
#include "common/log.hpp"
#include "seedd/node_config.hpp"
#include "vmm/driver_factory.hpp"
#include "vmm/vm_runner.hpp"

namespace seed {

struct Config {
  log::Level log_level = log::Level::info;
  vmm::DriverSettings driver;
  vmm::RunnerSettings runner;
  uint64_t stop_timeout_s = 10;
  NodeConfig node;
};

// Defaults for the paths of helper binaries that ship beside seedd.
Config default_config();
Result<Config> parse_config(std::string_view text, const std::string& where);
Result<Config> load_config(const std::string& path);

}  // namespace seed
