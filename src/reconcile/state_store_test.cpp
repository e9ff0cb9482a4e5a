#include "reconcile/state_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fd.hpp"
#include "common/testing/temp_dir.hpp"

namespace seed::reconcile {
namespace {

using ::testing::HasSubstr;
using seed::testing::TempDir;

class StateStoreTest : public ::testing::Test {
 protected:
  std::string db_path() const { return tmp_.path() + "/state.db"; }
  std::unique_ptr<StateStore> open() {
    auto s = StateStore::open(db_path());
    EXPECT_TRUE(s) << (s ? "" : s.error().describe());
    return s ? std::move(*s) : nullptr;
  }
  FlakeSource source(const std::string& uri) { return *parse_flake_source(uri, "/srv/silo"); }
  TempDir tmp_;
};

TEST_F(StateStoreTest, PlantIsIdempotentAndSurvivesReopen) {
  {
    auto s = open();
    ASSERT_TRUE(s->plant(source("silo:app"), "SHA256:key", 100));
    ASSERT_TRUE(s->plant(source("silo:app"), "SHA256:other", 200));  // again: unchanged
    ASSERT_TRUE(s->plant(source("github:a/b"), "seedctl", 300));
  }
  auto s = open();
  auto all = s->sources();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].canonical, "silo:app");
  EXPECT_EQ((*all)[1].planted_by, "SHA256:key");
  EXPECT_EQ((*all)[1].planted_at, 100);
  EXPECT_EQ((*all)[1].nix_ref, "git+file:///srv/silo/app.git");
  auto by_ns = s->source_by_namespace(source("github:a/b").ns);
  ASSERT_TRUE(by_ns && by_ns->has_value());
  EXPECT_EQ((*by_ns)->canonical, "github:a/b");
}

TEST_F(StateStoreTest, TwoSourcesNeverShareANamespace) {
  auto s = open();
  FlakeSource a = source("silo:app");
  ASSERT_TRUE(s->plant(a, "k", 1));
  FlakeSource collision = source("silo:other");
  collision.ns = a.ns;  // what a 60-bit hash collision would look like
  auto st = s->plant(collision, "k", 2);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::conflict);
  EXPECT_THAT(st.error().message, HasSubstr("already belongs to silo:app"));
  EXPECT_EQ(s->sources()->size(), 1u);
}

TEST_F(StateStoreTest, Unplant) {
  auto s = open();
  ASSERT_TRUE(s->plant(source("silo:app"), "k", 1));
  ASSERT_TRUE(s->unplant("silo:app"));
  EXPECT_TRUE(s->sources()->empty());
  auto again = s->unplant("silo:app");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::not_found);
}

TEST_F(StateStoreTest, FailuresAreKeptPerScopeUntilCleared) {
  auto s = open();
  ASSERT_TRUE(s->set_failure("silo:app", {"eval", "error: attribute 'seeds' missing", 5}));
  ASSERT_TRUE(s->set_failure("silo:app", {"build", "builder failed with exit code 1", 6}));
  ASSERT_TRUE(s->set_failure("web.s-x", {"boot", "kernel not found", 7}));
  auto f = s->failure("silo:app");
  ASSERT_TRUE(f && f->has_value());
  EXPECT_EQ((*f)->stage, "build");
  EXPECT_EQ((*f)->at, 6);
  ASSERT_TRUE(s->clear_failure("silo:app"));
  EXPECT_FALSE(s->failure("silo:app")->has_value());
  EXPECT_TRUE(s->failure("web.s-x")->has_value());
}

