// The audit record of console sessions (issue 14: every exec and console session is logged
// with the key's fingerprint and listed by seedctl). The audit log itself (AuditLog::begin /
// end) comes with `ssh <node> exec` on another branch; until the lead connects these two
// calls to it at merge, they write the same facts to seedd's structured log.
#pragma once

#include <cstdint>
#include <string>

namespace seed::sshcli {

// A console session began: who (key fingerprint), on which instance ("name.namespace"), and a
// short detail (the terminal). Returns the id record_console_session_end takes.
uint64_t record_console_session(const std::string& fingerprint, const std::string& instance, const std::string& detail);
// It ended, with the shell's exit status (-1: the client left, the shell was hung up).
void record_console_session_end(uint64_t id, int exit_code);

}  // namespace seed::sshcli
