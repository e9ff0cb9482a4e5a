// Lays out a nixpkgs-free tenant flake in a directory, for tests that need a real
// `nix eval` / `nix build` of seeds (this module's and, later, the reconcile engine's):
//
//   DIR/flake.nix              the given text (tests/flakes/example/flake.nix by default)
//   DIR/seed/test-lib.nix      tests/flakes/test-lib.nix (mkSeed without nixpkgs)
//   DIR/seed/lib/*.nix         lib/meta.nix and lib/services.nix (the real seed.* rules)
//   DIR/bin/busybox            busybox-static, the builder
//   DIR/guest/{kernel,initrd,kernel-params,init}   the hermetic test guest
//
// Use it as a `path:DIR` flake: a git flake would hide untracked files from the build.
#pragma once

#include <string>

#include "common/error.hpp"

namespace seed::testflake {

struct FlakeSources {
  std::string source_dir;               // the repository (SEED_SOURCE_DIR)
  std::string guest_dir;                // build-guest.sh output (SEED_GUEST_DIR)
  std::string busybox = "/bin/busybox";  // Debian busybox-static
};

// The example flake's text.
Result<std::string> example_flake(const FlakeSources& sources);

// Writes the layout above into `dir` (which must exist). Fails naming the missing input.
Status write_test_flake(const std::string& dir, const std::string& flake_nix,
                        const FlakeSources& sources);

}  // namespace seed::testflake
