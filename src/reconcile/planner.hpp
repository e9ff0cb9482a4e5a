// The planner: a pure function from (desired, observed) to the ordered actions that converge
// the node, plus the instances it leaves alone this round and why.
//
// Rules (docs/reconcile.md has the full table):
// - Same generation running: nothing, except routing it if it is not routed yet and stopping
//   leftovers of an interrupted rolling deploy.
// - Same generation exited: restarted once its backoff has passed; after `max_crashes`
//   consecutive crashes the instance is failed (a problem) until something changes.
// - New generation: tap, volumes (create or grow; never shrink, never delete), TPM, then
//   recreate = stop old → start new → await healthy → route; rolling = start new → await
//   healthy → route → stop old. A quarantined toplevel is not deployed; the old one keeps
//   running.
// - Instance no longer desired: unroute, stop its VMs and TPM, remove its tap. Volumes and
//   TPM state stay.
// Instances are visited in id order, so a plan is deterministic.
#pragma once

#include "reconcile/plan_types.hpp"

namespace seed::reconcile {

Plan plan(const PlanInput& input);

}  // namespace seed::reconcile
