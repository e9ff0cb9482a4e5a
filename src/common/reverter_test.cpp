#include "common/reverter.hpp"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace seed {
namespace {

TEST(Reverter, UndoesInReverseOrderOnDestruction) {
  std::string order;
  {
    Reverter r;
    r.add([&] { order += "1"; });
    r.add([&] { order += "2"; });
    r.add([&] { order += "3"; });
    EXPECT_EQ(order, "");
  }
  EXPECT_EQ(order, "321");
}

TEST(Reverter, SuccessKeepsEverything) {
  int undone = 0;
  {
    Reverter r;
    r.add([&] { ++undone; });
    r.add([&] { ++undone; });
    r.success();
  }
  EXPECT_EQ(undone, 0);
}

TEST(Reverter, StepsAddedAfterSuccessStillRevert) {
  std::string order;
  {
    Reverter r;
    r.add([&] { order += "a"; });
    r.success();
    r.add([&] { order += "b"; });
  }
  EXPECT_EQ(order, "b");
}

TEST(Reverter, ThrowingStepDoesNotStopOthers) {
  std::string order;
  {
    Reverter r;
    r.add([&] { order += "1"; });
    r.add([&] {
      order += "2";
      throw std::runtime_error("undo failed");
    });
    r.add([&] { order += "3"; });
  }
  EXPECT_EQ(order, "321");
}

TEST(Reverter, EmptyFunctionIsHarmless) {
  std::string order;
  {
    Reverter r;
    r.add([&] { order += "1"; });
    r.add(std::function<void()>());  // calling it throws bad_function_call, which is swallowed
    r.add([&] { order += "2"; });
  }
  EXPECT_EQ(order, "21");
}

TEST(Reverter, ExplicitRevertRunsOnce) {
  int undone = 0;
  {
    Reverter r;
    r.add([&] { ++undone; });
    r.revert();
    EXPECT_EQ(undone, 1);
    r.revert();
    EXPECT_EQ(undone, 1);
  }
  EXPECT_EQ(undone, 1);
}

}  // namespace
}  // namespace seed
