// The host's TSC rate, for the guest kernel's tsc_early_khz= under TCG.
//
// Under TCG the guest's rdtsc reads the host's TSC, so the guest needs the host's TSC rate, not
// the CPU's current clock: "cpu MHz" in /proc/cpuinfo is the latter, and on hosts with
// frequency scaling it can be far off (a kernel told the wrong rate keeps wrong time). The
// rate comes, in order of trust, from CPUID leaf 0x15 (the TSC/crystal ratio the CPU states),
// from measuring the TSC against CLOCK_MONOTONIC_RAW, and only then from "cpu MHz".
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace seed::vmm::qemu {

// CPUID leaf 0x15: EAX = denominator, EBX = numerator, ECX = crystal clock in Hz (0: not stated).
std::optional<unsigned> tsc_khz_from_cpuid_leaf15(uint32_t eax, uint32_t ebx, uint32_t ecx);

// The first "cpu MHz" line of /proc/cpuinfo's text, in kHz.
std::optional<unsigned> khz_from_cpuinfo(std::string_view cpuinfo);

// Counts TSC ticks over `window_ms` of CLOCK_MONOTONIC_RAW; nullopt off x86-64.
std::optional<unsigned> measure_tsc_khz(unsigned window_ms);

// The best available rate in kHz, or 0 when nothing is known. Costs up to ~20 ms (a
// measurement); callers compute it once.
unsigned host_tsc_khz();

}  // namespace seed::vmm::qemu
