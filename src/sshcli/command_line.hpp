// The exec request of an SSH session, decoded into one typed command. Pure: no I/O, so every
// rule (quoting, flags, limits) is unit-tested.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace seed::sshcli {

enum class CommandKind { help, plant, status, logs, restart, keys, console, exec, webhook, receive_pack, upload_pack };

struct Command {
  CommandKind kind = CommandKind::help;
  bool json = false;
  std::string uri;     // plant
  std::string invite;  // plant
  std::string repo;    // status [repo], webhook <repo>; receive/upload-pack: the Silo repository name
  bool rotate = false; // webhook --rotate
  std::string target;  // logs/restart/keys/console/exec: "[repo/]instance"
  std::vector<std::string> argv;  // exec: the command after `--`, word for word
  bool follow = false; // logs -f
  size_t lines = 100;  // logs --lines N
  std::optional<std::string> unit;   // logs --unit NAME
  std::optional<std::string> since;  // logs --since 10m|1h|RFC3339 (checked; resolved when run)
  std::optional<int> boot;           // logs --boot N: 0 current, -1 previous, ...
};

constexpr size_t kMaxLogLines = 10000;

// Splits like a POSIX shell does for words (what OpenSSH's client sends is one string):
// 'single' and "double" quotes, backslash escapes; no expansion of any kind. Errc::invalid_argument
// for an unterminated quote.
Result<std::vector<std::string>> split_words(std::string_view line);

// Parses a whole exec command. An empty command is `help`. Git's own requests
// ("git-receive-pack 'my-app.git'") come here too and are checked for a valid Silo name.
Result<Command> parse_command(std::string_view line);

// A command longer than the node accepts (Errc::invalid_argument), refused before parsing.
Error command_too_long(size_t bytes, size_t max_bytes);

// A Silo repository name from what git sends: "my-app.git", "/my-app.git", "my-app" → "my-app".
// Rules (the same as `silo:NAME`): 1-63 of a-z 0-9 - _ ., not starting with '.' or '-', no "..".
Result<std::string> silo_repo_name(std::string_view git_path);

}  // namespace seed::sshcli
