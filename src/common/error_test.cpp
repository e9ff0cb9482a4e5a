#include "common/error.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace seed {
namespace {

TEST(Error, WithAddsAndReplacesInOrder) {
  Error e = make_error(Errc::not_found, "kernel missing");
  e.with("stage", "prepare").with("file", "/boot/vmlinuz").with("stage", "boot");
  ASSERT_EQ(e.context.size(), 2u);
  EXPECT_EQ(e.context[0].first, "stage");
  EXPECT_EQ(e.context[0].second, "boot");  // replaced in place, order kept
  EXPECT_EQ(e.context[1].first, "file");
  EXPECT_EQ(e.get("file"), "/boot/vmlinuz");
  EXPECT_EQ(e.get("stage"), "boot");
  EXPECT_FALSE(e.get("vm").has_value());
}

TEST(Error, WithOnTemporaryChains) {
  Error e = make_error(Errc::io, "x").with("a", "1").with("b", "2");
  EXPECT_EQ(e.code, Errc::io);
  EXPECT_EQ(e.describe(), "x (a=1, b=2)");
}

TEST(Error, DescribeWithoutContextIsTheMessage) {
  EXPECT_EQ(make_error(Errc::internal, "boom").describe(), "boom");
}

TEST(Error, DescribePutsMultiLineValuesOnTheirOwnLines) {
  Error e = make_error(Errc::process_failed, "qemu exited with code 1")
                .with("stage", "spawn")
                .with("stderr", "line one\nline two\n")
                .with("vm", "web");
  EXPECT_EQ(e.describe(),
            "qemu exited with code 1 (stage=spawn, vm=web)\n"
            "stderr:\n"
            "line one\n"
            "line two");
}

TEST(Error, DescribeOnlyMultiLineContext) {
  Error e = make_error(Errc::process_failed, "failed").with("stderr", "a\nb");
  EXPECT_EQ(e.describe(), "failed\nstderr:\na\nb");
}

TEST(Error, ToStringNamesEveryCode) {
  EXPECT_EQ(to_string(Errc::invalid_argument), "invalid_argument");
  EXPECT_EQ(to_string(Errc::not_found), "not_found");
  EXPECT_EQ(to_string(Errc::unavailable), "unavailable");
  EXPECT_EQ(to_string(Errc::timeout), "timeout");
  EXPECT_EQ(to_string(Errc::process_failed), "process_failed");
  EXPECT_EQ(to_string(Errc::protocol), "protocol");
  EXPECT_EQ(to_string(Errc::internal), "internal");
}

struct ErrnoCase {
  int err;
  Errc code;
};

class ErrnoMapping : public ::testing::TestWithParam<ErrnoCase> {};

TEST_P(ErrnoMapping, MapsToCode) {
  Error e = errno_error("cannot open /x", GetParam().err);
  EXPECT_EQ(e.code, GetParam().code) << e.message;
  EXPECT_EQ(e.message, std::string("cannot open /x: ") + std::strerror(GetParam().err));
}

INSTANTIATE_TEST_SUITE_P(
    All, ErrnoMapping,
    ::testing::Values(ErrnoCase{ENOENT, Errc::not_found}, ErrnoCase{EEXIST, Errc::already_exists},
                      ErrnoCase{EACCES, Errc::permission_denied},
                      ErrnoCase{EPERM, Errc::permission_denied}, ErrnoCase{EBUSY, Errc::in_use},
                      ErrnoCase{EINVAL, Errc::invalid_argument},
                      ErrnoCase{ENAMETOOLONG, Errc::invalid_argument},
                      ErrnoCase{ETIMEDOUT, Errc::timeout},
                      ErrnoCase{ECONNREFUSED, Errc::unavailable},
                      ErrnoCase{ECONNRESET, Errc::unavailable}, ErrnoCase{EPIPE, Errc::unavailable},
                      ErrnoCase{EIO, Errc::io}, ErrnoCase{ENOSPC, Errc::io}));

TEST(Result, HoldsValue) {
  Result<std::string> r = std::string("hello");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(*r, "hello");
  EXPECT_EQ(r->size(), 5u);
  std::string moved = std::move(r).value();
  EXPECT_EQ(moved, "hello");
}

TEST(Result, HoldsError) {
  Result<int> r = make_error(Errc::timeout, "slow").with("stage", "boot");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error().code, Errc::timeout);
  EXPECT_EQ(r.error().get("stage"), "boot");
}

TEST(Result, MoveOnlyValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  auto p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

TEST(Result, Void) {
  Status good = ok();
  EXPECT_TRUE(good.ok());
  good.value();
  Status bad = make_error(Errc::conflict, "busy");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::conflict);
  Error taken = std::move(bad).error();
  EXPECT_EQ(taken.message, "busy");
}

Result<int> parse_positive(int v) {
  if (v <= 0) return make_error(Errc::invalid_argument, "not positive").with("value", std::to_string(v));
  return v;
}

Status check(bool good) {
  if (!good) return make_error(Errc::io, "check failed");
  return ok();
}

int steps_after_try = 0;

Result<int> doubled(int v) {
  int x = SEED_TRY(parse_positive(v));
  ++steps_after_try;
  return x * 2;
}

Status two_checks(bool first, bool second) {
  SEED_TRY(check(first));
  ++steps_after_try;
  SEED_TRY(check(second));
  return ok();
}

Result<std::string> doubled_text(int v) {
  // SEED_TRY across Result types: the error converts, the value is yielded.
  return std::to_string(SEED_TRY(doubled(v)));
}

TEST(SeedTry, YieldsValueOnSuccess) {
  steps_after_try = 0;
  auto r = doubled(21);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(steps_after_try, 1);
}

TEST(SeedTry, PropagatesErrorAndStops) {
  steps_after_try = 0;
  auto r = doubled(-3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(r.error().get("value"), "-3");
  EXPECT_EQ(steps_after_try, 0);
}

TEST(SeedTry, WorksWithStatus) {
  steps_after_try = 0;
  EXPECT_TRUE(two_checks(true, true).ok());
  EXPECT_EQ(steps_after_try, 1);
  auto st = two_checks(false, true);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "check failed");
  EXPECT_EQ(steps_after_try, 1);
}

TEST(SeedTry, ConvertsBetweenResultTypes) {
  auto good = doubled_text(5);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, "10");
  auto bad = doubled_text(0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace seed
