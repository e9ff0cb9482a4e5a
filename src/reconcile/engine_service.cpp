// The Service front: commands (plant, unplant, restart, …) and queries (status, logs, keys).
#include <arpa/inet.h>
#include <openssl/rand.h>

#include <cstring>

#include "common/proc_stat.hpp"
#include "common/digest.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "reconcile/clock.hpp"
#include "reconcile/engine.hpp"
#include "reconcile/guest_setup.hpp"
#include "reconcile/slot_record.hpp"
#include "tpm/age_recipient.hpp"
#include "vmm/console/console_log.hpp"
#include "vmm/console/log_store.hpp"
#include "vmm/vm_paths.hpp"

namespace seed::reconcile {

namespace {


// `bytes` random bytes from OpenSSL as lowercase base32 (URL- and header-safe).
Result<std::string> random_token(size_t bytes) {
  std::vector<uint8_t> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    return make_error(Errc::internal, "no randomness for a webhook secret");
  }
  return base32_lower(buf.data(), buf.size());
}

Error no_instance(const InstanceId& id) {
  return make_error(Errc::not_found, "no instance " + id.name + " in namespace " + id.ns)
      .with("hint", "see `status` for the planted instances");
}

}  // namespace

Result<SourceRecord> Engine::source_of(std::string_view uri) {
  auto parsed = SEED_TRY(parse_flake_source(uri, config_.silo_root));
  std::lock_guard db(store_mu_);
  auto rec = SEED_TRY(store_->source_by_namespace(parsed.ns));
  if (!rec || rec->canonical != parsed.canonical) {
    return make_error(Errc::not_found, parsed.canonical + " is not planted").with("hint", "plant it first");
  }
  return *rec;
}

Result<SourceView> Engine::plant(std::string_view uri, const std::string& planted_by, const ProgressFn& progress) {
  auto parsed = SEED_TRY(parse_flake_source(uri, config_.silo_root));
  {
    std::lock_guard db(store_mu_);
    SEED_TRY(store_->plant(parsed, planted_by, unix_now()));
    // Every non-Silo source gets its webhook now, so `webhook` only has to print it.
    if (parsed.kind != SourceKind::silo && !SEED_TRY(store_->webhook_of(parsed.canonical))) {
      SEED_TRY(store_->set_webhook(parsed.canonical, Webhook{parsed.canonical, SEED_TRY(random_token(20)),
                                                             SEED_TRY(random_token(32))},
                                   unix_now()));
    }
  }
  auto source = SEED_TRY(source_of(parsed.canonical));
  if (progress) progress({"fetch", "fetching " + source.canonical});
  {
    std::lock_guard lock(deploy_mu_);
    SEED_TRY(deploy(source, "plant", progress));
  }
  auto views = SEED_TRY(status(source.canonical));
  if (views.empty()) return make_error(Errc::internal, source.canonical + " vanished while planting");
  if (progress) progress({"done", source.canonical + " is planted"});
  return views.front();
}

Status Engine::unplant(std::string_view uri) {
  auto source = SEED_TRY(source_of(uri));
  std::lock_guard lock(deploy_mu_);
  {
    std::lock_guard s(state_mu_);
    desired_[source.ns].clear();
  }
  SEED_TRY(converge(source.ns, nullptr));  // stops every instance; volumes stay
  std::lock_guard s(state_mu_);
  desired_.erase(source.ns);
  std::lock_guard db(store_mu_);
  return store_->unplant(source.canonical);
}

Status Engine::trigger(std::string_view uri, std::string_view because) {
  auto source = SEED_TRY(source_of(uri));
  keys_.forget(source.canonical);  // a push may have changed who has access
  // Counted when queued (coalesced deploys still count each trigger), by the first word of
  // `because` (push, webhook, ...), so tests and the owner see what asked for redeploys.
  const std::string_view reason = because.substr(0, because.find(' '));
  metrics::global()
      .counter("seed_source_triggers_total", "Redeploys asked for, by what asked (push, webhook, ...)",
               {{"reason", std::string(reason.empty() ? "other" : reason)}})
      .inc();
  {
    std::lock_guard lock(state_mu_);
    queued_full_.emplace(source.canonical, std::string(because));
  }
  wake_.notify_all();
  return {};
}

