#include "sshcli/command_line.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "common/silo_repo_name.hpp"
#include "common/time_text.hpp"

namespace seed::sshcli {
namespace {

Error usage(std::string message) {
  return make_error(Errc::invalid_argument, std::move(message))
      .with("stage", "command")
      .with("hint", "run `ssh <node> help` for the commands and their options");
}

struct Spec {
  std::string_view name;
  CommandKind kind;
  size_t min_args;
  size_t max_args;
  std::string_view usage;
};

constexpr Spec kSpecs[] = {
    {"help", CommandKind::help, 0, 0, "help [--json]"},
    {"plant", CommandKind::plant, 2, 2, "plant <flake-uri> <invite-code> [--json]"},
    {"status", CommandKind::status, 0, 1, "status [repo] [--json]"},
    {"logs", CommandKind::logs, 1, 1,
     "logs <[repo/]instance> [-f] [--lines N] [--unit NAME] [--since 10m|1h|RFC3339] [--boot 0|-1|...] [--json]"},
    {"restart", CommandKind::restart, 1, 1, "restart <[repo/]instance> [--json]"},
    {"keys", CommandKind::keys, 1, 1, "keys <[repo/]instance> [--json]"},
    {"webhook", CommandKind::webhook, 1, 1, "webhook <repo> [--rotate] [--json]"},
    {"console", CommandKind::console, 1, 1, "console <[repo/]instance> (with ssh -t)"},
    {"exec", CommandKind::exec, 1, 1, "exec <[repo/]instance> -- CMD [ARGS...]"},
};

Result<size_t> parse_lines(std::string_view s) {
  size_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || n == 0 || n > kMaxLogLines) {
    return usage("--lines takes a number from 1 to " + std::to_string(kMaxLogLines) + ", not '" +
                 std::string(s) + "'");
  }
  return n;
}

Result<int> parse_boot(std::string_view s) {
  int n = 1;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || n > 0 || n < -1000) {
    return usage("--boot takes 0 (the current boot), -1 (the one before) and so on, not '" + std::string(s) + "'");
  }
  return n;
}

Result<std::string> parse_unit(std::string_view s) {
  bool ok = !s.empty() && s.size() <= 256;
  for (char ch : s) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || std::string_view("@._-:\\").find(ch) != std::string_view::npos);
  if (!ok) return usage("--unit takes a systemd unit name like nginx or nginx.service, not '" + std::string(s) + "'");
  return std::string(s);
}

Result<std::string> parse_since_flag(std::string_view s) {
  // Checked now (a bad value is a usage error before anything runs); resolved against the
  // clock when the command runs.
  if (auto r = parse_since(s, 0); !r) return usage(r.error().message);
  return std::string(s);
}

Result<Command> parse_git(CommandKind kind, const std::vector<std::string>& words) {
  if (words.size() != 2) {
    return usage(words[0] + " takes exactly one repository path (git sends it; use `git push <node>:NAME.git`)");
  }
  Command c;
  c.kind = kind;
  c.repo = SEED_TRY(silo_repo_name(words[1]));
  return c;
}

}  // namespace

Result<std::vector<std::string>> split_words(std::string_view line) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  size_t i = 0;
  while (i < line.size()) {
    char c = line[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(word));
      word.clear();
      in_word = false;
      ++i;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      size_t close = line.find('\'', i + 1);
      if (close == std::string_view::npos) return usage("unterminated single quote in the command");
      word.append(line.substr(i + 1, close - i - 1));
      i = close + 1;
    } else if (c == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          closed = true;
          ++i;
          break;
        }
        // Inside double quotes a backslash escapes only these, as in sh.
        if (line[i] == '\\' && i + 1 < line.size() && std::string_view("\"\\$`").find(line[i + 1]) != std::string_view::npos) ++i;
        word.push_back(line[i++]);
      }
      if (!closed) return usage("unterminated double quote in the command");
    } else if (c == '\\') {
      if (i + 1 < line.size()) word.push_back(line[i + 1]);
      i += 2;
    } else {
      word.push_back(c);
      ++i;
    }
  }
  if (in_word) out.push_back(std::move(word));
  return out;
}

Result<std::string> silo_repo_name(std::string_view path) {
  std::string name(path);
  if (name.starts_with("/")) name.erase(0, 1);  // ssh://host:port/NAME.git sends "/NAME.git"
  if (name.ends_with("/")) name.pop_back();
  if (name.ends_with(".git")) name.resize(name.size() - 4);
  if (!is_silo_repo_name(name)) {
    return make_error(Errc::invalid_argument, "'" + std::string(path) + "' is not a valid Silo repository name")
        .with("stage", "silo")
        .with("hint", "names are " + std::string(kSiloRepoNameRule) + ", e.g. `git push <node>:my-app.git`");
  }
  return name;
}

