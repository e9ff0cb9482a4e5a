// The reconcile engine: planted flakes in, running supervised instances out. It implements
// the one Service every front end uses, and owns the durable state, the node's drivers
// (network, volumes, vTPMs, VMs) and the routes (DNS, ingress, firewall).
//
//   deploy(source): fetch+eval (one nix eval) → build each toplevel → desired → plan → apply
//   supervisor: VM exits → backoff → replan; repeated crashes → failed with the console tail
//   resync: every source is re-evaluated periodically (and on trigger, coalesced)
//
// Threads: callers (plant, restart, …) and the worker serialize deploys on one mutex; the
// supervisor and the queries only take the short state mutex. Nothing here stops a VM on
// shutdown: a restarted seedd adopts every VM from its slot record (see docs/reconcile.md).
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "common/fd.hpp"
#include "net/dns/zone_store.hpp"
#include "net/ingress/server.hpp"
#include "net/network.hpp"
#include "reconcile/console_holders.hpp"
#include "reconcile/exec_ports.hpp"
#include "reconcile/keys_cache.hpp"
#include "reconcile/live_instance.hpp"
#include "reconcile/nix_cli.hpp"
#include "reconcile/service.hpp"
#include "reconcile/shoot_gate.hpp"
#include "reconcile/state_store.hpp"
#include "storage/volume_driver.hpp"
#include "tpm/tpm_manager.hpp"
#include "vmm/shoot/shoot_pool.hpp"
#include "vmm/vm_runner.hpp"

namespace seed::reconcile {

struct EngineConfig {
  std::string state_dir = "/var/lib/seed";     // state.db, instances/, silo/
  std::string runtime_dir = "/run/seedd";      // seed shares (rewritten on every start)
  std::string silo_root;                       // default <state_dir>/silo
  std::string domain = "seed.local";
  uint16_t http_port = 80;                     // ingress public port for http exposes
  uint16_t https_port = 443;                   // TLS passthrough by SNI
  std::chrono::seconds default_health_timeout{120};
  std::chrono::seconds resync_interval{600};
  std::chrono::seconds quarantine_for{24 * 3600};
  std::chrono::milliseconds stop_grace{10'000};
  std::chrono::milliseconds supervise_interval{250};
  std::chrono::seconds backoff_base{1};
  std::chrono::seconds backoff_max{60};
  unsigned max_crashes = 5;
  // A VM that ran at least this long before it exited starts a new crash streak; shorter runs
  // add to it, even when each restart came up healthy (a VM that dies a minute after every
  // boot is failed after max_crashes, not restarted forever).
  std::chrono::seconds crash_window{600};
  bool with_tpm = true;                        // every instance gets a vTPM
  // SEED_ACME_URL for instances whose meta has `acme` on (the ACME facade's directory on the
  // guest listener); "" = no facade, the variable is never written.
  std::string acme_url;
  // Shoots (docs/shoots.md): the pool's tiers and caps, the admission gate, the request
  // bounds, and SEED_SHOOT_URL for instances whose meta has shoot on ("" = never written).
  // No tiers: shoots are off on this node.
  struct Shoots {
    vmm::shoot::ShootPoolConfig pool;
    ShootGateLimits gate;
    std::chrono::milliseconds max_timeout{300000};
    size_t output_cap = 4u << 20;   // per stream
    size_t max_stdin = 1u << 20;
    std::string url;
  } shoots;
  // seedd's own hostnames (silo.<domain>, hooks.<domain>: one label under the domain, so never
  // an instance's) that the ingress routes on http_port to seedd's public HTTP listener.
  std::map<std::string, net::ingress::BackendAddr> node_routes;
  // The same names on https_port (by SNI), to the TLS side of that listener.
  std::map<std::string, net::ingress::BackendAddr> node_tls_routes;
  // Test hook (crash tests): after this many journaled actions the process _exit()s as if
  // killed; 0 = off. Never set in production configs.
  unsigned fault_after_actions = 0;
};

// The drivers the engine drives; seedd builds them from its config.
struct EngineParts {
  NixSettings nix;
  std::unique_ptr<net::Network> network;
  std::unique_ptr<storage::VolumeDriver> volumes;
  std::unique_ptr<tpm::TpmManager> tpms;
  std::unique_ptr<vmm::Driver> vm_driver;
  vmm::RunnerSettings runner;
  net::dns::ZoneStore* zone = nullptr;        // optional: DNS records are published here
  net::ingress::Server* ingress = nullptr;    // optional: http routes are published here
};

// The flake reference to hand nix for a source right now (a Silo source at its default branch).
std::string nix_ref_now(const SourceRecord& source);

class Engine final : public Service {
 public:
  static Result<std::unique_ptr<Engine>> open(EngineConfig config, EngineParts parts);
  ~Engine() override;

