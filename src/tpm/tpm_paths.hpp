// Where one instance's vTPM lives. Persistent (under seedd's state directory):
//   <state_root>/<instance>/state           swtpm's NVRAM (the TPM's identity: EK, seeds)
//   <state_root>/<instance>/state.backup    the last state that passed a health check
// Runtime (sockets, logs; gone after a reboot):
//   <run_root>/<instance>/ctrl.sock         swtpm's control channel, handed to the VMM
//   <run_root>/<instance>/check.sock(.ctrl) the private sockets of the pre-start health run
//   <run_root>/<instance>/swtpm.log
// The node's certificate authority for EK/platform certificates lives in <ca_dir>.
#pragma once

#include <string>

#include "common/error.hpp"

namespace seed::tpm {

struct TpmSettings {
  std::string state_root;
  std::string run_root;
  std::string ca_dir;
  std::string swtpm = "swtpm";
  std::string swtpm_setup = "swtpm_setup";
  std::string swtpm_localca = "/usr/bin/swtpm_localca";
};

struct TpmPaths {
  std::string instance;
  std::string dir;
  std::string state;
  std::string backup;
  std::string run_dir;
  std::string ctrl_socket;
  std::string check_socket;  // tcti-swtpm uses <path> and <path>.ctrl
  std::string log;
};

// Instance keys are DNS labels, optionally joined by '.' (e.g. "team.web"): no '/', "..",
// spaces or unicode, so they are safe as directory names. Errc::invalid_argument otherwise.
Status validate_instance(const std::string& instance);
Result<TpmPaths> paths_for(const TpmSettings& settings, const std::string& instance);

// Adds instance=<name> and stage=tpm so every failure names the instance.
Error tag(Error e, const std::string& instance);

}  // namespace seed::tpm
