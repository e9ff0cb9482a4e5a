#include "seedctl/cli_args.hpp"

#include <charconv>
#include <optional>
#include <set>

#include "common/time_text.hpp"

namespace seed::seedctl {
namespace {

using control::Command;

Error usage(std::string message) { return make_error(Errc::invalid_argument, std::move(message)).with("stage", "usage"); }

Result<uint64_t> parse_count(const std::string& option, const std::string& text, uint64_t max) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v == 0 || v > max) {
    return usage(option + " wants a whole number from 1 to " + std::to_string(max) + ", not \"" + text + "\"");
  }
  return v;
}

// Which options each command takes; anything else is a usage error, not silently ignored.
std::set<std::string> allowed_options(Command c) {
  switch (c) {
    case Command::logs: return {"--lines", "-f", "--unit", "--since", "--boot"};
    case Command::quarantine_clear: return {"--all"};
    case Command::invite_create: return {"--uses", "--expires"};
    default: return {};
  }
}

}  // namespace

std::string usage_text() {
  return "usage: seedctl [--socket PATH] COMMAND [--json]\n"
         "  plant <uri>                           plant a flake and deploy it (shows progress)\n"
         "  status [source]                       every source and instance, or one source\n"
         "  logs <instance> [-f] [--lines N] [--unit NAME] [--since 10m|1h|RFC3339] [--boot 0|-1|...]\n"
         "                                        console lines and journal entries in order (-f: keep following)\n"
         "  restart <instance>                    restart an instance (clears failed)\n"
         "  unplant <source>                      stop a source's instances, keep volumes\n"
         "  quarantine list                       toplevels that failed health and are held back\n"
         "  quarantine clear <toplevel>|--all     allow them again\n"
         "  invite create [--uses N] [--expires 24h|7d|UNIX-SECONDS]\n"
         "                                        a code a tenant plants with over SSH\n"
         "  ssh-host-key                          the SSH host key's SHA256 fingerprint\n"
         "  ca                                    the internal CA's root certificate (PEM) for your devices\n"
         "  sessions                              every exec and console session tenants opened (audit)\n"
         "  shoots                                the shoot pool: tiers, templates, clones, memory\n"
         "<instance> is name, name.namespace or source/name. --json prints the result as JSON.\n"
         "The socket defaults to " + std::string(default_socket) + ".\n"
         "Exit codes (as ssh <node> uses them): 0 ok, 1 failed, 2 usage or invalid input,\n"
         "3 permission denied, 4 not found, 5 unavailable (seedd unreachable, busy): retry later,\n"
         "6 conflict (already exists, in use).\n";
}