Result<Webhook> Engine::webhook(std::string_view uri, bool rotate) {
  auto source = SEED_TRY(source_of(uri));
  auto parsed = SEED_TRY(parse_flake_source(source.canonical, config_.silo_root));
  if (parsed.kind == SourceKind::silo) {
    return make_error(Errc::invalid_argument, source.canonical + " is hosted on this node: a git push to it redeploys "
                                              "at once, no webhook needed")
        .with("stage", "webhook")
        .with("source", source.canonical);
  }
  std::lock_guard db(store_mu_);
  auto current = SEED_TRY(store_->webhook_of(source.canonical));
  if (current && !rotate) return *current;
  Webhook fresh{source.canonical, SEED_TRY(random_token(20)), SEED_TRY(random_token(32))};
  SEED_TRY(store_->set_webhook(source.canonical, fresh, unix_now()));
  log::info("webhook.created", {{"source", source.canonical}, {"rotated", current ? "yes" : "no"}});
  return fresh;
}

Result<std::optional<std::string>> Engine::webhook_secret(const std::string& hook) {
  std::lock_guard db(store_mu_);
  auto w = SEED_TRY(store_->webhook_by_hook(hook));
  if (!w) return std::optional<std::string>();
  return std::optional<std::string>(w->secret);
}

Status Engine::trigger_webhook(const std::string& hook, std::string_view because) {
  std::optional<Webhook> w;
  {
    std::lock_guard db(store_mu_);
    w = SEED_TRY(store_->webhook_by_hook(hook));
  }
  if (!w) return make_error(Errc::not_found, "no webhook " + hook).with("stage", "webhook");
  return trigger(w->canonical, because);
}

InstanceView Engine::view_of(const Live& live) {
  InstanceView v;
  v.id = live.id;
  v.source = live.source;
  v.restarts = live.crashes;
  v.shoots_ran = live.shoots_ran;
  v.shoots_running = live.shoots_running;
  v.failure = live.failure ? live.failure : live.port_conflict;
  v.dns_names.push_back(instance_fqdn(live.id, config_.domain));
  const Slot* shown = nullptr;
  for (const auto& s : live.slots) {
    if (s.routed) shown = &s;
  }
  if (shown == nullptr && !live.slots.empty()) shown = &live.slots.back();
  if (shown != nullptr) {
    v.generation = shown->generation;
    v.toplevel = shown->toplevel;
    v.ipv4 = shown->ipv4;
    v.ipv6 = shown->ipv6;
    v.started_at = shown->started_at;
  }
  for (const auto& d : desired_[live.id.ns]) {
    if (d.plan.id == live.id) v.desired_generation = d.plan.generation;
  }
  if (live.starting) v.state = InstanceState::starting;
  else if (live.failure && live.failure->stage == "runtime" && live.crashes > 0) v.state = InstanceState::failed;
  else if (shown && shown->vm && shown->routed) v.state = InstanceState::running;
  else if (shown && !shown->vm) v.state = InstanceState::restarting;
  else if (live.slots.empty()) v.state = v.desired_generation.empty() ? InstanceState::stopped : InstanceState::failed;
  else v.state = InstanceState::starting;
  return v;
}

