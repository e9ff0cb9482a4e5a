// Assembling a slot: the start_vm action. Takes the instance's tap and address (slot b's
// only for the length of a rolling deploy), mounts its volumes, starts its swtpm from the
// TPM state of the slot that ran last, writes the seed share, pins the closure with a GC
// root, records the slot and starts the VM. If any step fails, what the earlier ones made
// is undone in reverse.
#include <unistd.h>

#include <filesystem>
#include <set>

#include "common/crash_point.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/reverter.hpp"
#include "reconcile/clock.hpp"
#include "reconcile/engine.hpp"
#include "reconcile/guest_setup.hpp"
#include "reconcile/live_instance.hpp"
#include "reconcile/slot_names.hpp"
#include "reconcile/slot_record.hpp"

namespace seed::reconcile {
namespace fs = std::filesystem;

namespace {

// Copies a directory's contents over another's (the TPM state a new slot starts from).
Status copy_tree(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::remove_all(to, ec);
  fs::create_directories(fs::path(to).parent_path(), ec);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec) return make_error(Errc::io, "cannot copy " + from + " to " + to + ": " + ec.message()).with("stage", "tpm");
  return {};
}

}  // namespace

Status Engine::start_vm(const InstanceId& id, const std::string& generation) {
  // What to run: the desired generation, or the last healthy one (a rollback).
  std::optional<DesiredFull> want;
  char letter = 'a';
  std::optional<char> sibling;
  {
    std::lock_guard lock(state_mu_);
    for (const auto& d : desired_[id.ns]) {
      if (d.plan.id == id && d.plan.generation == generation) want = d;
    }
    Live& live = live_[id];
    if (!want && live.last_good && live.last_good->plan.generation == generation) want = live.last_good;
    if (slot_of(live, generation) && slot_of(live, generation)->vm) return {};  // already running
    std::set<char> used;
    for (const auto& s : live.slots) used.insert(s.letter);
    letter = used.count('a') ? 'b' : 'a';
    if (used.count('a') && used.count('b')) {
      return make_error(Errc::internal, id.str() + " already has two VMs; cannot start a third").with("stage", "boot");
    }
    for (const auto& s : live.slots) {
      if (s.tpm) sibling = s.letter;
    }
  }
  if (!want) {
    return make_error(Errc::internal, "no instance definition for generation " + generation + " of " + id.str())
        .with("stage", "boot");
  }
  const net::InstanceId nid = slot_net_id(id, letter);
  // What the undo steps below touch is declared before the Reverter, or copied into them: on
  // an early return locals are destroyed in reverse, so the Reverter, declared last, runs its
  // steps while everything they name still exists.
  Slot slot;  // holds the swtpm from the moment it starts
  Reverter undo;
  auto link = SEED_TRY(parts_.network->ensure_instance_link(nid));
  if (letter != 'a') {
    // The overlap slot's link exists only while its VM does (slot a's stays with the instance).
    undo.add([this, nid] {
      (void)parts_.network->remove_instance_link(nid);
      (void)parts_.network->release_address(nid);
    });
  }
  auto address = SEED_TRY(parts_.network->allocate_address(nid));
  const auto& pool = parts_.network->pool_config();

  GuestInputs in;
  in.id = id;
  in.vm_name = slot_vm_name(id, letter);
  in.generation = generation;
  in.toplevel = want->plan.toplevel;
  in.meta = want->meta;
  in.domain = config_.domain;
  in.tap = link.tap;
  in.mac = link.mac.str();
  in.ipv4_cidr = address.ipv4.str() + "/" + std::to_string(pool.subnet.length);
  in.gateway4 = pool.gateway.str();
  if (address.ipv6 && pool.subnet6 && pool.gateway6) {
    in.ipv6_cidr = address.ipv6->str() + "/" + std::to_string(pool.subnet6->length);
    in.gateway6 = pool.gateway6->str();
  }
  in.nameserver = pool.gateway.str();
  if (want->meta.acme && !config_.acme_url.empty()) in.env_extra["SEED_ACME_URL"] = config_.acme_url;
  if (want->meta.shoot && !config_.shoots.url.empty()) in.env_extra["SEED_SHOOT_URL"] = config_.shoots.url;
  in.seed_share = seed_share_dir(config_.runtime_dir, id, letter);
  for (const auto& [vol, v] : want->meta.storage) {
    in.volume_paths[vol] = SEED_TRY(parts_.volumes->mount({id.ns, id.name, vol}));
  }

  const std::string idir = instance_dir(config_.state_dir, id);
  if (config_.with_tpm) {
    // One TPM identity per instance: a new slot starts from the state of the slot that ran
    // last (copied; swtpm serves one VM at a time), so the age key survives every deploy.
    std::optional<std::string> was_current;
    if (auto c = read_file(idir + "/tpm-current")) was_current = std::move(*c);
    std::string current = sibling ? std::string(1, *sibling) : "";
    if (current.empty() && was_current) current = *was_current;
    auto mine = SEED_TRY(parts_.tpms->paths(slot_tpm_key(id, letter)));
    if (!current.empty() && current[0] != letter) {
      auto theirs = SEED_TRY(parts_.tpms->paths(slot_tpm_key(id, current[0])));
      if (fs::exists(theirs.dir)) SEED_TRY(copy_tree(theirs.dir, mine.dir));
    }
    slot.tpm.emplace(SEED_TRY(parts_.tpms->start(slot_tpm_key(id, letter))));
    undo.add([&slot] {
      if (slot.tpm) slot.tpm->stop();
    });
    std::error_code ec;
    fs::create_directories(idir + "/tpm-share", ec);
    SEED_TRY(write_file_atomic(idir + "/tpm-current", std::string(1, letter)));
    // The slot that ran last stays the one a later start copies from.
    undo.add([path = idir + "/tpm-current", was_current] {
      if (was_current) {
        (void)write_file_atomic(path, *was_current);
      } else {
        ::unlink(path.c_str());
      }
    });
    in.tpm_share = idir + "/tpm-share";
    in.tpm_socket = slot.tpm->ctrl_socket();
  }
  undo.add([share = in.seed_share] {
    std::error_code ec;
    fs::remove_all(share, ec);
  });
  SEED_TRY(write_seed_share(in));
  auto spec = SEED_TRY(guest_vm_spec(in));
  // The closure must outlive any garbage collection while the VM runs from it.
  const std::string gcroot = config_.state_dir + "/gcroots/" + in.vm_name;
  std::error_code mk;
  fs::create_directories(config_.state_dir + "/gcroots", mk);
  SEED_TRY(nix_.add_root(want->plan.toplevel, gcroot));
  undo.add([gcroot] {
    std::error_code ec;
    fs::remove(gcroot, ec);
  });

  slot.letter = letter;
  slot.generation = generation;
  slot.toplevel = want->plan.toplevel;
  slot.meta = want->meta;
  slot.vm_name = in.vm_name;
  slot.ipv4 = address.ipv4.str();
  slot.ipv6 = address.ipv6 ? address.ipv6->str() : "";
  slot.started_at = unix_now();
  Live record_owner;
  record_owner.id = id;
  record_owner.source = want->source;
  // The record first: if seedd dies while the VMM starts, the next seedd finds and adopts
  // (or cleans up) this VM instead of leaking it. Until then only its owner mark names the
  // slot's swtpm (Engine::end_strays).
  crash_point("slot.record");
  SEED_TRY(save_slot_record(config_.state_dir, record_of(record_owner, slot)));
  undo.add([this, id, letter] { (void)remove_slot_record(config_.state_dir, id, letter); });
  auto vm = runner_->start(spec);
  if (!vm) return std::move(vm).error().with("instance", id.str()).with("generation", generation);
  slot.vm = std::move(*vm);
  undo.success();
  log::info("vm.started", {{"instance", id.str()}, {"generation", generation}, {"vm", slot.vm_name},
                           {"ipv4", slot.ipv4}});
  {
    std::lock_guard lock(state_mu_);
    Live& live = live_[id];
    live.restart_after.reset();
    live.slots.push_back(std::move(slot));
  }
  // The new slot's firewall entry (its tap may only send as its own address) before anything
  // talks to it; DNS and ingress keep pointing at the routed generation.
  return publish_routes();
}

}  // namespace seed::reconcile