Result<CliOptions> parse_cli(const std::vector<std::string>& args, int64_t now) {
  CliOptions o;
  std::vector<std::string> words;
  std::set<std::string> seen;
  std::optional<std::string> lines, uses, expires, unit, since, boot;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> Result<std::string> {
      if (i + 1 >= args.size()) return usage(a + " needs a value");
      return args[++i];
    };
    if (a == "-h" || a == "--help") {
      o.help = true;
      return o;
    }
    if (a == "--socket") o.socket = SEED_TRY(value());
    else if (a == "--json") o.json = true;
    else if (a == "-f" || a == "--follow") seen.insert("-f");
    else if (a == "--all") seen.insert(a);
    else if (a == "--lines") lines = SEED_TRY(value()), seen.insert(a);
    else if (a == "--unit") unit = SEED_TRY(value()), seen.insert(a);
    else if (a == "--since") since = SEED_TRY(value()), seen.insert(a);
    else if (a == "--boot") boot = SEED_TRY(value()), seen.insert(a);
    else if (a == "--uses") uses = SEED_TRY(value()), seen.insert(a);
    else if (a == "--expires") expires = SEED_TRY(value()), seen.insert(a);
    else if (a.size() > 1 && a[0] == '-') return usage("unknown option " + a);
    else words.push_back(a);
  }
  if (words.empty()) return usage("no command given");
  auto& r = o.request;
  const std::string& cmd = words[0];
  size_t want = 1;  // words the command takes, itself included
  if (cmd == "plant") r.command = Command::plant, want = 2;
  else if (cmd == "status") r.command = Command::status, want = words.size() >= 2 ? 2 : 1;
  else if (cmd == "logs") r.command = Command::logs, want = 2;
  else if (cmd == "restart") r.command = Command::restart, want = 2;
  else if (cmd == "unplant") r.command = Command::unplant, want = 2;
  else if (cmd == "ssh-host-key") r.command = Command::ssh_host_key;
  else if (cmd == "ca") r.command = Command::ca;
  else if (cmd == "sessions") r.command = Command::sessions;
  else if (cmd == "shoots") r.command = Command::shoots;
  else if (cmd == "quarantine" || cmd == "invite") {
    if (words.size() < 2) return usage(cmd + " needs a subcommand");
    const std::string& sub = words[1];
    if (cmd == "quarantine" && sub == "list") r.command = Command::quarantine_list, want = 2;
    else if (cmd == "quarantine" && sub == "clear") r.command = Command::quarantine_clear, want = seen.count("--all") ? 2 : 3;
    else if (cmd == "invite" && sub == "create") r.command = Command::invite_create, want = 2;
    else return usage("unknown subcommand \"" + cmd + " " + sub + "\"");
  } else {
    return usage("unknown command \"" + cmd + "\"");
  }
  if (words.size() < want) {
    if (r.command == Command::quarantine_clear) return usage("quarantine clear needs a toplevel or --all");
    return usage(cmd + " needs " + (want - words.size() == 1 ? "an argument" : "more arguments"));
  }
  if (words.size() > want) return usage("unexpected argument \"" + words[want] + "\"");
  auto allowed = allowed_options(r.command);
  for (const auto& opt : seen) {
    if (!allowed.count(opt)) return usage(opt + " does not apply to " + cmd);
  }
  switch (r.command) {
    case Command::plant: r.uri = words[1]; break;
    case Command::status: r.source = want == 2 ? words[1] : ""; break;
    case Command::logs:
      r.instance = words[1];
      r.follow = seen.count("-f") != 0;
      if (lines) r.lines = SEED_TRY(parse_count("--lines", *lines, control::max_log_lines));
      if (unit) {
        if (unit->empty()) return usage("--unit wants a unit name like nginx or nginx.service");
        r.unit = *unit;
      }
      if (since) {
        auto at = parse_since(*since, now * 1000000);
        if (!at) return usage(at.error().message);
        r.since_us = *at;
      }
      if (boot) {
        int64_t n = 1;
        auto [end, ec] = std::from_chars(boot->data(), boot->data() + boot->size(), n);
        if (boot->empty() || ec != std::errc() || end != boot->data() + boot->size() || n > 0) {
          return usage("--boot wants 0 (the current boot), -1 (the one before) and so on, not \"" + *boot + "\"");
        }
        if (r.follow && n != 0) return usage("-f follows the current boot only; drop -f to read --boot " + *boot);
        r.boot = n;
      }
      break;
    case Command::restart: r.instance = words[1]; break;
    case Command::unplant: r.source = words[1]; break;
    case Command::quarantine_clear:
      r.all = seen.count("--all") != 0;
      if (!r.all) r.toplevel = words[2];
      break;
    case Command::invite_create:
      if (uses) r.uses = SEED_TRY(parse_count("--uses", *uses, control::max_invite_uses));
      if (expires) r.expires_at = SEED_TRY(control::parse_expiry(*expires, now));
      break;
    case Command::quarantine_list:
    case Command::ssh_host_key:
    case Command::ca:
    case Command::sessions:
    case Command::shoots: break;
  }
  return o;
}

}  // namespace seed::seedctl
