// The shoot admission gate with real threads (no timing assertions: waits are bounded by
// max_wait only so that a broken gate fails instead of hanging).
#include "reconcile/shoot_gate.hpp"

#include <gtest/gtest.h>

#include <future>
#include <optional>
#include <thread>

namespace seed::reconcile {
namespace {

using namespace std::chrono_literals;

TEST(ShootGate, CapsPerInstanceAndOnTheNode) {
  ShootGate gate({.per_instance = 2, .node = 3, .queue = 0, .max_wait = 50ms});
  auto a1 = gate.enter("a");
  auto a2 = gate.enter("a");
  ASSERT_TRUE(a1.ok() && a2.ok());
  auto a3 = gate.enter("a");  // instance cap, and no queue
  ASSERT_FALSE(a3.ok());
  EXPECT_EQ(a3.error().code, Errc::unavailable);
  EXPECT_TRUE(a3.error().get("retry_after").has_value());
  auto b1 = gate.enter("b");
  ASSERT_TRUE(b1.ok());
  auto b2 = gate.enter("b");  // node cap
  ASSERT_FALSE(b2.ok());
  EXPECT_EQ(gate.running(), 3u);
  EXPECT_EQ(gate.running("a"), 2u);
}

TEST(ShootGate, WaitersGoInArrivalOrderAndTimeOutWith429Material) {
  ShootGate gate({.per_instance = 1, .node = 1, .queue = 2, .max_wait = 20s});
  auto entered = gate.enter("a");
  ASSERT_TRUE(entered.ok());
  std::optional<ShootTicket> running(std::move(*entered));
  std::vector<std::string> order;
  std::mutex m;
  auto waiter = [&](const std::string& who) {
    auto t = gate.enter(who);
    EXPECT_TRUE(t.ok()) << t.error().describe();
    std::lock_guard l(m);
    order.push_back(who);
  };
  std::thread first([&] { waiter(std::string("b")); });
  while (gate.waiting() < 1) std::this_thread::yield();
  std::thread second([&] { waiter(std::string("c")); });
  while (gate.waiting() < 2) std::this_thread::yield();
  // The queue holds 2: a third waiter is refused at once.
  auto third = gate.enter("d");
  ASSERT_FALSE(third.ok());
  EXPECT_NE(third.error().message.find("too many shoots are waiting"), std::string::npos);
  running.reset();  // b goes, leaves; then c
  first.join();
  second.join();
  EXPECT_EQ(order, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(gate.running(), 0u);
}

TEST(ShootGate, AWaiterAtItsInstanceCapLetsOthersPass) {
  ShootGate gate({.per_instance = 1, .node = 2, .queue = 4, .max_wait = 20s});
  auto a = gate.enter("a");
  ASSERT_TRUE(a.ok());
  auto blocked = std::async(std::launch::async, [&] { return gate.enter("a").ok(); });
  while (gate.waiting() < 1) std::this_thread::yield();
  auto b = gate.enter("b");  // a's second waits for a; b may run beside it
  ASSERT_TRUE(b.ok());
  { auto release = std::move(*a); }
  EXPECT_TRUE(blocked.get());
}

TEST(ShootGate, WaitRunsOutAndCancellationLeavesTheQueue) {
  ShootGate gate({.per_instance = 1, .node = 1, .queue = 4, .max_wait = 200ms});
  auto a = gate.enter("a");
  ASSERT_TRUE(a.ok());
  auto late = gate.enter("b");
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().message.find("busy"), std::string::npos);
  EXPECT_EQ(gate.waiting(), 0u);
  std::atomic<bool> cancelled{true};
  ShootGate patient({.per_instance = 1, .node = 1, .queue = 4, .max_wait = 60s});
  auto held = patient.enter("a");
  auto gone = patient.enter("b", &cancelled);
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.error().message.find("cancelled"), std::string::npos);
  EXPECT_EQ(patient.waiting(), 0u);
}

}  // namespace
}  // namespace seed::reconcile
