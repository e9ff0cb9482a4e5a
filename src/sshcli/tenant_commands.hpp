// The tenant commands (plant, status, logs, restart, keys, help) for one authenticated key.
// Transport-free: output goes to a CommandOutput, so they are tested without SSH, and the
// session carries the bytes to the channel.
#pragma once

#include <atomic>
#include <string_view>

#include "reconcile/service.hpp"
#include "sshcli/access.hpp"
#include "sshcli/command_line.hpp"
#include "sshcli/identity.hpp"
#include "sshcli/silo.hpp"

namespace seed::sshcli {

class CommandOutput {
 public:
  virtual ~CommandOutput() = default;
  virtual void out(std::string_view data) = 0;
  virtual void err(std::string_view data) = 0;
};

// The help text (what a shell request prints too).
std::string help_text();

// Prints `error` as one stderr line (and, for --json, an error object on stdout); returns the
// exit status for it.
int report_error(const Error& error, bool json, CommandOutput& output);

class TenantCommands {
 public:
  TenantCommands(reconcile::Service& service, const Silo& silo) : service_(service), silo_(silo), access_(service, silo) {}

  // Runs a parsed command that is not a git transfer; returns the exit status. `cancelled`
  // becomes true when the client goes away (it ends `logs -f`).
  int run(const Command& command, const KeyIdentity& who, CommandOutput& output, const std::atomic<bool>& cancelled);

 private:
  static void count_command(CommandKind kind, const char* outcome);  // seed_ssh_commands_total
  Status plant(const Command& c, const KeyIdentity& who, CommandOutput& output);
  Status status(const Command& c, const KeyIdentity& who, CommandOutput& output);
  Status logs(const Command& c, const KeyIdentity& who, CommandOutput& output, const std::atomic<bool>& cancelled);
  Status restart(const Command& c, const KeyIdentity& who, CommandOutput& output);
  Status keys(const Command& c, const KeyIdentity& who, CommandOutput& output);

  reconcile::Service& service_;
  const Silo& silo_;
  Access access_;
};

}  // namespace seed::sshcli
