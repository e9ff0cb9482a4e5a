#include "tpm/tpm_paths.hpp"

namespace seed::tpm {

Status validate_instance(const std::string& instance) {
  auto bad = [&](const std::string& why) {
    return make_error(Errc::invalid_argument,
                      "invalid instance name \"" + instance + "\" for its vTPM: " + why +
                          "; use DNS labels (a-z, 0-9, '-') joined by '.'")
        .with("instance", instance);
  };
  if (instance.empty() || instance.size() > 200) return bad("it is empty or too long");
  size_t label = 0;
  for (size_t i = 0; i <= instance.size(); ++i) {
    char c = i < instance.size() ? instance[i] : '.';
    if (c == '.') {
      if (label == 0) return bad("it has an empty label (leading, trailing or double '.')");
      if (instance[i - 1] == '-' || instance[i - label] == '-') {
        return bad("a label starts or ends with '-'");
      }
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return bad(std::string("it contains the character '") + c + "'");
    if (++label > 63) return bad("a label is longer than 63 characters");
  }
  return ok();
}

Result<TpmPaths> paths_for(const TpmSettings& settings, const std::string& instance) {
  SEED_TRY(validate_instance(instance));
  TpmPaths p;
  p.instance = instance;
  p.dir = settings.state_root + "/" + instance;
  p.state = p.dir + "/state";
  p.backup = p.dir + "/state.backup";
  p.run_dir = settings.run_root + "/" + instance;
  p.ctrl_socket = p.run_dir + "/ctrl.sock";
  p.check_socket = p.run_dir + "/check.sock";
  p.log = p.run_dir + "/swtpm.log";
  return p;
}

Error tag(Error e, const std::string& instance) {
  e.with("instance", instance);
  if (!e.get("stage")) e.with("stage", "tpm");
  return e;
}

}  // namespace seed::tpm