TEST_F(StateStoreTest, JournalRoundTripsActions) {
  auto s = open();
  int64_t plan = *s->next_plan_number();
  EXPECT_EQ(*s->next_plan_number(), plan + 1);
  Action a{ActionKind::create_volume, {"s-abc", "web"}, "", "data", 1 << 30};
  Action b{ActionKind::start_vm, {"s-abc", "web"}, "g1", "", 0};
  auto ea = s->journal_begin(plan, a, 10);
  auto eb = s->journal_begin(plan, b, 11);
  ASSERT_TRUE(ea && eb);
  ASSERT_TRUE(s->journal_end(*ea, JournalState::done, "", 12));
  auto open_entries = s->unfinished();
  ASSERT_TRUE(open_entries);
  ASSERT_EQ(open_entries->size(), 1u);
  EXPECT_EQ((*open_entries)[0].action, b);
  ASSERT_TRUE(s->journal_end(*eb, JournalState::failed, "VMM exited", 13));
  auto all = s->journal_of_plan(plan);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].action, a);
  EXPECT_EQ((*all)[1].state, JournalState::failed);
  EXPECT_EQ((*all)[1].error, "VMM exited");
  EXPECT_EQ(s->journal_end(999, JournalState::done, "", 1).error().code, Errc::not_found);
}

TEST_F(StateStoreTest, AnActionCutOffByKill9IsFoundAfterRestart) {
  // A real kill -9 between journal_begin and journal_end, in another process.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto s = StateStore::open(db_path());
    if (!s) ::_exit(2);
    auto plan = (*s)->next_plan_number();
    if (!plan) ::_exit(3);
    if (!(*s)->journal_begin(*plan, {ActionKind::start_vm, {"s-abc", "web"}, "g7", "", 0}, 1)) ::_exit(4);
    ::raise(SIGKILL);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  auto s = open();
  auto cut = s->unfinished();
  ASSERT_TRUE(cut);
  ASSERT_EQ(cut->size(), 1u);
  EXPECT_EQ((*cut)[0].action.kind, ActionKind::start_vm);
  EXPECT_EQ((*cut)[0].action.generation, "g7");
  EXPECT_EQ((*cut)[0].state, JournalState::started);
}

TEST_F(StateStoreTest, PruneKeepsRecentAndUnfinishedEntries) {
  auto s = open();
  Action a{ActionKind::route, {"s-abc", "web"}, "g1", "", 0};
  int64_t first = *s->journal_begin(1, a, 1);  // never finished: must survive pruning
  for (int i = 0; i < 20; ++i) {
    int64_t e = *s->journal_begin(1, a, 1);
    ASSERT_TRUE(s->journal_end(e, JournalState::done, "", 2));
  }
  ASSERT_TRUE(s->prune_journal(5));
  auto all = s->journal_of_plan(1);
  ASSERT_EQ(all->size(), 6u);
  EXPECT_EQ((*all)[0].id, first);
}

TEST_F(StateStoreTest, QuarantineExpiresAndCanBeCleared) {
  auto s = open();
  ASSERT_TRUE(s->quarantine({"/nix/store/a-top", "web.s-x", "not healthy within 60 s", 1000}));
  ASSERT_TRUE(s->quarantine({"/nix/store/b-top", "api.s-x", "not healthy within 60 s", 5000}));
  EXPECT_EQ(*s->quarantined_toplevels(999), (std::set<std::string>{"/nix/store/a-top", "/nix/store/b-top"}));
  EXPECT_EQ(*s->quarantined_toplevels(1000), (std::set<std::string>{"/nix/store/b-top"}));
  EXPECT_EQ(*s->clear_quarantine(std::string("/nix/store/b-top")), 1);
  EXPECT_TRUE(s->quarantined_toplevels(0)->count("/nix/store/a-top"));
  EXPECT_EQ(*s->clear_quarantine(std::nullopt), 1);
  EXPECT_TRUE(s->quarantined_toplevels(0)->empty());
}

TEST_F(StateStoreTest, NewerSchemaIsRefusedNotMisread) {
  { auto s = open(); }
  {
    auto db = sql::Database::open(db_path());
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec("PRAGMA user_version = 99"));
  }
  auto s = StateStore::open(db_path());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::conflict);
  EXPECT_THAT(s.error().message, HasSubstr("newer than this seedd"));
}

