// Silo with the real git client over the real OpenSSH client: first push creates and owns,
// others need .authorized_keys of the default branch as it was before their push, reads are
// public, names are checked, a push triggers reconciliation.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "sshcli/testing/ssh_fixture.hpp"

namespace seed::sshcli {
namespace {

using nlohmann::json;

class SiloGitTest : public testing::SshFixture {
 protected:
  // A work tree with one commit holding `.authorized_keys` = the given keys' lines.
  std::string make_repo(const std::string& name, const std::vector<std::string>& authorized) {
    std::string wt = dir_.path() + "/wt-" + name;
    std::filesystem::create_directories(wt);
    EXPECT_EQ(git("alice", wt, {"init", "-q"}).status.code, 0);
    write_keys(wt, authorized);
    std::ofstream(wt + "/flake.nix") << "{ outputs = _: { }; }\n";
    commit(wt, "initial");
    return wt;
  }
  void write_keys(const std::string& wt, const std::vector<std::string>& authorized) {
    std::ofstream f(wt + "/.authorized_keys");
    f << "# who may push\n";
    for (const auto& k : authorized) f << pub_lines_[k];
  }
  void commit(const std::string& wt, const std::string& message, const std::string& key = "alice") {
    EXPECT_EQ(git(key, wt, {"add", "-A"}).status.code, 0);
    auto r = git(key, wt, {"commit", "-q", "-m", message});
    EXPECT_EQ(r.status.code, 0) << r.err;
  }
  std::string head_of(const std::string& name) {
    auto r = run_checked(testing::cmd({"git", "--git-dir", config_.silo_root + "/" + name + ".git", "rev-parse", "HEAD"}));
    return r.ok() ? r->out : "";
  }
};

TEST_F(SiloGitTest, FirstPushCreatesAndOwnsOthersNeedAuthorizedKeys) {
  std::string wt = make_repo("app", {"alice"});
  auto first = git("alice", wt, {"push", "-q", "node:my-app.git", "master"});
  ASSERT_EQ(first.status.code, 0) << first.err;
  EXPECT_TRUE(std::filesystem::exists(config_.silo_root + "/my-app.git/HEAD"));
  auto owner = run_checked(testing::cmd({"git", "--git-dir", config_.silo_root + "/my-app.git", "config", "seed.owner"}));
  ASSERT_TRUE(owner.ok());
  EXPECT_EQ(owner->out, keys_["alice"].openssh() + "\n");

  // Anyone can clone (bob is listed nowhere), with the scp and the ssh:// URL forms.
  std::string bob_wt = dir_.path() + "/bob-clone";
  auto clone = git("bob", dir_.path(), {"clone", "-q", "node:my-app.git", bob_wt});
  ASSERT_EQ(clone.status.code, 0) << clone.err;
  EXPECT_TRUE(std::filesystem::exists(bob_wt + "/.authorized_keys"));
  auto url_clone = git("bob", dir_.path(), {"clone", "-q", "ssh://node/my-app.git", dir_.path() + "/bob-clone2"});
  EXPECT_EQ(url_clone.status.code, 0) << url_clone.err;

  // bob's push adds bob's own key: refused, because the check reads the branch before the push.
  write_keys(bob_wt, {"alice", "bob"});
  commit(bob_wt, "let me in", "bob");
  std::string before = head_of("my-app");
  auto refused = git("bob", bob_wt, {"push", "-q", "origin", "master"});
  EXPECT_NE(refused.status.code, 0);
  EXPECT_NE(refused.err.find("push to silo:my-app refused"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find(keys_["bob"].fingerprint), std::string::npos) << refused.err;
  EXPECT_EQ(head_of("my-app"), before);

  // alice adds bob; now bob's push goes through.
  write_keys(wt, {"alice", "bob"});
  commit(wt, "add bob");
  ASSERT_EQ(git("alice", wt, {"push", "-q", "ssh://node/my-app.git", "master"}).status.code, 0);
  EXPECT_EQ(git("bob", bob_wt, {"pull", "-q", "--rebase", "origin", "master"}).status.code, 0);
  std::ofstream(bob_wt + "/README") << "bob was here\n";  // (the rebase dropped bob's now empty commit)
  commit(bob_wt, "readme", "bob");
  auto accepted = git("bob", bob_wt, {"push", "-q", "origin", "HEAD:master"});
  EXPECT_EQ(accepted.status.code, 0) << accepted.err;
  // Not planted: every push that changed a ref asked for a trigger, and not_found was taken calmly.
  EXPECT_EQ(service_.count("trigger silo:my-app"), 3u);
}

TEST_F(SiloGitTest, PushToAPlantedRepoTriggersAndStatusReadsKeysFromTheRepo) {
  std::string wt = make_repo("planted", {"alice"});
  ASSERT_EQ(git("alice", wt, {"push", "-q", "node:site.git", "master"}).status.code, 0);

  // Plant it over SSH: the caller's key is read from the repository with libgit2.
  service_.add_invite("inv", 1, 0);
  service_.set_plant_result("silo:site", testing::make_source("silo:site", "s-ssssssssssss", {"web"}));
  auto plant = ssh("alice", "plant silo:site inv --json");
  ASSERT_EQ(plant.status.code, 0) << plant.err;
  EXPECT_EQ(ssh("bob", "plant silo:site inv").status.code, 3);
  EXPECT_EQ(json::parse(ssh("alice", "status --json").out)["sources"].size(), 1u);
  EXPECT_TRUE(json::parse(ssh("bob", "status --json").out)["sources"].empty());

  size_t before = service_.count("trigger silo:site");
  std::ofstream(wt + "/README") << "v2\n";
  commit(wt, "v2");
  ASSERT_EQ(git("alice", wt, {"push", "-q", "node:site.git", "master"}).status.code, 0);
  EXPECT_EQ(service_.count("trigger silo:site"), before + 1);
}

TEST_F(SiloGitTest, FirstPushOfMainPointsHeadAtIt) {
  std::string wt = make_repo("main", {"alice"});
  EXPECT_EQ(git("alice", wt, {"branch", "-q", "-m", "main"}).status.code, 0);
  ASSERT_EQ(git("alice", wt, {"push", "-q", "node:mainline.git", "main"}).status.code, 0);
  auto head = run_checked(testing::cmd({"git", "--git-dir", config_.silo_root + "/mainline.git", "symbolic-ref", "HEAD"}));
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->out, "refs/heads/main\n");
  // and the default branch's .authorized_keys is what counts: bob is still refused
  EXPECT_NE(git("bob", wt, {"push", "-q", "node:mainline.git", "main:other"}).status.code, 0);
}

TEST_F(SiloGitTest, BadNamesAndMissingReposAreRefusedCleanly) {
  std::string wt = make_repo("names", {"alice"});
  for (const char* remote : {"node:../escape.git", "node:.hidden.git", "node:a/b.git", "node:UPPER.git"}) {
    auto r = git("alice", wt, {"push", "-q", remote, "master"});
    EXPECT_NE(r.status.code, 0) << remote;
    EXPECT_NE(r.err.find("not a valid Silo repository name"), std::string::npos) << remote << ": " << r.err;
  }
  EXPECT_EQ(seed::testing::count_entries(config_.silo_root.c_str()), 0u);  // nothing was created
  auto missing = git("bob", dir_.path(), {"clone", "-q", "node:nothing.git", dir_.path() + "/x"});
  EXPECT_NE(missing.status.code, 0);
  EXPECT_NE(missing.err.find("no Silo repository 'nothing'"), std::string::npos) << missing.err;
}

TEST_F(SiloGitTest, RefsOutsideBranchesAndTagsAreRefused) {
  std::string wt = make_repo("refs", {"alice"});
  ASSERT_EQ(git("alice", wt, {"push", "-q", "node:refs.git", "master"}).status.code, 0);
  auto r = git("alice", wt, {"push", "-q", "node:refs.git", "master:refs/meta/config"});
  EXPECT_NE(r.status.code, 0);
  EXPECT_NE(r.err.find("outside refs/heads/ and refs/tags/"), std::string::npos) << r.err;
  // A refused first push leaves no empty repository behind (nobody squats the name).
  auto first = git("bob", wt, {"push", "-q", "node:fresh.git", "master:refs/meta/x"});
  EXPECT_NE(first.status.code, 0);
  EXPECT_TRUE(wait_idle());
  EXPECT_FALSE(std::filesystem::exists(config_.silo_root + "/fresh.git"));
  EXPECT_TRUE(wait_idle());
}

TEST_F(SiloGitTest, DeletingTheDefaultBranchIsRefusedWithTheReason) {
  std::string wt = make_repo("del", {"alice"});
  ASSERT_EQ(git("alice", wt, {"push", "-q", "node:del.git", "master", "master:feature"}).status.code, 0);
  auto r = git("alice", wt, {"push", "node:del.git", ":master"});
  EXPECT_NE(r.status.code, 0);
  EXPECT_NE(r.err.find("deleting refs/heads/master is not allowed: it is the repository's default branch"),
            std::string::npos) << r.err;
  // git's own refusal would tell the tenant to change a setting of the server's repository.
  EXPECT_EQ(r.err.find("denyDeleteCurrent"), std::string::npos) << r.err;
  EXPECT_FALSE(head_of("del").empty());
  auto other = git("alice", wt, {"push", "-q", "node:del.git", ":feature"});  // other branches may go
  EXPECT_EQ(other.status.code, 0) << other.err;
}

// A push git-receive-pack refuses (pack over receive.maxInputSize, an object failing fsck)
// still ends with its exit status 0; what the push changed is read from the refs.
class SiloRefusedPushTest : public SiloGitTest {
 protected:
  void adjust(ServerConfig& c) override { c.silo.max_pack_bytes = 64 << 10; }
  // A commit of `bytes` random (incompressible) bytes.
  void commit_random(const std::string& wt, size_t bytes) {
    std::ifstream random("/dev/urandom", std::ios::binary);
    std::string data(bytes, '\0');
    random.read(data.data(), static_cast<std::streamsize>(data.size()));
    std::ofstream(wt + "/blob.bin", std::ios::binary) << data;
    commit(wt, "random");
  }
  // A branch `branch` whose commit fails git fsck (an author line without an email).
  void commit_broken(const std::string& wt, const std::string& branch) {
    auto tree = git("alice", wt, {"rev-parse", "HEAD^{tree}"});
    std::string body = "tree " + tree.out.substr(0, tree.out.find('\n')) +
                       "\nauthor nobody 1700000000 +0000\ncommitter nobody 1700000000 +0000\n\nbroken\n";
    std::ofstream(wt + "/broken.txt") << body;
    auto oid = git("alice", wt, {"hash-object", "-t", "commit", "--literally", "-w", wt + "/broken.txt"});
    ASSERT_EQ(oid.status.code, 0) << oid.err;
    ASSERT_EQ(git("alice", wt, {"update-ref", "refs/heads/" + branch, oid.out.substr(0, oid.out.find('\n'))}).status.code, 0);
  }
};

TEST_F(SiloRefusedPushTest, ARefusedFirstPushLeavesTheNameFree) {
  std::string wt = make_repo("big", {"alice"});
  commit_random(wt, 256 << 10);
  auto refused = git("alice", wt, {"push", "node:taken.git", "master"});
  EXPECT_NE(refused.status.code, 0);
  EXPECT_NE(refused.err.find("exceeds maximum allowed size"), std::string::npos) << refused.err;  // git's reason
  EXPECT_NE(refused.err.find("nothing was pushed, so silo:taken was not created"), std::string::npos) << refused.err;
  EXPECT_TRUE(wait_idle());
  EXPECT_FALSE(std::filesystem::exists(config_.silo_root + "/taken.git"));
  EXPECT_EQ(service_.count("trigger"), 0u);

  // The same with a commit that fails fsck.
  std::string bad = make_repo("bad", {"alice"});
  commit_broken(bad, "master");
  auto unfsckable = git("alice", bad, {"push", "node:taken.git", "master"});
  EXPECT_NE(unfsckable.status.code, 0);
  EXPECT_TRUE(wait_idle());
  EXPECT_FALSE(std::filesystem::exists(config_.silo_root + "/taken.git"));

  // Nobody squats the name: bob's first push creates it, and bob owns it.
  std::string bob_wt = make_repo("small", {"bob"});
  auto bob = git("bob", bob_wt, {"push", "-q", "node:taken.git", "master"});
  ASSERT_EQ(bob.status.code, 0) << bob.err;
  auto owner = run_checked(testing::cmd({"git", "--git-dir", config_.silo_root + "/taken.git", "config", "seed.owner"}));
  ASSERT_TRUE(owner.ok());
  EXPECT_EQ(owner->out, keys_["bob"].openssh() + "\n");
  EXPECT_EQ(service_.count("trigger silo:taken"), 1u);
}

TEST_F(SiloRefusedPushTest, ARefusedLaterPushTriggersNothing) {
  std::string wt = make_repo("later", {"alice"});
  ASSERT_EQ(git("alice", wt, {"push", "-q", "node:later.git", "master"}).status.code, 0);
  ASSERT_EQ(service_.count("trigger silo:later"), 1u);
  std::string before = head_of("later");
  commit_broken(wt, "broken");
  auto refused = git("alice", wt, {"push", "node:later.git", "broken"});
  EXPECT_NE(refused.status.code, 0);
  EXPECT_NE(refused.err.find("nothing was pushed to silo:later"), std::string::npos) << refused.err;
  EXPECT_TRUE(wait_idle());
  EXPECT_EQ(head_of("later"), before);
  EXPECT_EQ(service_.count("trigger silo:later"), 1u);  // nothing changed: no redeploy
  // A push with nothing new ("Everything up-to-date") is no refusal.
  EXPECT_EQ(git("alice", wt, {"push", "-q", "node:later.git", "master"}).status.code, 0);
}

}  // namespace
}  // namespace seed::sshcli
