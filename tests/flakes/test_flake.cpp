#include "test_flake.hpp"

#include <filesystem>

#include "common/fd.hpp"

namespace seed::testflake {
namespace fs = std::filesystem;

namespace {

Status copy_input(const std::string& from, const std::string& to, const std::string& hint) {
  std::error_code ec;
  fs::create_directories(fs::path(to).parent_path(), ec);
  if (!ec) fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    return make_error(Errc::not_found, "cannot copy " + from + " to " + to + ": " + ec.message())
        .with("hint", hint);
  }
  return {};
}

}  // namespace

Result<std::string> example_flake(const FlakeSources& sources) {
  return read_file(sources.source_dir + "/tests/flakes/example/flake.nix");
}

Status write_test_flake(const std::string& dir, const std::string& flake_nix,
                        const FlakeSources& sources) {
  const std::string src = sources.source_dir;
  const std::string guest_hint = "build the test guest: tests/guest/build-guest.sh " + sources.guest_dir;
  SEED_TRY((copy_input(src + "/tests/flakes/test-lib.nix", dir + "/seed/test-lib.nix", "SEED_SOURCE_DIR")));
  SEED_TRY((copy_input(src + "/lib/meta.nix", dir + "/seed/lib/meta.nix", "SEED_SOURCE_DIR")));
  SEED_TRY((copy_input(src + "/lib/services.nix", dir + "/seed/lib/services.nix", "SEED_SOURCE_DIR")));
  SEED_TRY((copy_input(sources.busybox, dir + "/bin/busybox", "install busybox-static")));
  for (const char* f : {"kernel", "initrd", "kernel-params", "init"}) {
    SEED_TRY((copy_input(sources.guest_dir + "/" + f, dir + "/guest/" + f, guest_hint)));
  }
  std::error_code ec;
  fs::permissions(dir + "/bin/busybox", fs::perms::owner_all | fs::perms::group_read |
                  fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec, ec);
  return write_file_atomic(dir + "/flake.nix", flake_nix);
}

}  // namespace seed::testflake
