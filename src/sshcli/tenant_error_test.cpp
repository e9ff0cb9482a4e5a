// What a tenant sees of an error: only tenant-facing context, no node paths.
#include "sshcli/tenant_error.hpp"

#include <gtest/gtest.h>

namespace seed::sshcli {
namespace {

TEST(TenantError, NodePathsBecomePlaceholders) {
  EXPECT_EQ(hide_node_paths("reading /var/lib/seed/instances/web.ns/tpm-share/age-recipient: Permission denied"),
            "reading <node path>: Permission denied");
  EXPECT_EQ(hide_node_paths("cannot open '/srv/silo/app.git' (x=/run/seedd/control.sock)"),
            "cannot open '<node path>' (x=<node path>)");
  EXPECT_EQ(hide_node_paths("nix fetch of git+file:///var/lib/seed/silo/app.git failed"),
            "nix fetch of git+file://<node path> failed");
  EXPECT_EQ(hide_node_paths("path:/etc/seed/x"), "path:<node path>");
}

TEST(TenantError, TenantPathsAndNamesStay) {
  for (const char* kept : {
           "error: undefined variable 'x' at /nix/store/abc-source/web.nix:3:5",
           "read it at /seed/tpm/age-identity or /run/seed/env in the guest",
           "fetching https://github.com/alice/app/archive/x.tar.gz",
           "say which one: app/web, blog/web",
           "github:alice/app/web",
           "1/2 done",
           "key SHA256:/73jcjNA2hvYT849yNA61pD9ynKTfZ17roeCi8oQ6rA is not the owner's",
       }) {
    EXPECT_EQ(hide_node_paths(kept), kept);
  }
}

TEST(TenantError, OnlyTenantFacingContextIsKept) {
  Error e = make_error(Errc::not_found, "instance web.ns has not published its age recipient yet")
                .with("instance", "web.ns")
                .with("path", "/var/lib/seed/instances/web.ns/tpm-share/age-recipient")
                .with("socket", "/run/seedd/x.sock")
                .with("binary", "swtpm")
                .with("stage", "runtime")
                .with("stderr", "error: cannot read /var/lib/seed/x\n")
                .with("hint", "enable sops-nix");
  Error shown = for_tenant(e);
  EXPECT_EQ(shown.code, Errc::not_found);
  EXPECT_EQ(shown.message, e.message);
  ASSERT_EQ(shown.context.size(), 4u);
  EXPECT_EQ(shown.get("instance"), "web.ns");
  EXPECT_EQ(shown.get("stage"), "runtime");
  EXPECT_EQ(shown.get("hint"), "enable sops-nix");
  EXPECT_EQ(shown.get("stderr"), "error: cannot read <node path>\n");
  EXPECT_FALSE(shown.get("path"));
  EXPECT_FALSE(shown.get("socket"));
}

TEST(TenantError, StatusFailuresHideNodePaths) {
  reconcile::SourceView v;
  v.failure = reconcile::Failure{"eval", "error: at /nix/store/abc-source/web.nix:3:5", 1};
  reconcile::InstanceView i;
  i.failure = reconcile::Failure{"boot", "virtiofsd exited; see /var/lib/seed/vms/web/virtiofsd.log", 1};
  v.instances.push_back(i);
  v.deploys = {{"push", 1, 2, "failed", "boot", "web: virtiofsd exited; see /var/lib/seed/vms/web/virtiofsd.log"}};
  auto shown = for_tenant(v);
  EXPECT_EQ(shown.failure->message, "error: at /nix/store/abc-source/web.nix:3:5");
  EXPECT_EQ(shown.instances[0].failure->message, "virtiofsd exited; see <node path>");
  EXPECT_EQ(shown.deploys[0].error, "web: virtiofsd exited; see <node path>");
}

}  // namespace
}  // namespace seed::sshcli
