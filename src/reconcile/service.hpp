// The reconcile engine's one typed service interface: every front end (seedctl's control
// socket, the tenant SSH CLI, the HTTP API) asks it for commands and queries and never touches
// the VM, network, volume or TPM drivers itself. Authorization is the caller's job (sshcli
// decides which sources a key may see); the service acts for whoever calls it.
//
// Every method is safe to call from any thread: the engine serializes state changes itself.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "reconcile/plan_types.hpp"
#include "reconcile/state_store.hpp"

namespace seed::reconcile {

// What an instance is doing, as `status` shows it.
//   pending     desired, not started yet (a plan is on its way)
//   starting    its new generation boots or awaits its health check
//   running     healthy and routed
//   restarting  exited, waiting for its backoff before the next start
//   failed      crashed too often, or never became healthy (see failure)
//   stopped     no longer desired or unplanted; volumes kept
enum class InstanceState { pending, starting, running, restarting, failed, stopped };

struct InstanceView {
  InstanceId id;
  std::string source;      // canonical URI of its source
  InstanceState state = InstanceState::pending;
  std::string generation;  // the generation that runs (or "" when none)
  std::string toplevel;    // its store path
  std::string desired_generation;  // what the flake asks for (differs while deploying or when quarantined)
  std::vector<std::string> dns_names;  // "<name>.<ns>.<domain>" first, then any http hostnames
  std::string ipv4;
  std::string ipv6;
  unsigned restarts = 0;   // consecutive crashes of the running generation
  int64_t started_at = 0;  // unix seconds the running VM started (0 none)
  std::optional<Failure> failure;  // the last failure with its stage, if any
  uint64_t shoots_ran = 0;         // shoots it started since seedd started (finished or not)
  unsigned shoots_running = 0;     // of them, those running now
};

// What an instance's VMM process uses (the status page plots it; /metrics exports it). A rolling
// deploy's two VMs are summed.
struct InstanceUsage {
  InstanceId id;
  std::string source;
  double cpu_seconds = 0;     // user + system CPU time of the VMM process(es) since they started
  uint64_t memory_bytes = 0;  // their resident memory
  struct Volume {
    std::string name;           // the meta's storage entry
    uint64_t size_bytes = 0;    // filesystem size
    uint64_t used_bytes = 0;
  };
  std::vector<Volume> volumes;  // its mounted volumes (one not mounted now is left out)
};

struct SourceView {
  SourceRecord record;
  std::optional<Failure> failure;  // eval/build of the whole flake
  std::vector<DeployRecord> deploys;  // its recent deploys, newest first
  std::vector<InstanceView> instances;
};

// Progress of a plant, a restart or a triggered deploy: stage is one of fetch, eval, build,
// stop (a restart), boot, healthy, done; message is one human line ("building web",
// "web is healthy").
struct Progress {
  std::string stage;
  std::string message;
};
using ProgressFn = std::function<void(const Progress&)>;

struct Invite {
  std::string code;
  unsigned uses_left = 1;
  int64_t expires_at = 0;  // unix seconds, 0 = never
};

// One record of an instance's log, as `logs` shows it (see vmm/console/log_store.hpp for where
// they come from). source: "boot" (a marker: the VM started), "console" (a serial line) or
// "journal" (an entry the guest sent on its log channel).
struct LogEntry {
  std::string source = "console";
  int boot = 0;               // 0 the current boot, -1 the one before, ...
  int64_t timestamp_us = 0;   // the entry's own time (the guest's, for journal entries)
  int64_t received_us = 0;    // when seedd received it (the order entries are shown in)
  std::string unit;           // journal
  int priority = 6;           // journal: syslog priority 0..7
  std::string boot_id;        // journal: the guest's boot id
  std::string message;
  bool raw = false;           // journal: the guest sent a line that was no valid entry
};

// Which entries `logs` shows: the last `lines` that pass every given filter.
struct LogQuery {
  size_t lines = 100;
  std::optional<std::string> unit;  // journal entries of this unit ("nginx" = "nginx.service")
  std::optional<int64_t> since_us;  // received at or after (µs since the epoch)
  std::optional<int> boot;          // 0 current, -1 previous, ...; follow accepts only 0
};

// An interactive root shell in an instance (`ssh -t <node> console`), on the guest's console
// channel (docs/guest-contract.md). One per instance at a time.
struct ConsoleRequest {
  std::string holder;          // the caller's key fingerprint: what a second caller is told
  std::string term = "xterm";  // the client's TERM (from its pty request)
  uint16_t rows = 24;
  uint16_t cols = 80;
};

// One open console. Destroying it hangs up: the guest's shell is ended and the instance's
// console is free for the next caller, who gets a fresh shell.
class ConsoleSession {
 public:
  virtual ~ConsoleSession() = default;
  // Readable when read() has something (output, or the shell's end).
  virtual int fd() const = 0;
  virtual Status input(std::string_view bytes) = 0;
  virtual Status resize(uint16_t rows, uint16_t cols) = 0;
  struct Output {
    std::string data;     // terminal bytes, as the guest's pty wrote them
    bool ended = false;   // the shell exited (exit_status), or the instance went away (lost)
    int exit_status = 0;
    bool lost = false;
  };
  // What arrived, without blocking.
  virtual Result<Output> read() = 0;
};

// A command run in an instance (`ssh <node> exec`) through the guest's agent, on an exec port
// of its own (docs/guest-contract.md). A few at a time per instance.
struct ExecRequest {
  std::string holder;              // the caller's key fingerprint (for the log)
  std::vector<std::string> argv;   // the command, no shell
};

// One running command. Destroying it before the exit kills the command (its whole process
// group in the guest) and frees its port.
class ExecSession {
 public:
  virtual ~ExecSession() = default;
  // Readable when read() has something (output, or the command's end).
  virtual int fd() const = 0;
  virtual Status input(std::string_view bytes) = 0;
  virtual Status close_input() = 0;  // the command's stdin reaches EOF
  struct Output {
    std::string out;       // stdout bytes, as they came
    std::string err;       // stderr bytes
    bool ended = false;    // the command exited (exit_code), or the instance went away (lost)
    int exit_code = 0;     // 128+N when signal N ended it
    bool lost = false;
  };
  // What arrived, without blocking.
  virtual Result<Output> read() = 0;
};

// The instance a guest-network request comes from (the HTTP API's guest listener attributes
// requests by source address; the anti-spoofing rules make that trustworthy).
struct AddressOwner {
  InstanceId id;
  std::vector<std::string> names;  // "<name>.<ns>.<domain>" first, then the http hostnames routed to it
  bool acme = false;               // its meta's `acme`
  bool shoot = false;              // its meta's `shoot.enable`
};

// One shoot (docs/shoots.md): `command` in a fresh VM restored from the node's shoot pool,
// with the caller's store read-only and its volumes read-write at the caller's mount points,
// no network, no TPM.
struct ShootRequest {
  std::vector<std::string> command;  // argv, required; no shell
  std::chrono::milliseconds timeout{30000};
  std::map<std::string, std::string> env;
  std::string stdin_data;
  std::string cwd = "/";
  std::string size;  // a size tier of the pool; "" = the first configured
  // Called once the shoot is past admission and holds a clone (the HTTP reply then streams);
  // never for a shoot refused or failed before that.
  std::function<void()> on_started;
  // Called with each piece of the command's output as it comes (stderr when `is_stderr`),
  // within the output cap, on the shoot's thread; the reply still holds all of it.
  std::function<void(bool is_stderr, std::string_view bytes)> on_output;
};

struct ShootReply {
  int exit_code = -1;
  std::optional<int> signal;
  std::string out;
  std::string err;
  bool timed_out = false;
  bool truncated = false;
  int64_t duration_ms = 0;
};

// The node's shoot pool as the owner sees it (seedctl shoots): per size tier its template and
// clones, and the node-wide counts the caps apply to (ready, restoring and running clones alike).
struct ShootTierView {
  std::string name;
  unsigned vcpus = 0;
  uint64_t memory_mib = 0;      // per clone
  unsigned target = 0;          // ready clones the pool keeps
  std::string template_state;   // "building", "ready" or "failed"
  std::string template_error;   // why it failed ("" otherwise)
  std::string template_origin;  // when ready: "built", "reused" (kept from an earlier start) or "rebuilt"
  unsigned ready = 0;
  unsigned restoring = 0;
  unsigned running = 0;         // handed out to a shoot
  uint64_t restores = 0;
  uint64_t served = 0;
  uint64_t waits = 0;           // requests that waited at the caps for a restore in flight
};

struct ShootPoolView {
  bool enabled = false;  // false: shoots are off on this node (no tiers); the rest is zero
  unsigned vms = 0;
  unsigned max_vms = 0;
  uint64_t memory_mib = 0;
  uint64_t max_memory_mib = 0;
  unsigned queued = 0;  // requests waiting at the admission gate
  std::vector<ShootTierView> tiers;
};

class Service {
 public:
  virtual ~Service() = default;