// Who holds a public port must survive a restart of seedd, or the next one would hand the
// port out by namespace order again.
TEST_F(StateStoreTest, PortHoldersSurviveReopenAndAreReleased) {
  const InstanceId web{"aaaaaaaaaaaaaa", "web"};
  const InstanceId api{"zzzzzzzzzzzzzz", "api"};
  {
    auto s = open();
    ASSERT_TRUE(s->hold_port({"tcp", 2222}, web, 1));
    ASSERT_TRUE(s->hold_port({"udp", 2222}, api, 1));
    ASSERT_TRUE(s->hold_port({"tcp", 53}, web, 1));
    auto taken = s->hold_port({"tcp", 2222}, api, 2);
    EXPECT_FALSE(taken) << "a held port is never taken over by the store";
  }
  auto s = open();
  auto held = s->port_holders();
  ASSERT_TRUE(held) << held.error().describe();
  EXPECT_EQ(*held, (std::map<PublicPort, InstanceId>{{{"tcp", 53}, web}, {{"tcp", 2222}, web}, {{"udp", 2222}, api}}));
  ASSERT_TRUE(s->release_port({"tcp", 53}));
  ASSERT_TRUE(s->release_ports(web));
  EXPECT_EQ(*s->port_holders(), (std::map<PublicPort, InstanceId>{{{"udp", 2222}, api}}));
}

// A database of the first schema (before port holders) is upgraded in place, its data kept.
TEST_F(StateStoreTest, VersionOneDatabaseIsUpgraded) {
  {
    auto s = open();
    ASSERT_TRUE(s->plant(source("silo:app"), "k", 1));
  }
  {
    auto db = sql::Database::open(db_path());
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec(
        "DROP TABLE deploys; DROP TABLE port_holders; DROP TABLE webhooks; ALTER TABLE sources DROP COLUMN fetched_at; "
        "ALTER TABLE sources DROP COLUMN fetched_because; PRAGMA user_version = 1"));
  }
  auto s = open();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->sources()->size(), 1u);
  EXPECT_TRUE(s->hold_port({"tcp", 22}, {"aaaaaaaaaaaaaa", "web"}, 1));
}

// Version 2 (before fetch reasons and webhooks): upgraded in place; sources read "never fetched".
TEST_F(StateStoreTest, VersionTwoDatabaseGetsFetchReasonsAndWebhooks) {
  {
    auto s = open();
    ASSERT_TRUE(s->plant(source("github:a/b"), "k", 1));
  }
  {
    auto db = sql::Database::open(db_path());
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec(
        "DROP TABLE deploys; DROP TABLE webhooks; ALTER TABLE sources DROP COLUMN fetched_at; "
        "ALTER TABLE sources DROP COLUMN fetched_because; PRAGMA user_version = 2"));
  }
  auto s = open();
  ASSERT_TRUE(s);
  auto all = s->sources();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].fetched_at, 0);
  EXPECT_EQ((*all)[0].fetched_because, "");
  EXPECT_TRUE(s->set_webhook("github:a/b", {"github:a/b", "h", "s"}, 5));
}

// Version 3 (before the deploy history): upgraded in place, every source with none yet.
TEST_F(StateStoreTest, VersionThreeDatabaseGetsADeployHistory) {
  {
    auto s = open();
    ASSERT_TRUE(s->plant(source("github:a/b"), "k", 1));
  }
  {
    auto db = sql::Database::open(db_path());
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec("DROP TABLE deploys; PRAGMA user_version = 3"));
  }
  auto s = open();
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->deploys("github:a/b")->empty());
  EXPECT_TRUE(s->record_deploy("github:a/b", {"poll", 5, 1, "ok", "done", ""}, 10));
  EXPECT_EQ(s->deploys("github:a/b")->size(), 1u);
}

