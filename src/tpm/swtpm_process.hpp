// Starting and stopping one `swtpm socket --tpm2` process. seedd binds the sockets itself and
// hands swtpm the listening fds (as it does for Cloud Hypervisor's API socket), so a client
// that connects right after start() queues in the backlog instead of racing swtpm's bind().
//
// Which socket goes where: both QEMU (`-chardev socket,path=…` + `-tpmdev emulator`) and
// Cloud Hypervisor (`--tpm socket=…`) are given the *control* socket. Over it they send
// CMD_INIT and pass the data channel's fd (CMD_SET_DATAFD), so a VM's swtpm needs no server
// socket. Only seedd's own health run adds a server socket, for tpm2-tss's swtpm TCTI, which
// expects the server at <path> and the control channel at <path>.ctrl.
#pragma once

#include <chrono>
#include <string>

#include "common/error.hpp"
#include "common/process.hpp"

namespace seed::tpm {

struct SwtpmLaunch {
  std::string swtpm = "swtpm";
  std::string state_dir;
  std::string ctrl_socket;
  std::string server_socket;  // empty: control channel only (what a VMM needs)
  std::string log_file;
  // Exit when the control connection closes: the VM's swtpm lives exactly as long as its VM.
  bool terminate_on_disconnect = false;
  // Initialise the TPM at start instead of waiting for CMD_INIT (health run only).
  bool init_at_start = false;
  // An fd the child keeps open for its whole life (the instance's vTPM lock), or -1.
  int hold_fd = -1;
  // The owner mark (SpawnOptions::owner) by which a restarted seedd finds an swtpm it died
  // too early to record (TpmManager::end_strays).
  std::string owner;
  // Killed when the thread that started it dies (PR_SET_PDEATHSIG): for the short health run,
  // which must not outlive a seedd killed in the middle of it.
  bool kill_with_parent = false;
};

// Errc::unavailable when swtpm is not installed; Errc::process_failed (with swtpm's log)
// when it exits right away, e.g. because another swtpm holds the state's lock.
Result<Child> start_swtpm(const SwtpmLaunch& launch);

// SIGTERM (swtpm saves its state and exits), SIGKILL after `grace`; removes the socket files.
void stop_swtpm(Child& child, const SwtpmLaunch& launch,
                std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

}  // namespace seed::tpm
