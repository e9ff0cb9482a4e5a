#include "reconcile/exec_ports.hpp"

#include <gtest/gtest.h>

namespace seed::reconcile {
namespace {

TEST(ExecPorts, HandsOutEachPortOnceThenRefusesBusy) {
  ExecPorts p;
  const InstanceId web{"s-abc", "web"};
  EXPECT_EQ(*p.take(web, 2), 0u);
  EXPECT_EQ(*p.take(web, 2), 1u);
  auto third = p.take(web, 2);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, Errc::in_use);
  EXPECT_EQ(third.error().message, "all 2 exec sessions of web are busy");
  // Another instance (same name, other namespace) has ports of its own.
  EXPECT_EQ(*p.take(InstanceId{"s-def", "web"}, 2), 0u);
  // A released port is the next one handed out.
  p.release(web, 0);
  EXPECT_EQ(*p.take(web, 2), 0u);
  // No ports at all (a hypervisor without them): busy at once, never a port that does not exist.
  EXPECT_FALSE(p.take(InstanceId{"s-ghi", "api"}, 0));
}

}  // namespace
}  // namespace seed::reconcile
