// Small helpers shared by the Cloud Hypervisor driver tests.
#pragma once

#include "common/testing/temp_dir.hpp"

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "vmm/vm_paths.hpp"
#include "vmm/vm_spec.hpp"

namespace seed::vmm::ch::testing {

// src/vmm/cloud_hypervisor/testdata: from SEED_SOURCE_DIR when meson runs the tests, else the
// path configured at build time.
std::string testdata_dir();

// The text of a test data file with every "${NAME}" in `vars` replaced by its value.
std::string read_testdata(const std::string& relative_path,
                          const std::map<std::string, std::string>& vars = {});

using seed::testing::TempDir;  // short /tmp path, so Unix socket paths inside it fit

// "at /memory/shared: expected true, got false" lines, one per difference; empty when equal.
std::string describe_json_diff(const nlohmann::json& expected, const nlohmann::json& actual);

// The spec and paths the golden files were written for.
VmSpec golden_spec();
VmPaths golden_paths();

// Writes an executable shell script (a fake cloud-hypervisor) and returns its path.
std::string write_script(const std::string& dir, const std::string& name, const std::string& body);

}  // namespace seed::vmm::ch::testing
