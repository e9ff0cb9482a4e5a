#include "common/proc_stat.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>

namespace seed {
namespace {

TEST(ProcStat, UsageFollowsCpuBurnedAndMemoryTouched) {
  auto before = read_process_usage(getpid());
  ASSERT_TRUE(before);
  // Burn ~0.3 s of CPU and touch 64 MiB; both must show in /proc/self/stat.
  volatile uint64_t x = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < until) x = x + 1;
  const size_t size = 64u << 20;
  std::unique_ptr<char[]> block(new char[size]);
  std::memset(block.get(), 1, size);
  auto after = read_process_usage(getpid());
  ASSERT_TRUE(after);
  EXPECT_GE(after->cpu_seconds - before->cpu_seconds, 0.2);
  EXPECT_GE(after->memory_bytes, before->memory_bytes + size / 2);
  EXPECT_EQ(block[size - 1], 1);
  EXPECT_FALSE(read_process_usage(0x7ffffff0));  // no such process
}

}  // namespace
}  // namespace seed
