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
  // `webhook_base_url` is where forges reach seedd's public listener ("https://seed.example.org"):
  // `webhook` prints <base>/webhook/<id>.
  TenantCommands(reconcile::Service& service, const Silo& silo, std::string webhook_base_url = {})
      : service_(service), silo_(silo), access_(service, silo), webhook_base_url_(std::move(webhook_base_url)) {}

  // Runs a parsed command that is not a git transfer; returns the exit status. `cancelled`
  // becomes true when the client goes away (it ends `logs -f`).
  int run(const Command& command, const KeyIdentity& who, CommandOutput& output, const std::atomic<bool>& cancelled);

  // `console`: the instance the key may act on, its console opened with the client's terminal.
  // (run() answers a console command that came without a terminal.) `instance` is set to the
  // resolved "name.namespace" for the audit record.
  Result<std::unique_ptr<reconcile::ConsoleSession>> open_console(const Command& command, const KeyIdentity& who,
                                                                  const reconcile::ConsoleRequest& request,
                                                                  std::string& instance);
  // `exec`: the instance the key may act on (strangers: "not found"), the command started in it.
  // `instance` is set as for open_console.
  Result<std::unique_ptr<reconcile::ExecSession>> open_exec(const Command& command, const KeyIdentity& who,
                                                            std::string& instance);

 private:
  static void count_command(CommandKind kind, const char* outcome);  // seed_ssh_commands_total
  Status webhook(const Command& c, const KeyIdentity& who, CommandOutput& output);
  Status plant(const Command& c, const KeyIdentity& who, CommandOutput& output);
  Status status(const Command& c, const KeyIdentity& who, CommandOutput& output);
  Status logs(const Command& c, const KeyIdentity& who, CommandOutput& output, const std::atomic<bool>& cancelled);
  Status restart(const Command& c, const KeyIdentity& who, CommandOutput& output);
  Status keys(const Command& c, const KeyIdentity& who, CommandOutput& output);
  Status console_without_terminal(const Command& c, const KeyIdentity& who);

  reconcile::Service& service_;
  const Silo& silo_;
  Access access_;
  std::string webhook_base_url_;
};

}  // namespace seed::sshcli
