#include "vmm/qemu/tsc_rate.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace seed::vmm::qemu {
namespace {

TEST(TscRate, Leaf15GivesCrystalTimesRatio) {
  // A 24 MHz crystal with ratio 176/2 (an Intel client part): 2112 MHz.
  EXPECT_EQ(tsc_khz_from_cpuid_leaf15(2, 176, 24'000'000), 2'112'000u);
}

TEST(TscRate, Leaf15WithoutCrystalOrRatioIsUnknown) {
  EXPECT_EQ(tsc_khz_from_cpuid_leaf15(2, 176, 0), std::nullopt);  // crystal not stated
  EXPECT_EQ(tsc_khz_from_cpuid_leaf15(0, 176, 24'000'000), std::nullopt);
  EXPECT_EQ(tsc_khz_from_cpuid_leaf15(2, 0, 24'000'000), std::nullopt);
  EXPECT_EQ(tsc_khz_from_cpuid_leaf15(1, 1, 1000), std::nullopt);  // 1 kHz: not a CPU
}

TEST(TscRate, CpuinfoTakesTheFirstCpuMhzLine) {
  EXPECT_EQ(khz_from_cpuinfo("processor\t: 0\ncpu MHz\t\t: 2000.000\n\ncpu MHz\t\t: 3100.5\n"),
            2'000'000u);
  EXPECT_EQ(khz_from_cpuinfo("cpu MHz\t\t: 1996.2494\n"), 1'996'249u);
  EXPECT_EQ(khz_from_cpuinfo("processor\t: 0\n"), std::nullopt);
  EXPECT_EQ(khz_from_cpuinfo("cpu MHz\t\t: fast\n"), std::nullopt);
}

#if defined(__x86_64__)
TEST(TscRate, MeasurementIsStableAcrossWindows) {
  // Two independent measurements of different lengths agree: the number is the TSC's rate,
  // not noise. (Preemption on a loaded 2-core machine can stretch one window, so allow 3 %.)
  auto short_window = measure_tsc_khz(20);
  auto long_window = measure_tsc_khz(100);
  ASSERT_TRUE(short_window && long_window);
  EXPECT_NEAR(static_cast<double>(*short_window), static_cast<double>(*long_window),
              0.03 * static_cast<double>(*long_window));
  EXPECT_EQ(host_tsc_khz() > 0, true);
}
#endif

}  // namespace
}  // namespace seed::vmm::qemu
