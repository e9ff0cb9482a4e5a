// Parsing what `lvm vgs|lvs --reportformat json --units b --nosuffix` prints, and classifying
// lvm's failures. lvm2's JSON report is {"report": [{"vg": [...]}]} (or "lv"), every value a
// string; with `--units b --nosuffix` sizes are plain byte counts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/process.hpp"

namespace seed::storage::lvm {

struct VgReport {
  std::string name;
  uint64_t size = 0;
  uint64_t free = 0;
  uint64_t extent_size = 0;
};

struct LvReport {
  std::string name;
  std::string vg;
  uint64_t size = 0;
  std::string path;
  std::string attr;
  std::string pool;
};

Result<std::vector<VgReport>> parse_vgs(const std::string& json);
Result<std::vector<LvReport>> parse_lvs(const std::string& json);

// Turns a failed lvm run into the sentinel error a caller can branch on: a missing volume
// group → not_found, an existing LV → already_exists, no space → invalid_argument, else
// process_failed. lvm's own words are kept in context (stderr) and in the message.
Error classify_failure(const RunResult& result, const std::string& what);

}  // namespace seed::storage::lvm
