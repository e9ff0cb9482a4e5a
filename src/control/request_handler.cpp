#include "control/request_handler.hpp"

#include <time.h>

#include <sstream>

#include "common/fd.hpp"
#include "common/time_text.hpp"
#include "reconcile/instance_resolver.hpp"
#include "control/ssh_fingerprint.hpp"
#include "reconcile/service_json.hpp"

namespace seed::control {
namespace {

using reconcile::InstanceId;
using reconcile::resolve_instance;

std::string format_time(int64_t unix_seconds) {
  if (unix_seconds == 0) return "never";
  time_t t = static_cast<time_t>(unix_seconds);
  tm parts{};
  gmtime_r(&t, &parts);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &parts);
  return buf;
}

// What to do next, for errors that arrive without a hint of their own: each must fit every
// error of its code (a conflict may be an ambiguous name, whose error carries its own hint,
// or a vTPM state, or a volume).
std::string default_hint(Errc code) {
  switch (code) {
    case Errc::not_found: return "`seedctl status` lists what is planted";
    case Errc::invalid_argument: return "check the argument and try again";
    case Errc::unavailable: return "check seedd's log: journalctl -u seedd";
    case Errc::timeout: return "try again; if it keeps timing out, check journalctl -u seedd";
    default: return "details are in seedd's log: journalctl -u seedd";
  }
}

Error finish_error(Error e, Command command) {
  if (!e.get("stage")) e.with("stage", to_string(command));
  if (!e.get("hint")) e.with("hint", default_hint(e.code));
  return e;
}

Result<Reply> plant(const Request& r, const HandlerContext& c, Session& session) {
  auto view = SEED_TRY(c.service.plant(r.uri, "seedctl", [&](const reconcile::Progress& p) {
    session.progress(p);
  }));
  std::string text = "planted " + view.record.canonical + "\n" + reconcile::status_text({view});
  return Reply{reconcile::to_json(view), std::move(text)};
}

Result<Reply> status(const Request& r, const HandlerContext& c) {
  std::optional<std::string_view> source;
  if (!r.source.empty()) source = r.source;
  auto sources = SEED_TRY(c.service.status(source));
  return Reply{reconcile::status_json(sources), reconcile::status_text(sources)};
}

Result<Reply> logs(const Request& r, const HandlerContext& c, Session& session) {
  InstanceId id = SEED_TRY(resolve_instance(r.instance, c.service));
  reconcile::LogQuery query;
  query.lines = r.lines;
  if (!r.unit.empty()) query.unit = r.unit;
  if (r.since_us != 0) query.since_us = r.since_us;
  if (r.boot <= 0) query.boot = static_cast<int>(r.boot);
  auto entries = SEED_TRY(c.service.logs(id, query));
  if (!r.follow) {
    std::string text;
    for (const auto& e : entries) text += reconcile::log_line(e) + "\n";
    return Reply{reconcile::logs_json(id, entries), std::move(text)};
  }
  // Following: the tail first, then whatever arrives, all as data lines, until the client
  // hangs up (then nobody reads the result) or seedd stops.
  for (const auto& e : entries) session.data(reconcile::log_line(e) + "\n");
  SEED_TRY(c.service.follow_logs(
      id, query, [&](const reconcile::LogEntry& e) { session.data(reconcile::log_line(e) + "\n"); },
      session.cancelled()));
  return Reply{{{"instance", id.str()}, {"followed", true}}, ""};
}

Result<Reply> restart(const Request& r, const HandlerContext& c, Session& session) {
  InstanceId id = SEED_TRY(resolve_instance(r.instance, c.service));
  SEED_TRY(c.service.restart(id, [&](const reconcile::Progress& p) { session.progress(p); }));
  return Reply{{{"instance", id.str()}, {"restarted", true}}, "restarted " + id.str() + "\n"};
}

Result<Reply> unplant(const Request& r, const HandlerContext& c) {
  SEED_TRY(c.service.unplant(r.source));
  return Reply{{{"source", r.source}, {"unplanted", true}},
               "unplanted " + r.source + ": its instances are stopped, their volumes kept\n"};
}

Result<Reply> quarantine_list(const HandlerContext& c) {
  auto entries = SEED_TRY(c.service.quarantine_list());
  std::ostringstream text;
  if (entries.empty()) text << "nothing is quarantined\n";
  for (const auto& e : entries) {
    text << e.instance << "  until " << format_time(e.until) << "  " << e.toplevel << "\n"
         << "  " << e.reason << "\n";
  }
  return Reply{reconcile::quarantine_json(entries), text.str()};
}

Result<Reply> quarantine_clear(const Request& r, const HandlerContext& c) {
  std::optional<std::string> toplevel;
  if (!r.all) toplevel = r.toplevel;
  int cleared = SEED_TRY(c.service.quarantine_clear(toplevel));
  if (toplevel && cleared == 0) {
    return make_error(Errc::not_found, r.toplevel + " is not quarantined")
        .with("stage", "quarantine")
        .with("hint", "`seedctl quarantine list` shows what is");
  }
  std::string text = "cleared " + std::to_string(cleared) + " quarantine entr" + (cleared == 1 ? "y" : "ies") +
                     "; the next deploy may use " + (cleared == 1 ? "it" : "them") + " again\n";
  return Reply{{{"cleared", cleared}}, std::move(text)};
}

Result<Reply> invite_create(const Request& r, const HandlerContext& c) {
  auto invite = SEED_TRY(c.service.create_invite(static_cast<unsigned>(r.uses), r.expires_at));
  std::string text = invite.code + "\n  " + std::to_string(invite.uses_left) + " use" +
                     (invite.uses_left == 1 ? "" : "s") + ", expires " + format_time(invite.expires_at) +
                     "\n  a tenant plants with: ssh <node> plant <uri> " + invite.code + "\n";
  return Reply{{{"code", invite.code}, {"uses_left", invite.uses_left}, {"expires_at", invite.expires_at}},
               std::move(text)};
}

Result<Reply> ssh_host_key(const HandlerContext& c) {
  if (c.ssh_host_key_path.empty()) {
    return make_error(Errc::unavailable, "seedd has no SSH host key path configured")
        .with("stage", "ssh-host-key")
        .with("hint", "set state_dir in seedd's config");
  }
  auto fp = SEED_TRY(ssh_fingerprint_of_file(c.ssh_host_key_path));
  return Reply{{{"type", fp.type}, {"fingerprint", fp.fingerprint}, {"path", c.ssh_host_key_path}},
               fp.fingerprint + " (" + fp.type + ")\n"};
}

// The internal CA's root as PEM (what the node owner's devices trust), read from the file
// seedd's API wrote when it made the CA: `seedctl ca > seed-root.pem` exports it.
Result<Reply> ca_root(const HandlerContext& c) {
  auto pem = read_file(c.ca_root_path);
  if (c.ca_root_path.empty() || !pem) {
    return make_error(Errc::not_found, "this node has no internal CA root")
        .with("stage", "ca")
        .with("hint", "the internal CA exists with acme.upstream = \"internal\" (services.seed.acme.upstream) "
                      "once seedd has started; with an upstream ACME CA, devices trust that CA instead");
  }
  return Reply{{{"pem", *pem}, {"path", c.ca_root_path}}, *pem};
}

// The session audit (common/audit_log.hpp): every exec and console session tenants opened,
// oldest first, with the key, the instance, the command and how it ended.
Result<Reply> sessions(const HandlerContext& c) {
  if (c.audit == nullptr) {
    return make_error(Errc::unavailable, "this seedd keeps no session audit")
        .with("stage", "sessions")
        .with("hint", "seedd records sessions when its SSH front end runs (services.seed.sshPort)");
  }
  auto entries = SEED_TRY(c.audit->list());
  auto when = [](int64_t ms) {
    std::string t = format_rfc3339_us(ms * 1000);
    return t.substr(0, t.find('.')) + "Z";
  };
  nlohmann::json list = nlohmann::json::array();
  std::string text;
  for (const auto& e : entries) {
    nlohmann::json j = {{"id", e.id},           {"kind", e.kind},     {"key", e.fingerprint},
                        {"instance", e.instance}, {"detail", e.detail}, {"started_ms", e.started_ms},
                        {"ended_ms", nullptr},    {"exit", nullptr}};
    text += when(e.started_ms) + "  " + e.kind + "  " + e.instance + "  " + e.fingerprint + "  " + e.detail + "  ";
    if (e.ended_ms) {
      j["ended_ms"] = *e.ended_ms;
      j["exit"] = e.exit_code.value_or(-1);
      const int code = e.exit_code.value_or(-1);
      text += code < 0 ? "client left (killed)" : "exit " + std::to_string(code);
      text += " after " + std::to_string((*e.ended_ms - e.started_ms) / 1000) + " s\n";
    } else {
      text += "open (or seedd stopped before it ended)\n";
    }
    list.push_back(std::move(j));
  }
  if (entries.empty()) text = "no exec or console sessions recorded\n";
  return Reply{{{"sessions", std::move(list)}}, std::move(text)};
}

// The shoot pool (docs/shoots.md): per tier its template and clones, and the node-wide counts
// the caps apply to. A node without shoots answers enabled false, not an error.
Result<Reply> shoots(const HandlerContext& c) {
  auto view = SEED_TRY(c.service.shoot_pool());
  nlohmann::json tiers = nlohmann::json::array();
  std::ostringstream text;
  if (!view.enabled) {
    text << "shoots are off on this node (seedd.json: shoot.image)\n";
  } else {
    text << "shoot VMs " << view.vms << "/" << view.max_vms << ", memory " << view.memory_mib << "/"
         << view.max_memory_mib << " MiB, queued " << view.queued << "\n";
    text << "TIER        CPU  MEMORY  TEMPLATE  READY  RESTORING  RUNNING  RESTORES  SERVED  WAITS\n";
  }
  for (const auto& t : view.tiers) {
    tiers.push_back({{"name", t.name},
                     {"vcpus", t.vcpus},
                     {"memory_mib", t.memory_mib},
                     {"target", t.target},
                     {"template", t.template_state},
                     {"template_error", t.template_error},
                     {"template_origin", t.template_origin},
                     {"ready", t.ready},
                     {"restoring", t.restoring},
                     {"running", t.running},
                     {"restores", t.restores},
                     {"served", t.served},
                     {"waits", t.waits}});
    // A ready template shows where it came from: built at this start, reused, or rebuilt.
    const std::string& state = t.template_state == "ready" && !t.template_origin.empty() ? t.template_origin
                                                                                           : t.template_state;
    char line[200];
    std::snprintf(line, sizeof line, "%-11s %3u  %6llu  %-8s  %2u/%-2u  %9u  %7u  %8llu  %6llu  %5llu\n", t.name.c_str(),
                  t.vcpus, static_cast<unsigned long long>(t.memory_mib), state.c_str(), t.ready,
                  t.target, t.restoring, t.running, static_cast<unsigned long long>(t.restores),
                  static_cast<unsigned long long>(t.served), static_cast<unsigned long long>(t.waits));
    text << line;
    if (!t.template_error.empty()) text << "  template of " << t.name << " failed: " << t.template_error << "\n";
  }
  nlohmann::json result = {{"enabled", view.enabled},
                           {"vms", view.vms},
                           {"max_vms", view.max_vms},
                           {"memory_mib", view.memory_mib},
                           {"max_memory_mib", view.max_memory_mib},
                           {"queued", view.queued},
                           {"tiers", std::move(tiers)}};
  return Reply{std::move(result), text.str()};
}

Result<Reply> dispatch(const Request& r, const HandlerContext& c, Session& session) {
  switch (r.command) {
    case Command::plant: return plant(r, c, session);
    case Command::status: return status(r, c);
    case Command::logs: return logs(r, c, session);
    case Command::restart: return restart(r, c, session);
    case Command::unplant: return unplant(r, c);
    case Command::quarantine_list: return quarantine_list(c);
    case Command::quarantine_clear: return quarantine_clear(r, c);
    case Command::invite_create: return invite_create(r, c);
    case Command::ssh_host_key: return ssh_host_key(c);
    case Command::ca: return ca_root(c);
    case Command::sessions: return sessions(c);
    case Command::shoots: return shoots(c);
  }
  return make_error(Errc::internal, "unhandled command");
}

}  // namespace

Result<Reply> handle_request(const Request& request, const HandlerContext& context, Session& session) {
  auto reply = dispatch(request, context, session);
  if (!reply) return finish_error(std::move(reply).error(), request.command);
  return reply;
}

}  // namespace seed::control
