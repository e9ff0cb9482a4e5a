// A whole node for end-to-end tests of the reconcile engine: a fresh network namespace
// holding the bridge, taps and nftables; real file volumes (loop + ext4), real swtpm, real
// QEMU/TCG guests, real nix building nixpkgs-free test flakes (tests/flakes); seedd's DNS zone
// and a real DNS server and ingress proxy on the namespace's loopback.
//
// Everything that touches the network runs inside the namespace (TestNetns::run): call the
// engine only through `in_ns`.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/testing/temp_dir.hpp"
#include "net/dns/server.hpp"
#include "net/testing/netns.hpp"
#include "reconcile/engine.hpp"

namespace seed::e2e {

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Opens and starts an engine on this node's directories (again after `crash_engine`).
  void open_engine(reconcile::EngineConfig overrides_from = {});
  void close_engine();

  // Writes the test flake `flake_nix` into <root>/<dir> as a new git commit and returns its
  // "git+file://" URI.
  std::string write_flake(const std::string& flake_nix, const std::string& dir = "flake");
  // The usual tenant flake: one instance `web` serving its seed share on port 80 (so
  // /instance.json names the generation) and its volume `data` on 8080.
  std::string web_flake(const std::string& seed_attrs, const std::string& extra_params = "") const;

  template <class F>
  auto in_ns(F&& fn) {
    return netns_->run(std::forward<F>(fn));
  }
  // curl inside the namespace; "" on failure.
  std::string http_get(const std::string& url, const std::string& host_header = "");
  std::string dig(const std::string& name);
  reconcile::InstanceView instance(const std::string& source, const std::string& name);

  std::string root() const { return tmp_.path(); }
  reconcile::EngineConfig config_;
  std::unique_ptr<net::testing::TestNetns> netns_;
  std::unique_ptr<net::dns::ZoneStore> zone_;
  std::unique_ptr<net::dns::Server> dns_;
  std::unique_ptr<net::ingress::Server> ingress_;
  std::unique_ptr<reconcile::Engine> engine_;
  seed::testing::TempDir tmp_;
};

}  // namespace seed::e2e
