#include "net/expose_plan.hpp"

#include <gtest/gtest.h>

#include "net/testing/sample_spec.hpp"

namespace seed::net {
namespace {

using testing::sample_instance;

FirewallSpec spec_of(std::vector<FirewallInstance> instances) {
  FirewallSpec s = testing::sample_spec();
  s.instances = std::move(instances);
  return s;
}

TEST(ExposePlan, SecondClaimOfAPortIsAConflictAndTheFirstKeepsIt) {
  auto plan = plan_exposes(spec_of({
      sample_instance("alpha", "a", "10.88.0.2", "", {{8080, ExposeProtocol::tcp, 80}}),
      sample_instance("beta", "b", "10.88.0.3", "", {{8080, ExposeProtocol::tcp, 81}}),
  }));
  ASSERT_EQ(plan.forwards.size(), 1u);
  EXPECT_EQ(plan.forwards[0].instance, 0u);
  EXPECT_EQ(plan.forwards[0].guest_port, 80);
  ASSERT_EQ(plan.conflicts.size(), 1u);
  const Error& e = plan.conflicts[0];
  EXPECT_EQ(e.code, Errc::conflict);
  EXPECT_EQ(e.get("instance").value_or(""), "beta/b");
  EXPECT_EQ(e.get("holder").value_or(""), "alpha/a");
  EXPECT_EQ(e.get("port").value_or(""), "8080/tcp");
  EXPECT_NE(e.message.find("choose another public port"), std::string::npos);
}

TEST(ExposePlan, OrderDecidesWhoKeepsThePort) {
  auto plan = plan_exposes(spec_of({
      sample_instance("beta", "b", "10.88.0.3", "", {{8080, ExposeProtocol::tcp, 81}}),
      sample_instance("alpha", "a", "10.88.0.2", "", {{8080, ExposeProtocol::tcp, 80}}),
  }));
  ASSERT_EQ(plan.forwards.size(), 1u);
  EXPECT_EQ(plan.forwards[0].guest_port, 81);
  ASSERT_EQ(plan.conflicts.size(), 1u);
  EXPECT_EQ(plan.conflicts[0].get("instance").value_or(""), "alpha/a");
}

TEST(ExposePlan, TcpAndUdpOnOnePortAreIndependentButDnsNeedsBoth) {
  auto plan = plan_exposes(spec_of({
      sample_instance("alpha", "a", "10.88.0.2", "", {{53, ExposeProtocol::udp, 53}}),
      sample_instance("alpha", "b", "10.88.0.3", "", {{53, ExposeProtocol::tcp, 53}}),
      sample_instance("beta", "c", "10.88.0.4", "", {{53, ExposeProtocol::dns, 53},
                                                      {54, ExposeProtocol::dns, 53}}),
  }));
  // a: 53/udp, b: 53/tcp, c: 54/udp + 54/tcp; c's 53 is refused as a whole.
  ASSERT_EQ(plan.forwards.size(), 4u);
  EXPECT_EQ(plan.forwards[2].instance, 2u);
  EXPECT_EQ(plan.forwards[2].public_port, 54);
  EXPECT_EQ(plan.forwards[2].protocol, L4::udp);
  EXPECT_EQ(plan.forwards[3].protocol, L4::tcp);
  ASSERT_EQ(plan.conflicts.size(), 1u);
  EXPECT_EQ(plan.conflicts[0].get("port").value_or(""), "53/udp");
}

TEST(ExposePlan, IngressPortsAreSharedButNeverDnatted) {
  auto plan = plan_exposes(spec_of({
      sample_instance("alpha", "a", "10.88.0.2", "", {{443, ExposeProtocol::https, 443}}),
      sample_instance("beta", "b", "10.88.0.3", "", {{443, ExposeProtocol::https, 8443},
                                                      {80, ExposeProtocol::http, 80},
                                                      {50051, ExposeProtocol::grpc, 50051}}),
      sample_instance("beta", "c", "10.88.0.4", "", {{443, ExposeProtocol::tcp, 443}}),
  }));
  EXPECT_TRUE(plan.forwards.empty());
  ASSERT_EQ(plan.conflicts.size(), 1u);
  EXPECT_EQ(plan.conflicts[0].get("instance").value_or(""), "beta/c");
  EXPECT_NE(plan.conflicts[0].message.find("ingress proxy"), std::string::npos);
}

TEST(ExposePlan, TcpFirstThenIngressOnTheSamePortIsAConflictForTheIngressOne) {
  auto plan = plan_exposes(spec_of({
      sample_instance("alpha", "a", "10.88.0.2", "", {{443, ExposeProtocol::tcp, 443}}),
      sample_instance("beta", "b", "10.88.0.3", "", {{443, ExposeProtocol::https, 443}}),
  }));
  ASSERT_EQ(plan.forwards.size(), 1u);
  ASSERT_EQ(plan.conflicts.size(), 1u);
  EXPECT_EQ(plan.conflicts[0].get("holder").value_or(""), "alpha/a");
}

}  // namespace
}  // namespace seed::net