// The owner's deploy history: newest first, the newest `keep` per source (other sources'
// untouched), kept across a reopen, gone with an unplant (a replant starts empty).
TEST_F(StateStoreTest, DeployHistoryIsNewestFirstBoundedPerSourceAndGoesWithTheSource) {
  {
    auto s = open();
    ASSERT_TRUE(s->plant(source("github:a/b"), "k", 1));
    ASSERT_TRUE(s->plant(source("github:c/d"), "k", 1));
    ASSERT_TRUE(s->record_deploy("github:c/d", {"plant", 1, 900, "ok", "done", ""}, 3));
    for (int n = 0; n < 5; ++n) {
      const bool ok = n % 2 == 0;
      ASSERT_TRUE(s->record_deploy("github:a/b", {"webhook", 100 + n, 10 * n, ok ? "ok" : "failed",
                                                  ok ? "done" : "build", ok ? "" : "build " + std::to_string(n) + " failed"},
                                   3));
    }
  }
  auto s = open();
  auto kept = s->deploys("github:a/b");
  ASSERT_TRUE(kept);
  ASSERT_EQ(kept->size(), 3u);
  EXPECT_EQ((*kept)[0].started_at, 104);
  EXPECT_EQ((*kept)[0].outcome, "ok");
  EXPECT_EQ((*kept)[1].started_at, 103);
  EXPECT_EQ((*kept)[1].stage, "build");
  EXPECT_EQ((*kept)[1].error, "build 3 failed");
  EXPECT_EQ((*kept)[1].duration_ms, 30);
  EXPECT_EQ((*kept)[2].started_at, 102);
  EXPECT_EQ(s->deploys("github:c/d")->size(), 1u);
  ASSERT_TRUE(s->unplant("github:a/b"));
  ASSERT_TRUE(s->plant(source("github:a/b"), "k", 2));
  EXPECT_TRUE(s->deploys("github:a/b")->empty());
}

TEST_F(StateStoreTest, FetchReasonsAndWebhooksAreKeptAndGoWithTheSource) {
  auto s = open();
  ASSERT_TRUE(s->plant(source("github:a/b"), "k", 1));
  ASSERT_TRUE(s->record_fetch("github:a/b", "webhook github push main d-1", 50));
  EXPECT_EQ((*s->sources())[0].fetched_at, 50);
  EXPECT_EQ((*s->sources())[0].fetched_because, "webhook github push main d-1");

  ASSERT_TRUE(s->set_webhook("github:a/b", {"github:a/b", "hook-1", "secret-1"}, 2));
  auto by_hook = s->webhook_by_hook("hook-1");
  ASSERT_TRUE(by_hook && by_hook->has_value());
  EXPECT_EQ((*by_hook)->canonical, "github:a/b");
  EXPECT_EQ((*by_hook)->secret, "secret-1");
  // Rotation replaces id and secret: the old URL stops working.
  ASSERT_TRUE(s->set_webhook("github:a/b", {"github:a/b", "hook-2", "secret-2"}, 3));
  EXPECT_FALSE(s->webhook_by_hook("hook-1")->has_value());
  EXPECT_EQ((*s->webhook_of("github:a/b"))->secret, "secret-2");
  // A webhook never outlives its source: unplant removes it.
  ASSERT_TRUE(s->unplant("github:a/b"));
  EXPECT_FALSE(s->webhook_by_hook("hook-2")->has_value());
}

TEST_F(StateStoreTest, GarbageFileIsAClearErrorAndIsLeftAlone) {
  const std::string garbage(4096, 'x');
  ASSERT_TRUE(write_file_atomic(db_path(), garbage));
  auto s = StateStore::open(db_path());
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().describe(), HasSubstr("state"));
  EXPECT_EQ(*read_file(db_path()), garbage);  // nothing overwritten
}

TEST_F(StateStoreTest, InvitesAreCountedAndExpire) {
  auto store = open();
  ASSERT_TRUE(store->add_invite("two-uses", 2, 0));
  ASSERT_TRUE(store->add_invite("expiring", 5, 1000));
  EXPECT_TRUE(store->consume_invite("two-uses", 10));
  EXPECT_TRUE(store->consume_invite("two-uses", 10));
  auto used_up = store->consume_invite("two-uses", 10);
  ASSERT_FALSE(used_up);
  EXPECT_EQ(used_up.error().code, Errc::permission_denied);
  EXPECT_THAT(used_up.error().message, HasSubstr("used up"));
  EXPECT_TRUE(store->consume_invite("expiring", 999));
  auto expired = store->consume_invite("expiring", 1000);
  ASSERT_FALSE(expired);
  EXPECT_THAT(expired.error().message, HasSubstr("expired"));
  auto unknown = store->consume_invite("nope", 10);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);
  EXPECT_FALSE(store->add_invite("two-uses", 1, 0)) << "codes are unique";
}

}  // namespace
}  // namespace seed::reconcile