  // Plants `uri` (idempotent for an already planted source) and deploys it now; returns when
  // every instance is running or the deploy failed. A failure of the source (stage eval/build)
  // is an error; per-instance failures are in the returned view.
  virtual Result<SourceView> plant(std::string_view uri, const std::string& planted_by,
                                   const ProgressFn& progress) = 0;
  // Stops the source's instances (volumes and TPM state are kept) and forgets the source.
  virtual Status unplant(std::string_view source) = 0;
  // Asks for a redeploy of a planted source soon. `because` is what status shows as the reason
  // of the fetch ("push" for a Silo push, "webhook github <delivery>", …). Coalesced (the first
  // reason waiting wins); Errc::not_found when the source is not planted.
  virtual Status trigger(std::string_view source, std::string_view because) = 0;

  // A planted non-Silo source's webhook (made at plant time; `rotate` replaces id and secret).
  // A Silo source has none (its pushes trigger in-process): Errc::invalid_argument.
  virtual Result<Webhook> webhook(std::string_view source, bool rotate) = 0;
  // The secret of webhook id `hook`, or nullopt for an id that names no webhook.
  virtual Result<std::optional<std::string>> webhook_secret(const std::string& hook) = 0;
  // trigger() of the source whose webhook `hook` is.
  virtual Status trigger_webhook(const std::string& hook, std::string_view because) = 0;