  // Adopts the VMs and swtpms of an earlier seedd, finishes the journal, starts the
  // supervisor and worker threads and queues a deploy of every planted source.
  Status start();
  // Joins the threads; VMs keep running. The shoot pool stays until the engine is destroyed:
  // a front end stopped after shutdown() (seedd's Node) may still be ending a shoot, whose
  // clone goes back to the pool; the destructor then destroys the pool and its clones.
  void shutdown();

  // Deploys every planted source now (the periodic resync does the same in the background).
  Status deploy_all();

  // Service
  Result<SourceView> plant(std::string_view uri, const std::string& planted_by, const ProgressFn& progress) override;
  Status unplant(std::string_view source) override;
  Status trigger(std::string_view source, std::string_view because) override;
  Result<Webhook> webhook(std::string_view source, bool rotate) override;
  Result<std::optional<std::string>> webhook_secret(const std::string& hook) override;
  Status trigger_webhook(const std::string& hook, std::string_view because) override;
  Result<std::vector<SourceView>> status(std::optional<std::string_view> source) override;
  Result<std::string> authorized_keys(std::string_view uri) override;
  Status restart(const InstanceId& id, const ProgressFn& progress) override;
  Result<std::vector<LogEntry>> logs(const InstanceId& id, const LogQuery& query) override;
  Status follow_logs(const InstanceId& id, const LogQuery& query,
                     const std::function<void(const LogEntry&)>& on_entry,
                     const std::atomic<bool>& cancelled) override;
  Result<std::unique_ptr<ConsoleSession>> open_console(const InstanceId& id, const ConsoleRequest& request) override;
  Result<std::unique_ptr<ExecSession>> open_exec(const InstanceId& id, const ExecRequest& request) override;
  Result<std::string> tpm_recipient(const InstanceId& id) override;
  Result<std::vector<InstanceUsage>> usage() override;
  Result<std::vector<QuarantineEntry>> quarantine_list() override;
  Result<int> quarantine_clear(std::optional<std::string> toplevel) override;
  Result<Invite> create_invite(unsigned uses, int64_t expires_at) override;
  Status consume_invite(const std::string& code) override;
  Result<AddressOwner> instance_by_address(std::string_view address) override;
  Result<ShootReply> shoot(const InstanceId& caller, const ShootRequest& request,
                           const std::atomic<bool>& cancelled) override;
  Result<ShootPoolView> shoot_pool() override;
  // The shoot pool's tiers (empty when shoots are off), for tests.
  std::vector<vmm::shoot::ShootTierStats> shoot_pool_stats() const;

  // For tests and benchmarks: the pid of an instance's running VMM (0 none).
  pid_t vm_pid(const InstanceId& id);

 private:
  Engine(EngineConfig config, EngineParts parts, std::unique_ptr<StateStore> store, UniqueFd cancel);

  // engine_deploy.cpp
  // `because` is recorded as the fetch's reason (status shows it).
  Status deploy(const SourceRecord& source, const std::string& because, const ProgressFn& progress);
  Result<std::vector<DesiredFull>> evaluate(const SourceRecord& source, const ProgressFn& progress);
  Status converge(const std::string& ns, const ProgressFn& progress);
  PlanInput plan_input(const std::string& ns);

