#include "tpm/provision.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/process.hpp"
#include "common/reverter.hpp"

namespace seed::tpm {
namespace {

namespace fs = std::filesystem;
constexpr const char* kStateFile = "tpm2-00.permall";

Status write_if_missing(const std::string& path, const std::string& content) {
  if (fs::exists(path)) return ok();
  return write_file_atomic(path, content, 0600);
}

}  // namespace

Result<std::string> ensure_local_ca(const TpmSettings& settings) {
  const std::string& d = settings.ca_dir;
  std::error_code ec;
  fs::create_directories(d, ec);
  if (ec) {
    return make_error(Errc::io, "cannot create the vTPM CA directory: " + ec.message())
        .with("path", d);
  }
  ::chmod(d.c_str(), 0700);  // holds the CA's private keys
  SEED_TRY(write_if_missing(d + "/swtpm-localca.conf",
                            "statedir = " + d + "\n" + "signingkey = " + d + "/signkey.pem\n" +
                                "issuercert = " + d + "/issuercert.pem\n" + "certserial = " + d +
                                "/certserial\n"));
  SEED_TRY(write_if_missing(d + "/swtpm-localca.options",
                            "--platform-manufacturer Seed\n--platform-version 2.1\n"
                            "--platform-model seed-vtpm\n"));
  std::string conf = d + "/swtpm_setup.conf";
  SEED_TRY(write_if_missing(conf, "create_certs_tool = " + settings.swtpm_localca + "\n" +
                                      "create_certs_tool_config = " + d +
                                      "/swtpm-localca.conf\n" + "create_certs_tool_options = " +
                                      d + "/swtpm-localca.options\n" +
                                      "active_pcr_banks = sha256\n"));
  return conf;
}

bool is_provisioned(const TpmPaths& paths) {
  return fs::exists(paths.state + "/" + kStateFile);
}

Status provision(const TpmSettings& settings, const TpmPaths& paths) {
  if (fs::exists(paths.state)) {
    return tag(make_error(Errc::already_exists,
                          "vTPM state of " + paths.instance + " already exists; it is never "
                          "overwritten")
                   .with("path", paths.state),
               paths.instance);
  }
  std::string conf = SEED_TRY(ensure_local_ca(settings));
  std::string building = paths.state + ".provisioning";
  std::error_code ec;
  fs::remove_all(building, ec);  // a crashed earlier attempt: never a usable identity
  fs::create_directories(building, ec);
  if (ec) {
    return tag(make_error(Errc::io, "cannot create " + building + ": " + ec.message()),
               paths.instance);
  }
  Reverter undo;
  undo.add([building] {
    std::error_code e;
    fs::remove_all(building, e);
  });
  // swtpm_setup runs --tpm without a PATH search: give it the resolved path.
  auto swtpm = find_executable(settings.swtpm);
  if (!swtpm) {
    return tag(make_error(Errc::unavailable, "swtpm (" + settings.swtpm + ") is not installed; "
                                             "install the Debian packages swtpm and swtpm-tools"),
               paths.instance);
  }
  SpawnOptions o;
  // swtpm_setup splits --tpm on spaces and needs the `socket` sub-command spelled out.
  o.argv = {settings.swtpm_setup, "--tpm2", "--tpm-state", building, "--tpm",
            *swtpm + " socket",
            "--create-ek-cert", "--create-platform-cert", "--lock-nvram", "--config", conf,
            "--not-overwrite"};
  o.stdout_mode = Output::capture;
  o.kill_with_parent = true;
  RunOptions ro;
  ro.timeout = std::chrono::seconds(60);
  auto r = run(o, ro);
  if (!r) return tag(std::move(r).error().with("stage", "tpm-provision"), paths.instance);
  if (!r->status.success()) {
    return tag(make_error(Errc::process_failed,
                          "provisioning the vTPM of " + paths.instance + " failed: swtpm_setup " +
                              r->status.describe() + "; see its output below")
                   .with("stage", "tpm-provision")
                   .with("stderr", r->err + r->out),
               paths.instance);
  }
  if (!fs::exists(building + "/" + kStateFile)) {
    return tag(make_error(Errc::internal, "swtpm_setup succeeded but wrote no TPM state")
                   .with("path", building),
               paths.instance);
  }
  ::unlink((building + "/.lock").c_str());
  if (::rename(building.c_str(), paths.state.c_str()) != 0) {
    return tag(errno_error("renaming " + building + " to " + paths.state, errno),
               paths.instance);
  }
  undo.success();
  if (UniqueFd dir(::open(paths.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); dir) {
    ::fsync(dir.get());
  }
  log::info("tpm.provisioned", {{"instance", paths.instance}, {"state", paths.state}});
  return ok();
}

}  // namespace seed::tpm
