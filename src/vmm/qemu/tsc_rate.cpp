#include "vmm/qemu/tsc_rate.hpp"

#include <time.h>

#include <cstdlib>
#include <string>

#include "common/fd.hpp"

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

namespace seed::vmm::qemu {
namespace {

uint64_t monotonic_raw_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Rates outside this range are a broken reading, not a CPU.
bool plausible(uint64_t khz) { return khz >= 100'000 && khz <= 10'000'000; }

}  // namespace

std::optional<unsigned> tsc_khz_from_cpuid_leaf15(uint32_t eax, uint32_t ebx, uint32_t ecx) {
  if (eax == 0 || ebx == 0 || ecx == 0) return std::nullopt;
  uint64_t khz = static_cast<uint64_t>(ecx) * ebx / eax / 1000;
  if (!plausible(khz)) return std::nullopt;
  return static_cast<unsigned>(khz);
}

std::optional<unsigned> khz_from_cpuinfo(std::string_view cpuinfo) {
  auto at = cpuinfo.find("cpu MHz");
  if (at == std::string_view::npos) return std::nullopt;
  auto colon = cpuinfo.find(':', at);
  if (colon == std::string_view::npos) return std::nullopt;
  std::string value(cpuinfo.substr(colon + 1, cpuinfo.find('\n', colon) - colon - 1));
  char* end = nullptr;
  double mhz = std::strtod(value.c_str(), &end);
  if (end == value.c_str()) return std::nullopt;
  auto khz = static_cast<uint64_t>(mhz * 1000.0 + 0.5);
  if (!plausible(khz)) return std::nullopt;
  return static_cast<unsigned>(khz);
}

#if defined(__x86_64__)
namespace {

// One (monotonic ns, TSC) pair read as close together as possible: the TSC is read on both
// sides of the clock and the tightest of a few tries wins, so a preemption between the two
// reads cannot skew the pair. (Preemption between the two pairs is harmless: both clocks run.)
struct ClockPair {
  uint64_t ns;
  uint64_t tsc;
};
ClockPair read_pair() {
  ClockPair best{0, 0};
  uint64_t best_gap = UINT64_MAX;
  for (int i = 0; i < 8; ++i) {
    const uint64_t before = __rdtsc();
    const uint64_t ns = monotonic_raw_ns();
    const uint64_t after = __rdtsc();
    if (after - before < best_gap) {
      best_gap = after - before;
      best = {ns, before + (after - before) / 2};
    }
  }
  return best;
}

}  // namespace
#endif

std::optional<unsigned> measure_tsc_khz(unsigned window_ms) {
#if defined(__x86_64__)
  const ClockPair start = read_pair();
  const uint64_t want = start.ns + static_cast<uint64_t>(window_ms) * 1000000ull;
  while (monotonic_raw_ns() < want) {
  }
  const ClockPair end = read_pair();
  if (end.ns <= start.ns || end.tsc <= start.tsc) return std::nullopt;
  const double khz = static_cast<double>(end.tsc - start.tsc) * 1e6 / static_cast<double>(end.ns - start.ns);
  auto rounded = static_cast<uint64_t>(khz + 0.5);
  if (!plausible(rounded)) return std::nullopt;
  return static_cast<unsigned>(rounded);
#else
  (void)window_ms;
  return std::nullopt;
#endif
}

unsigned host_tsc_khz() {
#if defined(__x86_64__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0, nullptr) >= 0x15 && __get_cpuid(0x15, &eax, &ebx, &ecx, &edx)) {
    if (auto khz = tsc_khz_from_cpuid_leaf15(eax, ebx, ecx)) return *khz;
  }
#endif
  if (auto khz = measure_tsc_khz(20)) return *khz;
  auto cpuinfo = read_file("/proc/cpuinfo");
  if (cpuinfo) {
    if (auto khz = khz_from_cpuinfo(*cpuinfo)) return *khz;
  }
  return 0;
}

}  // namespace seed::vmm::qemu