  // engine_actions.cpp: one function per planner action, all idempotent.
  Status apply(const Plan& plan, const ProgressFn& progress);
  Status apply_instance(int64_t plan_no, const std::vector<Action>& actions, const ProgressFn& progress);
  Status act(const Action& a, const ProgressFn& progress);
  // The journal around each action; a failure is tagged stage "state".
  Result<int64_t> journal_begin(int64_t plan_no, const Action& a);
  Status journal_end(int64_t entry, const Status& outcome);
  Status start_vm(const InstanceId& id, const std::string& generation);  // engine_start_vm.cpp
  Status stop_vm(const InstanceId& id, const std::string& generation);
  Status healthy(const InstanceId& id, const std::string& generation);
  Status ensure_volume(const InstanceId& id, const std::string& volume, uint64_t size, bool grow);
  Status roll_back(const InstanceId& id, const std::string& failed_generation, const Error& why,
                   const ProgressFn& progress);
  void after_action();

  // engine_routes.cpp
  Status publish_routes();

  // engine_supervise.cpp
  void supervise_loop();
  void supervise_once();
  void worker_loop();
  Status adopt_all();
  void end_strays();  // after adopt_all: ends what an earlier seedd started but never recorded

  // engine_views.cpp
  InstanceView view_of(const Live& live);
  Result<Live*> find_live(const InstanceId& id);  // state_mu_ held
  Result<vmm::VmPaths> console_of(const InstanceId& id);  // the paths of its shown slot's VM (logs)
  Result<SourceRecord> source_of(std::string_view uri);
  // engine_shoot.cpp: ends an earlier seedd's shoot VMs and starts the pool (shoots on only).
  void start_shoots();
  // engine_shoot.cpp: +1 when a shoot of `id` takes a clone, -1 when it ends (status counts).
  void count_shoot(const InstanceId& id, int delta);
  // engine_shoot.cpp: one shoot from admission to teardown (shoot() counts its outcome).
  Result<ShootReply> run_shoot(const InstanceId& caller, const ShootRequest& request,
                               const std::atomic<bool>& cancelled);

  EngineConfig config_;
  UniqueFd cancel_;  // eventfd written by shutdown(): running nix evals and builds are killed
  EngineParts parts_;
  NixCli nix_;
  KeysCache keys_{std::chrono::seconds(60), std::chrono::hours(1)};  // .authorized_keys per source
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<vmm::VmRunner> runner_;
  // engine_shoot.cpp: made by start() when config_.shoots has tiers.
  std::unique_ptr<vmm::shoot::ShootPool> shoot_pool_;
  std::unique_ptr<ShootGate> shoot_gate_;
  // Shared with every open console, which releases its instance when it ends.
  std::shared_ptr<ConsoleHolders> consoles_ = std::make_shared<ConsoleHolders>();
  // Which exec ports of each instance are taken; shared with every running exec.
  std::shared_ptr<ExecPorts> exec_ports_ = std::make_shared<ExecPorts>();

  std::mutex deploy_mu_;  // one deploy (plan + apply) at a time
  std::mutex state_mu_;   // live_, desired_, queues
  std::mutex store_mu_;   // the SQLite connection (its transactions must not interleave)
  std::map<InstanceId, Live> live_;
  std::map<std::string, std::vector<DesiredFull>> desired_;  // by namespace, from the last good eval
  std::condition_variable wake_;
  std::map<std::string, std::string> queued_full_;  // canonical URI to re-evaluate → why
  std::set<std::string> queued_replan_;  // namespaces to re-plan without eval (supervision)
  bool stopping_ = false;
  unsigned actions_done_ = 0;
  // Deploys kept per source for the owner's views (StateStore::record_deploy).
  static constexpr unsigned kDeployHistory = 10;
  std::thread supervisor_;
  std::thread worker_;
};

}  // namespace seed::reconcile