Result<std::vector<SourceView>> Engine::status(std::optional<std::string_view> only) {
  std::vector<SourceRecord> sources;
  if (only) {
    sources.push_back(SEED_TRY(source_of(*only)));
  } else {
    std::lock_guard db(store_mu_);
    sources = SEED_TRY(store_->sources());
  }
  std::vector<SourceView> out;
  for (auto& rec : sources) {
    SourceView sv;
    std::map<std::string, Failure> failures;  // by instance name, one query per source
    {
      std::lock_guard db(store_mu_);
      sv.failure = SEED_TRY(store_->failure(rec.canonical));
      sv.deploys = SEED_TRY(store_->deploys(rec.canonical));
      failures = SEED_TRY(store_->instance_failures(rec.ns));
    }
    std::set<InstanceId> listed;
    {
      std::lock_guard lock(state_mu_);
      for (const auto& [id, live] : live_) {
        if (id.ns != rec.ns) continue;
        sv.instances.push_back(view_of(live));
        listed.insert(id);
      }
      // Desired instances that run nothing (never started, or failed before starting).
      for (const auto& d : desired_[rec.ns]) {
        if (listed.count(d.plan.id)) continue;
        Live empty;
        empty.id = d.plan.id;
        empty.source = rec.canonical;
        sv.instances.push_back(view_of(empty));
        listed.insert(d.plan.id);
      }
    }
    // Instances refused before they could run (bad meta, failed build).
    for (const auto& [name, f] : failures) {
      const InstanceId id{rec.ns, name};
      if (listed.count(id)) continue;
      InstanceView v;
      v.id = id;
      v.source = rec.canonical;
      v.state = InstanceState::failed;
      sv.instances.push_back(std::move(v));
    }
    for (auto& i : sv.instances) {
      if (!i.failure) {
        if (auto f = failures.find(i.id.name); f != failures.end()) i.failure = f->second;
      }
      if (i.failure && i.state == InstanceState::stopped) i.state = InstanceState::failed;
    }
    std::sort(sv.instances.begin(), sv.instances.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    sv.record = std::move(rec);
    out.push_back(std::move(sv));
  }
  return out;
}

Result<std::string> Engine::authorized_keys(std::string_view uri) {
  auto parsed = SEED_TRY(parse_flake_source(uri, config_.silo_root));
  return keys_.get(parsed.canonical, [&]() -> Result<std::string> {
    auto path = SEED_TRY(nix_.source_path(nix_ref_now({parsed.canonical, parsed.ns, parsed.nix_ref, "", 0, 0, ""})));
    auto text = read_file(path + "/.authorized_keys");
    return text ? *text : std::string();
  });
}

Result<Live*> Engine::find_live(const InstanceId& id) {
  auto it = live_.find(id);
  if (it == live_.end()) return no_instance(id);
  return &it->second;
}

Status Engine::restart(const InstanceId& id, const ProgressFn& progress) {
  std::lock_guard lock(deploy_mu_);
  std::vector<std::string> generations;
  {
    std::lock_guard s(state_mu_);
    Live* live = SEED_TRY(find_live(id));
    for (const auto& slot : live->slots) generations.push_back(slot.generation);
    live->crashes = 0;
    live->restart_after.reset();
    live->failure.reset();
  }
  {
    std::lock_guard db(store_mu_);
    (void)store_->clear_failure(id.str());
  }
  if (progress) progress({"stop", "stopping " + id.name});
  for (const auto& g : generations) SEED_TRY(stop_vm(id, g));
  return converge(id.ns, progress);
}

namespace {

LogEntry to_entry(const vmm::LogRecord& r, int boot) {
  LogEntry e;
  e.source = std::string(vmm::to_string(r.source));
  e.boot = boot;
  e.timestamp_us = r.timestamp_us;
  e.received_us = r.received_us;
  e.unit = r.unit;
  e.priority = r.priority;
  e.boot_id = r.boot_id;
  e.message = r.message;
  e.raw = r.raw;
  return e;
}

vmm::LogSelection to_selection(const LogQuery& q) {
  vmm::LogSelection s;
  s.lines = q.lines;
  s.unit = q.unit;
  s.since_us = q.since_us;
  s.boot = q.boot;
  return s;
}

}  // namespace

Result<vmm::VmPaths> Engine::console_of(const InstanceId& id) {
  std::string vm_name;
  {
    std::lock_guard lock(state_mu_);
    Live* live = SEED_TRY(find_live(id));
    for (const auto& s : live->slots) {
      if (vm_name.empty() || s.routed) vm_name = s.vm_name;
    }
  }
  if (vm_name.empty()) return make_error(Errc::not_found, id.str() + " has no VM (yet); no console to show");
  return vmm::VmPaths::for_vm(parts_.runner.runtime_dir, parts_.runner.state_dir, vm_name);
}

Result<std::vector<LogEntry>> Engine::logs(const InstanceId& id, const LogQuery& query) {
  auto paths = SEED_TRY(console_of(id));
  std::vector<vmm::LogRecord> records = SEED_TRY(vmm::read_log_records(paths.log_store()));
  if (records.empty()) {
    // A VM started before the log store existed has only its console log: show that.
    for (auto& line : SEED_TRY(vmm::console_tail(paths.console_log(), query.lines))) {
      vmm::LogRecord r;
      r.message = std::move(line);
      records.push_back(std::move(r));
    }
  }
  std::vector<LogEntry> out;
  for (const auto& s : vmm::select_records(records, to_selection(query))) out.push_back(to_entry(s.record, s.boot));
  return out;
}

Status Engine::follow_logs(const InstanceId& id, const LogQuery& query,
                           const std::function<void(const LogEntry&)>& on_entry,
                           const std::atomic<bool>& cancelled) {
  auto paths = SEED_TRY(console_of(id));
  return vmm::follow_log_records(
      paths.log_store(), to_selection(query),
      [&](const vmm::SelectedRecord& s) { on_entry(to_entry(s.record, 0)); }, [&] { return !cancelled.load(); });
}

Result<std::string> Engine::tpm_recipient(const InstanceId& id) {
  {
    std::lock_guard lock(state_mu_);
    SEED_TRY(find_live(id));
  }
  return tpm::read_age_recipient(instance_dir(config_.state_dir, id) + "/tpm-share", id.str());
}

Result<std::vector<InstanceUsage>> Engine::usage() {
  std::lock_guard lock(state_mu_);
  std::vector<InstanceUsage> out;
  for (auto& [id, live] : live_) {
    InstanceUsage u;
    u.id = id;
    u.source = live.source;
    bool any = false;
    for (auto& slot : live.slots) {
      if (!slot.vm) continue;
      if (auto p = read_process_usage(slot.vm->vmm().pid())) {
        u.cpu_seconds += p->cpu_seconds;
        u.memory_bytes += p->memory_bytes;
        any = true;
      }
    }
    // Volumes belong to the instance, not a slot: the routed (or last) slot's meta names them.
    const Slot* shown = live.slots.empty() ? nullptr : &live.slots.back();
    for (const auto& slot : live.slots) {
      if (slot.routed) shown = &slot;
    }
    if (shown != nullptr && parts_.volumes) {
      for (const auto& [volume, meta] : shown->meta.storage) {
        if (auto v = parts_.volumes->usage(storage::VolumeId{id.ns, id.name, volume})) {
          u.volumes.push_back({volume, v->size_bytes, v->used_bytes});
          any = true;
        }
      }
    }
    if (any) out.push_back(std::move(u));
  }
  return out;
}

Result<std::vector<QuarantineEntry>> Engine::quarantine_list() {
  std::lock_guard db(store_mu_);
  return store_->quarantine_list(unix_now());
}

Result<int> Engine::quarantine_clear(std::optional<std::string> toplevel) {
  std::lock_guard db(store_mu_);
  return store_->clear_quarantine(toplevel);
}

Result<Invite> Engine::create_invite(unsigned uses, int64_t expires_at) {
  if (uses == 0) return make_error(Errc::invalid_argument, "an invite needs at least one use").with("stage", "invite");
  uint8_t bytes[10];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return make_error(Errc::internal, "no randomness for an invite code");
  Invite invite{base32_lower(bytes, sizeof bytes), uses, expires_at};
  std::lock_guard db(store_mu_);
  SEED_TRY(store_->add_invite(invite.code, uses, expires_at));
  return invite;
}

Status Engine::consume_invite(const std::string& code) {
  std::lock_guard db(store_mu_);
  return store_->consume_invite(code, unix_now());
}

namespace {

// Two spellings of one address ("10.0.0.5", "::ffff:10.0.0.5", "fd00::5" and its long form)
// compare equal; "" is no address.
bool same_address(const std::string& held, std::string_view asked) {
  if (held.empty()) return false;
  auto bytes = [](std::string s, unsigned char out[16]) {
    if (s.rfind("::ffff:", 0) == 0 && s.find('.') != std::string::npos) s = s.substr(7);
    std::memset(out, 0, 16);
    if (::inet_pton(AF_INET, s.c_str(), out) == 1) return 4;
    if (::inet_pton(AF_INET6, s.c_str(), out) == 1) return 16;
    return 0;
  };
  unsigned char a[16], b[16];
  const int la = bytes(held, a), lb = bytes(std::string(asked), b);
  return la != 0 && la == lb && std::memcmp(a, b, static_cast<size_t>(la)) == 0;
}

}  // namespace

Result<AddressOwner> Engine::instance_by_address(std::string_view address) {
  std::lock_guard lock(state_mu_);
  for (const auto& [id, live] : live_) {
    for (const auto& s : live.slots) {
      if (!s.vm || !(same_address(s.ipv4, address) || same_address(s.ipv6, address))) continue;
      AddressOwner owner;
      owner.id = id;
      // The names publish_routes gives it: its own name, which its http/grpc exposes are
      // routed by (the meta has no other hostnames today).
      owner.names.push_back(instance_fqdn(id, config_.domain));
      owner.acme = s.meta.acme;
      owner.shoot = s.meta.shoot;
      return owner;
    }
  }
  return make_error(Errc::not_found, "no instance of this node sends from " + std::string(address));
}

}  // namespace seed::reconcile
