#include "vmm/cloud_hypervisor/testing/ch_test_util.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "cloud_hypervisor/ch_test_config.h"

namespace seed::vmm::ch::testing {

using nlohmann::json;

std::string testdata_dir() {
  if (const char* src = std::getenv("SEED_SOURCE_DIR"); src != nullptr && *src != '\0') {
    return std::string(src) + "/src/vmm/cloud_hypervisor/testdata";
  }
  return SEED_CH_TESTDATA_DIR;
}

std::string read_testdata(const std::string& relative_path,
                          const std::map<std::string, std::string>& vars) {
  const std::string path = testdata_dir() + "/" + relative_path;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read test data " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  for (const auto& [name, value] : vars) {
    const std::string key = "${" + name + "}";
    for (size_t pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + value.size())) {
      text.replace(pos, key.size(), value);
    }
  }
  return text;
}

std::string describe_json_diff(const json& expected, const json& actual) {
  std::string out;
  for (const auto& op : json::diff(expected, actual)) {
    const std::string path = op.at("path").get<std::string>();
    const json::json_pointer ptr(path);
    const std::string where = path.empty() ? "/" : path;
    const std::string kind = op.at("op").get<std::string>();
    if (kind == "add") {
      out += "at " + where + ": unexpected " + op.at("value").dump() + "\n";
    } else if (kind == "remove") {
      out += "at " + where + ": missing, expected " + expected.at(ptr).dump() + "\n";
    } else {
      out += "at " + where + ": expected " + expected.at(ptr).dump() + ", got " +
             op.at("value").dump() + "\n";
    }
  }
  return out;
}

VmSpec golden_spec() {
  VmSpec spec;
  spec.name = "web";
  spec.vcpus = 2;
  spec.memory_mib = 512;
  spec.kernel = "/nix/store/5x0kq1y8pd3n3c6l9qbq2dm5v0h1kzlm-seed-guest/kernel";
  spec.initrd = "/nix/store/5x0kq1y8pd3n3c6l9qbq2dm5v0h1kzlm-seed-guest/initrd";
  spec.cmdline = "console=ttyS0 panic=-1 init=/nix/store/y2d0sq7m1rp5x3vj8c0v9a4k6n2w1hbz-nixos-system-web/init";
  spec.shares = {
      {"nix-store", "/nix/store", true},
      {"seed", "/var/lib/seed/instances/web/seed", true},
      {"seed-tpm", "/var/lib/seed/instances/web/tpm", false},
      {"storage-data", "/var/lib/seed/volumes/web-data", false},
  };
  spec.nets = {{"seedtap-web", "52:54:00:12:34:56"}};
  spec.tpm_socket = "/run/seed/tpm/web/swtpm-ctrl.sock";
  return spec;
}

VmPaths golden_paths() { return VmPaths::for_vm("/run/seed", "/var/lib/seed", "web"); }

std::string write_script(const std::string& dir, const std::string& name, const std::string& body) {
  const std::string path = dir + "/" + name;
  std::ofstream out(path);
  out << "#!/bin/sh\n" << body;
  out.close();
  ::chmod(path.c_str(), 0755);
  return path;
}

}  // namespace seed::vmm::ch::testing