Result<Command> parse_command(std::string_view line) {
  auto words = SEED_TRY(split_words(line));
  if (words.empty()) return Command{};
  if (words[0] == "git-receive-pack") return parse_git(CommandKind::receive_pack, words);
  if (words[0] == "git-upload-pack") return parse_git(CommandKind::upload_pack, words);

  if (words[0] == "-h" || words[0] == "--help") words[0] = "help";
  if (words[0] == "--json") words.insert(words.begin(), "help");  // `ssh node --json`
  const Spec* spec = nullptr;
  for (const auto& s : kSpecs) {
    if (s.name == words[0]) spec = &s;
  }
  if (spec == nullptr) {
    return usage("unknown command '" + words[0] + "' (commands: plant, status, logs, restart, keys, console, exec, webhook, help)");
  }

  Command c;
  c.kind = spec->kind;
  if (spec->kind == CommandKind::exec) {
    // Everything after `--` is the command, word for word (its own flags, a --json of its own).
    auto dashes = std::find(words.begin() + 1, words.end(), "--");
    if (dashes == words.end()) {
      return usage("exec needs `--` before the command; usage: " + std::string(spec->usage));
    }
    c.argv.assign(dashes + 1, words.end());
    if (c.argv.empty()) return usage("exec needs a command after `--`; usage: " + std::string(spec->usage));
    words.erase(dashes, words.end());
  }
  std::vector<std::string> args;
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--json") {
      c.json = true;
    } else if (spec->kind == CommandKind::webhook && w == "--rotate") {
      c.rotate = true;
    } else if (spec->kind == CommandKind::logs && (w == "-f" || w == "--follow")) {
      c.follow = true;
    } else if (spec->kind == CommandKind::logs && (w == "--lines" || w == "-n")) {
      if (i + 1 >= words.size()) return usage(w + " needs a number");
      c.lines = SEED_TRY(parse_lines(words[++i]));
    } else if (spec->kind == CommandKind::logs && w.starts_with("--lines=")) {
      c.lines = SEED_TRY(parse_lines(std::string_view(w).substr(8)));
    } else if (spec->kind == CommandKind::logs && (w == "--unit" || w == "-u" || w == "--since" || w == "--boot" || w == "-b")) {
      if (i + 1 >= words.size()) return usage(w + " needs a value; usage: " + std::string(spec->usage));
      const std::string& v = words[++i];
      if (w == "--since") c.since = SEED_TRY(parse_since_flag(v));
      else if (w == "--boot" || w == "-b") c.boot = SEED_TRY(parse_boot(v));
      else c.unit = SEED_TRY(parse_unit(v));
    } else if (spec->kind == CommandKind::logs && w.starts_with("--unit=")) {
      c.unit = SEED_TRY(parse_unit(std::string_view(w).substr(7)));
    } else if (spec->kind == CommandKind::logs && w.starts_with("--since=")) {
      c.since = SEED_TRY(parse_since_flag(std::string_view(w).substr(8)));
    } else if (spec->kind == CommandKind::logs && w.starts_with("--boot=")) {
      c.boot = SEED_TRY(parse_boot(std::string_view(w).substr(7)));
    } else if (w.size() > 1 && w.starts_with("-")) {
      return usage("unknown option '" + w + "'; usage: " + std::string(spec->usage));
    } else {
      args.push_back(w);
    }
  }
  if (args.size() < spec->min_args || args.size() > spec->max_args) {
    return usage("wrong number of arguments; usage: " + std::string(spec->usage));
  }
  if (c.follow && c.boot && *c.boot != 0) {
    return usage("-f follows the current boot only; drop -f to read --boot " + std::to_string(*c.boot));
  }
  switch (c.kind) {
    case CommandKind::plant:
      c.uri = args[0];
      c.invite = args[1];
      break;
    case CommandKind::status:
    case CommandKind::webhook:
      if (!args.empty()) c.repo = args[0];
      break;
    case CommandKind::logs:
    case CommandKind::restart:
    case CommandKind::keys:
    case CommandKind::console:
    case CommandKind::exec:
      c.target = args[0];
      break;
    default:
      break;
  }
  return c;
}

Error command_too_long(size_t bytes, size_t max_bytes) {
  return make_error(Errc::invalid_argument, "the command is " + std::to_string(bytes) +
                                                " bytes long; this node accepts at most " + std::to_string(max_bytes))
      .with("size", std::to_string(bytes))
      .with("hint", "run `help` for the commands");
}

}  // namespace seed::sshcli
