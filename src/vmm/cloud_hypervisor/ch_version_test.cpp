#include "vmm/cloud_hypervisor/ch_version.hpp"

#include <gtest/gtest.h>

#include <set>

namespace seed::vmm::ch {
namespace {

ChVersion parse_ok(std::string_view text) {
  auto v = parse_ch_version(text);
  EXPECT_TRUE(v.ok()) << text;
  return v ? *v : ChVersion{};
}

TEST(ChVersion, ParsesWhatPingAndVersionPrint) {
  EXPECT_EQ(parse_ok("53.0.0"), (ChVersion{53, 0, 0}));                     // vmm.ping "version"
  EXPECT_EQ(parse_ok("v53.0"), (ChVersion{53, 0, 0}));                      // build_version, tag
  EXPECT_EQ(parse_ok("v50.2"), (ChVersion{50, 2, 0}));                      // point release
  EXPECT_EQ(parse_ok("v53.0-dirty"), (ChVersion{53, 0, 0}));
  EXPECT_EQ(parse_ok("v52.0-41-g6f815c454"), (ChVersion{52, 0, 0}));        // git describe
  EXPECT_EQ(parse_ok("v53.0-4-gae44c29-dirty-nixos"), (ChVersion{53, 0, 0}));  // CH_EXTRA_VERSION
  EXPECT_EQ(parse_ok("cloud-hypervisor v53.0"), (ChVersion{53, 0, 0}));     // --version
  EXPECT_EQ(parse_ok("47.1.2"), (ChVersion{47, 1, 2}));
}

TEST(ChVersion, RejectsWhatIsNotAVersion) {
  for (std::string_view bad : {"", "v", "dev", "53", "v53.", "x86_64", "53.0beta", "v.53.0"}) {
    auto v = parse_ch_version(bad);
    EXPECT_FALSE(v.ok()) << "'" << bad << "' parsed as " << (v ? v->to_string() : "");
    if (!v) {
      EXPECT_EQ(v.error().code, Errc::protocol);
    }
  }
}

TEST(ChVersion, OrdersAndPrints) {
  EXPECT_LT((ChVersion{47, 0, 0}), (ChVersion{47, 0, 1}));
  EXPECT_LT((ChVersion{9, 9, 9}), (ChVersion{10, 0, 0}));
  EXPECT_EQ((ChVersion{53, 0, 0}).to_string(), "v53.0");
  EXPECT_EQ((ChVersion{50, 1, 2}).to_string(), "v50.1.2");
}

TEST(ChVersion, FeatureGatesFollowTheReleases) {
  EXPECT_FALSE(ch_supports({46, 0, 0}, ChFeature::error_chain_json));
  EXPECT_TRUE(ch_supports({47, 0, 0}, ChFeature::error_chain_json));
  EXPECT_FALSE(ch_supports({52, 0, 0}, ChFeature::not_created_is_404));
  EXPECT_TRUE(ch_supports({53, 0, 0}, ChFeature::not_created_is_404));
  EXPECT_FALSE(ch_supports({51, 0, 0}, ChFeature::restore_resume_flag));
  EXPECT_TRUE(ch_supports({52, 0, 0}, ChFeature::restore_resume_flag));
  EXPECT_FALSE(ch_supports({51, 2, 0}, ChFeature::memory_restore_on_demand));
  EXPECT_TRUE(ch_supports({52, 0, 0}, ChFeature::memory_restore_on_demand));
  EXPECT_FALSE(ch_supports({48, 0, 0}, ChFeature::net_ip_optional));
  EXPECT_TRUE(ch_supports({49, 0, 0}, ChFeature::net_ip_optional));
  // No release serves the virtio-console on a socket; console_config() relies on that.
  EXPECT_FALSE(ch_supports({999, 0, 0}, ChFeature::console_socket));
}

TEST(ChVersion, TargetAndMinimumHaveWhatTheDriverNeeds) {
  for (auto f : {ChFeature::api_socket_fd, ChFeature::ping_features}) {
    EXPECT_TRUE(ch_supports(kChMinimumVersion, f)) << ch_feature_gate(f).name;
  }
  for (auto f : {ChFeature::error_chain_json, ChFeature::not_created_is_404}) {
    EXPECT_TRUE(ch_supports(kChTargetVersion, f)) << ch_feature_gate(f).name;
  }
  EXPECT_LE(kChMinimumVersion, kChTargetVersion);
}

TEST(ChVersion, EveryFeatureHasOneRowWithASource) {
  std::set<ChFeature> seen;
  for (const auto& gate : ch_feature_table()) {
    EXPECT_TRUE(seen.insert(gate.feature).second) << gate.name << " listed twice";
    EXPECT_FALSE(gate.note.empty()) << gate.name;
    EXPECT_EQ(&ch_feature_gate(gate.feature), &gate);
  }
  EXPECT_EQ(seen.size(), 8u);
}

}  // namespace
}  // namespace seed::vmm::ch
