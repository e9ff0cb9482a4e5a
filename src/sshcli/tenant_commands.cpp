#include "sshcli/tenant_commands.hpp"

#include <nlohmann/json.hpp>

#include "common/time_text.hpp"
#include "common/exit_code.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "reconcile/flake_source.hpp"
#include "reconcile/service_json.hpp"
#include "sshcli/tenant_error.hpp"

namespace seed::sshcli {
namespace {

using nlohmann::json;

struct HelpEntry {
  const char* usage;
  const char* summary;
};

constexpr HelpEntry kHelp[] = {
    {"plant <flake-uri> <invite-code>", "register a repo (silo:NAME, github:OWNER/REPO, git+https://...) and deploy it"},
    {"status [repo]", "your repos and instances: state, generation, namespace, DNS names, last error"},
    {"logs <[repo/]instance> [-f] [--lines N] [--unit NAME] [--since 10m|1h|RFC3339] [--boot 0|-1|...]",
     "console lines and service journal of an instance, in order (last 100; -f follows)"},
    {"restart <[repo/]instance>", "restart an instance"},
    {"keys <[repo/]instance>", "the instance's age recipient (age1tpm1...) for sops"},
    {"webhook <repo> [--rotate]", "the URL and secret a GitHub/Forgejo/GitLab webhook redeploys the repo with"},
    {"console <[repo/]instance>", "an interactive root shell in the instance: ssh -t <node> console NAME (~. ends it)"},
    {"exec <[repo/]instance> -- CMD [ARGS...]",
     "run a command in the instance: stdin, stdout and stderr passed through, its exit status is ssh's"},
    {"help", "this text"},
};

void line(CommandOutput& o, const json& j) { o.out(j.dump() + "\n"); }

json instance_ref(const ResolvedInstance& r) {
  return {{"instance", r.instance.id.name}, {"namespace", r.instance.id.ns}, {"source", r.source.record.canonical}};
}

}  // namespace

std::string help_text() {
  std::string out = "Seed: manage your instances with the SSH key you push with.\n\nCommands:\n";
  for (const auto& h : kHelp) {
    std::string usage = h.usage;
    out += "  " + usage + std::string(usage.size() < 42 ? 42 - usage.size() : 1, ' ') + h.summary + "\n";
  }
  out += "\nEvery command takes --json for machine-readable output.\n"
         "Git hosting (Silo): git push <node>:NAME.git creates NAME on the first push (you own it);\n"
         "later pushes need a key in the repo's .authorized_keys. git clone <node>:NAME.git works for anyone.\n";
  return out;
}

int report_error(const Error& full, bool as_json, CommandOutput& o) {
  Error e = for_tenant(full);
  if (e.describe() != full.describe()) {
    // What the tenant was not shown stays in the node's log, for the node owner.
    log::info("sshcli.error_redacted", {{"code", to_string(full.code)}, {"error", full.describe()}});
  }
  std::string text = "error: " + e.message;
  auto stage = e.get("stage");
  auto hint = e.get("hint");
  if (stage || hint) {
    text += " (";
    if (stage) text += "stage " + std::string(*stage) + (hint ? "; " : "");
    if (hint) text += std::string(*hint);
    text += ")";
  }
  for (char& c : text) {
    if (c == '\n') c = ' ';  // one line, whatever a driver put into the message
  }
  o.err(text + "\n");
  if (as_json) {
    json context = json::object();
    for (const auto& [k, v] : e.context) context[k] = v;
    line(o, {{"schema", 1}, {"error", {{"code", std::string(to_string(e.code))}, {"message", e.message}, {"context", context}}}});
  }
  return exit_code(e.code);
}

int TenantCommands::run(const Command& c, const KeyIdentity& who, CommandOutput& o, const std::atomic<bool>& cancelled) {
  Status result;
  switch (c.kind) {
    case CommandKind::help:
      if (c.json) {
        json list = json::array();
        for (const auto& h : kHelp) list.push_back({{"usage", h.usage}, {"summary", h.summary}});
        line(o, {{"schema", 1}, {"commands", list}});
      } else {
        o.out(help_text());
      }
      count_command(c.kind, "ok");
      return 0;
    case CommandKind::plant: result = plant(c, who, o); break;
    case CommandKind::status: result = status(c, who, o); break;
    case CommandKind::logs: result = logs(c, who, o, cancelled); break;
    case CommandKind::restart: result = restart(c, who, o); break;
    case CommandKind::keys: result = keys(c, who, o); break;
    case CommandKind::webhook: result = webhook(c, who, o); break;
    case CommandKind::console: result = console_without_terminal(c, who); break;
    case CommandKind::exec:
    case CommandKind::receive_pack:
    case CommandKind::upload_pack:
      result = make_error(Errc::internal, "exec and git transfers are run by the session, not as tenant commands");
      break;
  }
  count_command(c.kind, result ? "ok" : "error");
  return result ? 0 : report_error(result.error(), c.json, o);
}

void TenantCommands::count_command(CommandKind kind, const char* outcome) {
  const char* name = "other";
  switch (kind) {
    case CommandKind::help: name = "help"; break;
    case CommandKind::plant: name = "plant"; break;
    case CommandKind::status: name = "status"; break;
    case CommandKind::logs: name = "logs"; break;
    case CommandKind::restart: name = "restart"; break;
    case CommandKind::keys: name = "keys"; break;
    case CommandKind::webhook: name = "webhook"; break;
    case CommandKind::console: name = "console"; break;
    case CommandKind::exec: name = "exec"; break;
    default: break;
  }
  metrics::global()
      .counter("seed_ssh_commands_total", "Tenant commands run over SSH, by command and outcome.",
               {{"command", name}, {"outcome", outcome}})
      .inc();
}

Status TenantCommands::plant(const Command& c, const KeyIdentity& who, CommandOutput& o) {
  auto source = SEED_TRY(reconcile::parse_flake_source(c.uri, silo_.root()));
  // Authority first, invite second: a caller who may not plant this source burns no invite.
  std::string keys = SEED_TRY(access_.authorized_keys(source.canonical));
  if (!authorized_keys_list(keys, who)) {
    return make_error(Errc::permission_denied, "your key " + who.fingerprint + " is not in .authorized_keys of " + source.canonical)
        .with("source", source.canonical)
        .with("stage", "plant")
        .with("hint", "add your public key (" + who.type + " ...) to .authorized_keys at the top of the default branch and push");
  }
  // Re-planting a source that is already planted (a retry after a failed deploy) needs no new
  // invite: the caller is authorized for it, and it takes no new place on the node.
  auto existing = service_.status(source.canonical);
  bool planted = existing && !existing->empty();
  if (!existing && existing.error().code != Errc::not_found) return std::move(existing).error();
  if (!planted) {
    if (auto used = service_.consume_invite(c.invite); !used) {
      // An unknown code is refused like a used or expired one: the caller lacks a valid invite
      // (exit 3, permission denied), it is not a thing that could be looked up.
      Error e = std::move(used).error();
      if (e.code == Errc::not_found) e.code = Errc::permission_denied;
      return e;
    }
  }

  auto progress = [&](const reconcile::Progress& p) {
    if (c.json) {
      line(o, {{"type", "progress"}, {"stage", p.stage}, {"message", p.message}});
    } else {
      o.out("[" + p.stage + "] " + p.message + "\n");
    }
  };
  auto view = for_tenant(SEED_TRY(service_.plant(source.canonical, who.fingerprint, progress)));
  if (c.json) {
    line(o, {{"type", "result"}, {"schema", 1}, {"source", reconcile::to_json(view)}});
  } else {
    o.out("planted " + view.record.canonical + "\n" + reconcile::status_text({view}));
  }
  for (const auto& i : view.instances) {
    if (i.state == reconcile::InstanceState::failed) {
      Error e = make_error(Errc::process_failed, "instance " + i.id.name + " failed" +
                                                     (i.failure ? " at stage " + i.failure->stage + ": " + i.failure->message : ""))
                    .with("hint", "`logs " + i.id.name + "` shows its console; push a fix to redeploy");
      if (i.failure) e.with("stage", i.failure->stage);
      return e;
    }
  }
  return ok();
}

Status TenantCommands::status(const Command& c, const KeyIdentity& who, CommandOutput& o) {
  auto sources = SEED_TRY(access_.visible(who, c.repo));
  for (auto& s : sources) s = for_tenant(std::move(s));
  if (c.json) {
    line(o, reconcile::status_json(sources));
  } else if (sources.empty()) {
    o.out("no planted repo lists your key " + who.fingerprint + " in its .authorized_keys\n");
    for (const auto& own : access_.owned_unlisted(who, c.repo)) {
      o.out("you own " + own.record.canonical + ", but it has no .authorized_keys listing your key: add your public key "
            "there and git push it to see and manage its instances\n");
    }
  } else {
    o.out(reconcile::status_text(sources));
  }
  return ok();
}

Status TenantCommands::webhook(const Command& c, const KeyIdentity& who, CommandOutput& o) {
  // Only a key the repo's .authorized_keys lists sees it; anyone else gets `not found`.
  auto sources = SEED_TRY(access_.visible(who, c.repo));
  if (sources.size() != 1) {
    return make_error(Errc::not_found, "no planted repo " + c.repo + " lists your key " + who.fingerprint)
        .with("repo", c.repo)
        .with("stage", "access")
        .with("hint", "`status` lists the repos your key may manage");
  }
  const std::string source = sources.front().record.canonical;
  if (webhook_base_url_.empty()) {
    // No public listener on this node: a secret without a URL forges can reach helps nobody.
    return make_error(Errc::unavailable, "this node takes no webhooks (its owner turned them off)")
        .with("stage", "webhook")
        .with("hint", "the node still fetches " + source + " periodically; `status` shows when it last did");
  }
  auto hook = SEED_TRY(service_.webhook(source, c.rotate));
  const std::string url = webhook_base_url_ + "/webhook/" + hook.hook;
  if (c.json) {
    line(o, {{"schema", 1}, {"source", source}, {"url", url}, {"secret", hook.secret}, {"rotated", c.rotate}});
    return ok();
  }
  o.out(std::string(c.rotate ? "new webhook of " : "webhook of ") + source + "\n" +
        "  payload URL:   " + url + "\n" +
        "  content type:  application/json\n" +
        "  secret:        " + hook.secret + "\n" +
        "  events:        push (GitHub: \"Just the push event\"; Forgejo/Gitea: push; GitLab: push events, the\n" +
        "                 secret as its secret token). A push to the default branch redeploys at once.\n" +
        (c.rotate ? "  the old URL and secret no longer work: update the forge's webhook\n" : ""));
  return ok();
}

Status TenantCommands::logs(const Command& c, const KeyIdentity& who, CommandOutput& o, const std::atomic<bool>& cancelled) {
  auto r = SEED_TRY(access_.resolve(who, c.target));
  reconcile::LogQuery query;
  query.lines = c.lines;
  query.unit = c.unit;
  query.boot = c.boot;
  if (c.since) query.since_us = SEED_TRY(parse_since(*c.since, now_unix_us()));
  auto entries = SEED_TRY(service_.logs(r.instance.id, query));
  if (c.json && !c.follow) {
    json j = instance_ref(r);
    j["schema"] = 1;
    j["lines"] = json::array();
    j["entries"] = json::array();
    for (const auto& e : entries) {
      j["lines"].push_back(reconcile::log_line(e));
      j["entries"].push_back(reconcile::to_json(e));
    }
    line(o, j);
    return ok();
  }
  // Text: one line per entry. --json -f: one entry object per line.
  auto emit = [&](const reconcile::LogEntry& e) {
    if (c.json) line(o, reconcile::to_json(e));
    else o.out(reconcile::log_line(e) + "\n");
  };
  for (const auto& e : entries) emit(e);
  if (!c.follow) return ok();
  return service_.follow_logs(r.instance.id, query, emit, cancelled);
}

Status TenantCommands::restart(const Command& c, const KeyIdentity& who, CommandOutput& o) {
  auto r = SEED_TRY(access_.resolve(who, c.target));
  // Said before the restart starts (it waits for the boot), then its progress as it happens;
  // --json stays one document.
  if (!c.json) o.out("restarting " + r.instance.id.name + " (" + r.source.record.canonical + ")\n");
  SEED_TRY(service_.restart(r.instance.id, [&](const reconcile::Progress& p) {
    if (!c.json) o.out("[" + p.stage + "] " + p.message + "\n");
  }));
  if (c.json) {
    json j = instance_ref(r);
    j["schema"] = 1;
    j["restarted"] = true;
    line(o, j);
  } else {
    o.out("restarted " + r.instance.id.name + "\n");
  }
  return ok();
}

Status TenantCommands::console_without_terminal(const Command& c, const KeyIdentity& who) {
  // Access first: a stranger hears "not found" whether or not they asked for a terminal.
  auto r = SEED_TRY(access_.resolve(who, c.target));
  return make_error(Errc::invalid_argument, "console needs a terminal, and this ssh asked for none")
      .with("instance", r.instance.id.name)
      .with("stage", "console")
      .with("hint", "run `ssh -t <node> console " + c.target + "` (-t asks for one)");
}

Result<std::unique_ptr<reconcile::ConsoleSession>> TenantCommands::open_console(const Command& c, const KeyIdentity& who,
                                                                                const reconcile::ConsoleRequest& request,
                                                                                std::string& instance) {
  auto r = SEED_TRY(access_.resolve(who, c.target));
  instance = r.instance.id.str();
  return service_.open_console(r.instance.id, request);
}

Result<std::unique_ptr<reconcile::ExecSession>> TenantCommands::open_exec(const Command& c, const KeyIdentity& who,
                                                                          std::string& instance) {
  auto r = access_.resolve(who, c.target);
  if (!r) {
    count_command(c.kind, "error");
    return std::move(r).error();
  }
  instance = r->instance.id.str();
  auto session = service_.open_exec(r->instance.id, {who.fingerprint, c.argv});
  count_command(c.kind, session ? "ok" : "error");
  return session;
}

Status TenantCommands::keys(const Command& c, const KeyIdentity& who, CommandOutput& o) {
  auto r = SEED_TRY(access_.resolve(who, c.target));
  std::string recipient = SEED_TRY(service_.tpm_recipient(r.instance.id));
  if (c.json) {
    json j = instance_ref(r);
    j["schema"] = 1;
    j["recipient"] = recipient;
    line(o, j);
  } else {
    o.out(recipient + "\n");
  }
  return ok();
}

}  // namespace seed::sshcli