  // All planted sources, or one (by canonical URI or any spelling of it).
  virtual Result<std::vector<SourceView>> status(std::optional<std::string_view> source) = 0;

  // The text of `.authorized_keys` at the top of the flake `uri` names, fetched through nix
  // (github:, git+ URIs; for silo: the repository's default branch). "" when the file is
  // missing. Errc::invalid_argument for a URI nix rejects, stage "fetch".
  virtual Result<std::string> authorized_keys(std::string_view uri) = 0;

  // Restarts the instance's running generation (clears a `failed` state too); returns when it
  // is running again (or failed). `progress` (may be empty) hears the boot as it happens.
  virtual Status restart(const InstanceId& id, const ProgressFn& progress) = 0;
  // The instance's log entries (console lines, journal entries, boot markers) in the order
  // they arrived, the last `query.lines` that pass the query's filters.
  virtual Result<std::vector<LogEntry>> logs(const InstanceId& id, const LogQuery& query) = 0;
  // Streams entries appended after the call that pass `query` (unit, since) until `cancelled`
  // becomes true.
  virtual Status follow_logs(const InstanceId& id, const LogQuery& query,
                             const std::function<void(const LogEntry&)>& on_entry,
                             const std::atomic<bool>& cancelled) = 0;
  // Opens the instance's console: a fresh login shell on a terminal of the request's size.
  // Errc::in_use while another session holds it (the message names the holder's key and
  // since when); Errc::unavailable when the instance's hypervisor has no console channel or
  // its guest runs no console relay. The default is for services without VMs (test doubles).
  virtual Result<std::unique_ptr<ConsoleSession>> open_console(const InstanceId& id, const ConsoleRequest& request) {
    (void)request;
    return make_error(Errc::unavailable, "no console for " + id.name + " on this service");
  }
  // Runs a shoot for instance `caller` (whose meta must have shoot on). Errc::permission_denied
  // when it has not; Errc::invalid_argument for a bad request; Errc::unavailable (with
  // "retry_after" seconds) when the node's shoot caps and queue are full; a command that runs
  // out of time is a reply with timed_out, not an error. `cancelled` (the caller hung up) ends
  // the shoot and its VM. The default is for services without VMs (test doubles).
  virtual Result<ShootReply> shoot(const InstanceId& caller, const ShootRequest& request,
                                   const std::atomic<bool>& cancelled) {
    (void)request;
    (void)cancelled;
    return make_error(Errc::unavailable, "no shoots for " + caller.name + " on this service");
  }
  // The shoot pool now. The default (shoots off) is for services without VMs (test doubles).
  virtual Result<ShootPoolView> shoot_pool() { return ShootPoolView{}; }
  // Starts request.argv in the instance. Errc::in_use when all its exec ports are taken;
  // Errc::unavailable when its hypervisor has no exec ports or its guest's agent does not
  // answer. The default is for services without VMs (test doubles).
  virtual Result<std::unique_ptr<ExecSession>> open_exec(const InstanceId& id, const ExecRequest& request) {
    (void)request;
    return make_error(Errc::unavailable, "no exec for " + id.name + " on this service");
  }
  // The instance's age recipient ("age1tpm1…"), read back from its vTPM.
  virtual Result<std::string> tpm_recipient(const InstanceId& id) = 0;
  // CPU and memory of every live instance's VMM, read from /proc now.
  virtual Result<std::vector<InstanceUsage>> usage() = 0;

  virtual Result<std::vector<QuarantineEntry>> quarantine_list() = 0;
  virtual Result<int> quarantine_clear(std::optional<std::string> toplevel) = 0;

  // Single-use (or N-use) invite codes the node owner hands out; `plant` over SSH consumes one.
  virtual Result<Invite> create_invite(unsigned uses, int64_t expires_at) = 0;
  // Errc::not_found for an unknown code, Errc::permission_denied for a used-up or expired one.
  virtual Status consume_invite(const std::string& code) = 0;

  // The instance one of whose VMs (either slot of a rolling deploy) holds `address` (IPv4 or
  // IPv6, as the socket reports it) on the bridge; Errc::not_found when none does.
  virtual Result<AddressOwner> instance_by_address(std::string_view address) = 0;
};

std::string to_string(InstanceState state);

}  // namespace seed::reconcile
