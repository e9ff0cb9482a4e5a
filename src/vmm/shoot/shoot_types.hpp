// What a shoot runs and what it answers (docs/shoots.md), shared by the clone, the pool and
// the front ends above reconcile.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmm/vm_spec.hpp"

namespace seed::vmm::shoot {

// A size tier: every template, clone and pool slot of a tier has this shape.
struct ShootTier {
  std::string name;  // "small", …: part of VM names, so [a-z0-9-]
  unsigned vcpus = 1;
  uint64_t memory_mib = 256;
};

// One of the parent's shares, as a clone mounts it: the store read-only, volumes read-write.
struct ShootMount {
  FsShare share;            // tag, host directory, read_only (enforced by virtiofsd)
  std::string mount_point;  // absolute path inside the clone (the parent's mount point)
};

enum class ShootOutput { out, err };

struct ShootCommand {
  std::vector<std::string> argv;            // required, argv[0] non-empty; no shell
  std::map<std::string, std::string> env;   // added to the guest's environment
  std::string stdin_data;                   // bounded by the caller (ShootLimits::max_stdin)
  std::string cwd = "/";
  std::chrono::milliseconds timeout{30000};
  size_t output_cap = 4u << 20;             // per stream
  // Called on the running thread with each piece of output as it arrives (within the cap),
  // for a streamed reply; the result keeps the same bytes.
  std::function<void(ShootOutput, std::string_view)> on_output;
};

struct ShootResult {
  int exit_code = -1;
  std::optional<int> signal;  // the command was killed by this signal (exit_code 128 + it)
  std::string out;
  std::string err;
  bool timed_out = false;     // killed at the deadline; out/err hold what came before it
  bool truncated = false;     // a stream went over output_cap and was cut there
  std::chrono::milliseconds duration{0};
};

// Checks a command before any VM is touched: one clear error naming the field.
Status validate(const ShootCommand& command);

}  // namespace seed::vmm::shoot
