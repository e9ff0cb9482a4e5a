// One deploy of a source: evaluate and build (stages eval, build), then plan and apply for
// the source's namespace only, so nobody else's instances are touched by this push.
#include <algorithm>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "reconcile/clock.hpp"
#include "reconcile/engine.hpp"
#include "reconcile/generation.hpp"
#include "reconcile/planner.hpp"
#include "reconcile/slot_names.hpp"

namespace seed::reconcile {

namespace {

// run()'s mark for a program killed because seedd is shutting down (common/process.hpp).
bool is_cancelled(const Error& e) { return e.get("cancelled") == "yes"; }

void report(const ProgressFn& progress, const std::string& stage, const std::string& message) {
  log::info("deploy.progress", {{"stage", stage}, {"message", message}});
  if (progress) progress({stage, message});
}

Failure failure_of(const Error& e, const char* default_stage) {
  auto stage = e.get("stage");
  std::string message = e.message;
  if (auto err = e.get("stderr"); err && !err->empty()) message += "\n" + std::string(*err);
  return {stage ? std::string(*stage) : default_stage, message, unix_now()};
}

}  // namespace

// A Silo source is evaluated at the exact commit its default branch points to: nix (2.8 at
// least) fetches a bare repository's `master` unless told the ref, and caches what a ref
// pointed to for tarball-ttl, so a push would not be seen without the rev.
std::string nix_ref_now(const SourceRecord& source) {
  const std::string prefix = "git+file://";
  if (source.canonical.rfind("silo:", 0) != 0 || source.nix_ref.rfind(prefix, 0) != 0) return source.nix_ref;
  const std::string repo = source.nix_ref.substr(prefix.size());
  auto trim = [](std::string v) {
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
    return v;
  };
  auto head = read_file(repo + "/HEAD");
  const std::string tag = "ref: refs/heads/";
  if (!head || head->rfind(tag, 0) != 0) return source.nix_ref;
  const std::string branch = trim(head->substr(tag.size()));
  std::string rev;
  if (auto loose = read_file(repo + "/refs/heads/" + branch)) {
    rev = trim(*loose);
  } else if (auto packed = read_file(repo + "/packed-refs")) {
    const std::string want = " refs/heads/" + branch + "\n";
    if (auto at = packed->find(want); at != std::string::npos && at >= 40) rev = packed->substr(at - 40, 40);
  }
  std::string ref = source.nix_ref + "?ref=" + branch;
  if (rev.size() == 40 && rev.find_first_not_of("0123456789abcdef") == std::string::npos) ref += "&rev=" + rev;
  return ref;
}

Result<std::vector<DesiredFull>> Engine::evaluate(const SourceRecord& source, const ProgressFn& progress) {
  report(progress, "eval", "evaluating " + source.canonical);
  const std::string ref = nix_ref_now(source);
  auto metas = nix_.eval_metas(ref);
  if (metas && (!metas->is_object() || metas->empty())) {
    metas = make_error(Errc::invalid_argument, "the flake " + source.canonical +
                                                   " has no instances: it must export seeds.<name> = lib.mkSeed { ... }")
                .with("stage", "eval")
                .with("source", source.canonical);
  }
  if (!metas) {
    // Stopped by a shutdown: nothing is wrong with the flake, and the next seedd deploys it.
    if (is_cancelled(metas.error())) return std::move(metas).error().with("source", source.canonical);
    std::lock_guard db(store_mu_);
    (void)store_->set_failure(source.canonical, failure_of(metas.error(), "eval"));
    return std::move(metas).error().with("source", source.canonical);
  }
  {
    std::lock_guard db(store_mu_);
    (void)store_->clear_failure(source.canonical);
    // Failures of instances the flake no longer has are over.
    if (auto old = store_->instance_failures(source.ns)) {
      for (const auto& [name, f] : *old) {
        if (!metas->contains(name)) (void)store_->clear_failure(InstanceId{source.ns, name}.str());
      }
    }
  }

  std::vector<DesiredFull> desired;
  for (const auto& [attr, meta_json] : metas->items()) {
    const InstanceId id{source.ns, attr};
    auto keep_running = [&](const Error& e, const char* stage) {
      // A bad instance keeps its last good generation running: a broken push never takes
      // down what works.
      log::warn("deploy.instance.failed", {{"instance", id.str()}, {"stage", stage}, {"error", e.describe()}});
      {
        std::lock_guard db(store_mu_);
        (void)store_->set_failure(id.str(), failure_of(e, stage));
      }
      std::lock_guard lock(state_mu_);
      if (auto it = live_.find(id); it != live_.end() && it->second.last_good) desired.push_back(*it->second.last_good);
    };
    auto meta = parse_instance_meta(meta_json, attr, source.canonical);
    if (!meta) {
      keep_running(meta.error(), "eval");
      continue;
    }
    report(progress, "build", "building " + attr);
    auto toplevel = nix_.build_toplevel(ref, attr);
    if (!toplevel && is_cancelled(toplevel.error())) return std::move(toplevel).error().with("source", source.canonical);
    if (!toplevel) {
      keep_running(toplevel.error(), "build");
      continue;
    }
    {
      // This push evaluated and built: an older eval/build failure of the instance is over
      // (health and runtime failures stay until a generation is routed).
      std::lock_guard db(store_mu_);
      auto old = store_->failure(id.str());
      if (old && *old && ((*old)->stage == "eval" || (*old)->stage == "build")) (void)store_->clear_failure(id.str());
    }
    DesiredFull d;
    d.plan.id = id;
    d.plan.generation = generation_of(*toplevel, meta->raw);
    d.plan.toplevel = *toplevel;
    d.plan.rollout = meta->rollout;
    for (const auto& [vol, v] : meta->storage) d.plan.volumes[vol] = v.bytes;
    d.meta = std::move(*meta);
    d.source = source.canonical;
    desired.push_back(std::move(d));
  }
  return desired;
}

Status Engine::deploy(const SourceRecord& source, const std::string& because, const ProgressFn& progress) {
  const auto started = std::chrono::steady_clock::now();
  const int64_t started_at = unix_now();
  {
    std::lock_guard db(store_mu_);
    if (auto s = store_->record_fetch(source.canonical, because, unix_now()); !s) {
      log::warn("deploy.record_fetch_failed", {{"source", source.canonical}, {"error", s.error().describe()}});
    }
  }
  Status result = [&]() -> Status {
    keys_.forget(source.canonical);  // whoever is listed now decides who sees this deploy
    auto desired = SEED_TRY(evaluate(source, progress));
    {
      std::lock_guard lock(state_mu_);
      desired_[source.ns] = std::move(desired);
    }
    return converge(source.ns, progress);
  }();
  // Deploys by the stage they ended in (done, or the failing stage) and their duration.
  const auto failed_stage = result ? std::nullopt : result.error().get("stage");
  const std::string stage = result ? "done" : failed_stage ? std::string(*failed_stage) : "unknown";
  const std::string outcome = result ? "ok" : "failed";
  metrics::global()
      .counter("seed_deploys_total", "Deploys of a source, by the stage they ended in and outcome.",
               {{"stage", stage}, {"outcome", outcome}})
      .inc();
  metrics::global()
      .histogram("seed_deploy_duration_seconds", "Duration of a source's deploy (fetch to healthy).",
                 {{"outcome", outcome}})
      .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  // The owner's history (seedctl status, the admin page and JSON): a shutdown's cut-off deploy
  // is no outcome of the source, so it is left out.
  bool cut_off = false;
  {
    std::lock_guard lock(state_mu_);
    cut_off = stopping_;
  }
  if (result || !cut_off) {
    DeployRecord d;
    d.because = because;
    d.started_at = started_at;
    d.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    d.outcome = outcome;
    d.stage = stage;
    if (!result) d.error = result.error().message;
    std::lock_guard db(store_mu_);
    if (auto s = store_->record_deploy(source.canonical, d, kDeployHistory); !s) {
      log::warn("deploy.record_failed", {{"source", source.canonical}, {"error", s.error().describe()}});
    }
  }
  return result;
}

PlanInput Engine::plan_input(const std::string& ns) {
  PlanInput in;
  in.now = std::chrono::system_clock::now();
  in.max_crashes = config_.max_crashes;
  {
    std::lock_guard db(store_mu_);
    if (auto q = store_->quarantined_toplevels(unix_now())) in.quarantined_toplevels = std::move(*q);
  }
  std::vector<storage::VolumeId> volume_ids;
  std::lock_guard lock(state_mu_);
  for (const auto& d : desired_[ns]) {
    in.desired.push_back(d.plan);
    for (const auto& [vol, size] : d.plan.volumes) volume_ids.push_back({d.plan.id.ns, d.plan.id.name, vol});
  }
  std::map<InstanceId, std::map<std::string, uint64_t>> volumes;
  if (auto listed = parts_.volumes->list(volume_ids)) {
    for (const auto& v : *listed) {
      if (v.id.ns == ns) volumes[{v.id.ns, v.id.instance}][v.id.volume] = v.size_bytes;
    }
  }
  // An instance has a tap from ensure_tap until remove_tap, whether or not a VM of it ever
  // ran: the address pool (on disk, so also after a restart of seedd) says which.
  std::set<InstanceId> tapped;
  for (const auto& [nid, assignment] : parts_.network->addresses()) {
    for (char letter : {'a', 'b'}) {
      if (slot_net_id({ns, nid.name}, letter) == nid) tapped.insert({ns, nid.name});
    }
  }
  std::set<InstanceId> seen;
  for (const auto& [id, live] : live_) {
    if (id.ns != ns) continue;
    seen.insert(id);
    ObservedInstance o;
    o.id = id;
    o.tap = tapped.count(id) > 0;
    for (const auto& slot : live.slots) {
      o.vms.push_back({slot.generation, slot.vm ? VmState::running : VmState::exited});
      if (slot.routed) o.routed_generation = slot.generation;
      o.tap = true;
    }
    o.volumes = volumes[id];
    o.crashes = live.crashes;
    o.restart_after = live.restart_after;
    in.observed.push_back(std::move(o));
  }
  // Instances that run nothing: volumes (first deploy, or after an unplant) and taps (a first
  // deploy that failed, or a restart of seedd since).
  std::set<InstanceId> idle = tapped;
  for (const auto& [id, vols] : volumes) idle.insert(id);
  for (const auto& id : idle) {
    if (seen.count(id)) continue;
    ObservedInstance o;
    o.id = id;
    o.volumes = volumes[id];
    o.tap = tapped.count(id) > 0;
    in.observed.push_back(std::move(o));
  }
  std::sort(in.observed.begin(), in.observed.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return in;
}

Status Engine::converge(const std::string& ns, const ProgressFn& progress) {
  const Plan p = plan(plan_input(ns));
  for (const auto& problem : p.problems) {
    log::warn("plan.problem", {{"instance", problem.id.str()}, {"stage", problem.stage}, {"message", problem.message}});
    const Failure f{problem.stage, problem.message, unix_now()};
    {
      std::lock_guard lock(state_mu_);
      if (auto it = live_.find(problem.id); it != live_.end()) it->second.failure = f;
    }
    std::lock_guard db(store_mu_);
    (void)store_->set_failure(problem.id.str(), f);
  }
  return apply(p, progress);
}

}  // namespace seed::reconcile
