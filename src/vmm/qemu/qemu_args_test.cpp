#include "common/testing/temp_dir.hpp"
#include "vmm/qemu/qemu_args.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/fd.hpp"
#include "common/process.hpp"

namespace seed::vmm::qemu {
namespace {

using ::testing::Contains;
using ::testing::Not;

// Set SEED_UPDATE_GOLDEN=1 to rewrite the golden files from the current output.
std::string testdata(const std::string& name) {
  std::filesystem::path here = std::filesystem::path(__FILE__).parent_path();
  if (const char* src = std::getenv("SEED_SOURCE_DIR")) {
    here = std::filesystem::path(src) / "src/vmm/qemu";
  } else if (here.is_relative()) {
    // Run by hand: __FILE__ is relative to the build root, two levels above this binary.
    here = std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path() / here;
  }
  return (here / "testdata" / name).string();
}

std::string join_lines(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) out += a + "\n";
  return out;
}

// Compares against the golden file, one argument per line; on mismatch prints a unified diff.
void expect_golden(const std::vector<std::string>& args, const std::string& name) {
  std::string path = testdata(name);
  std::string actual = join_lines(args);
  if (std::getenv("SEED_UPDATE_GOLDEN") != nullptr) {
    ASSERT_TRUE(write_file_atomic(path, actual).ok());
  }
  auto golden = read_file(path);
  ASSERT_TRUE(golden.ok()) << golden.error().describe();
  if (*golden == actual) return;
  seed::testing::TempDir tmp;
  std::string actual_file = tmp.path() + "/" + name;
  ASSERT_TRUE(write_file_atomic(actual_file, actual).ok());
  SpawnOptions diff;
  diff.argv = {"diff", "-u", path, actual_file};
  auto d = run(diff);
  ADD_FAILURE() << "qemu_args() differs from " << path
                << " (SEED_UPDATE_GOLDEN=1 rewrites it):\n"
                << (d.ok() ? d->out : d.error().describe());
}

VmPaths paths() { return VmPaths::for_vm("/run/seedd", "/var/lib/seed", "web"); }

VmSpec microvm_spec() {
  VmSpec s;
  s.name = "web";
  s.vcpus = 2;
  s.memory_mib = 1024;
  s.kernel = "/nix/store/aaaa-linux/bzImage";
  s.initrd = "/nix/store/bbbb-initrd/initrd";
  s.cmdline = "console=ttyS0 init=/init";
  s.shares = {{"nix-store", "/nix/store", true}, {"data", "/var/lib/seed/volumes/web", false}};
  s.nets = {{"seedtap0", "52:54:00:12:34:56"}};
  return s;
}

VmSpec q35_spec() {
  VmSpec s;
  s.name = "vault";
  s.vcpus = 1;
  s.memory_mib = 512;
  s.kernel = "/nix/store/cccc-linux/bzImage";
  s.cmdline = "console=ttyS0";
  s.shares = {{"nix-store", "/nix/store", true}};
  s.nets = {{"seedtap1", "52:54:00:00:00:01"}};
  s.tpm_socket = "/run/seedd/vm/vault/swtpm.sock";
  return s;
}

QemuArgsInput tcg(unsigned tsc_khz = 0) {
  QemuArgsInput in;
  in.accel = Accel::tcg;
  in.tsc_khz = tsc_khz;
  in.exec_ports = 4;
  return in;
}

std::string value_after(const std::vector<std::string>& args, const std::string& flag) {
  auto it = std::find(args.begin(), args.end(), flag);
  if (it == args.end() || it + 1 == args.end()) return "<absent>";
  return *(it + 1);
}

TEST(QemuArgs, MicrovmGolden) {
  expect_golden(qemu_args(microvm_spec(), paths(), tcg(2100000)), "microvm_args.txt");
}

TEST(QemuArgs, Q35TpmGolden) {
  QemuArgsInput in;
  in.binary = "/usr/bin/qemu-system-x86_64";
  in.accel = Accel::kvm;
  in.control_fd = 5;
  in.agent_fd = 6;
  in.console_fd = 7;
  in.exec_fd = 8;
  in.exec_ports = 2;
  in.tsc_khz = 2100000;  // ignored: KVM and q35 have proper clocks
  auto args = qemu_args(q35_spec(), VmPaths::for_vm("/run/seedd", "/var/lib/seed", "vault"), in);
  expect_golden(args, "q35_tpm_args.txt");
}

TEST(QemuArgs, MachineChoice) {
  EXPECT_FALSE(uses_q35(microvm_spec()));
  EXPECT_TRUE(uses_q35(q35_spec()));
  auto micro = qemu_args(microvm_spec(), paths(), tcg());
  EXPECT_EQ(value_after(micro, "-machine"), "microvm,acpi=on,memory-backend=mem");
  EXPECT_THAT(micro, Contains("virtio-mmio.force-legacy=false"));
  auto q35 = qemu_args(q35_spec(), paths(), tcg());
  EXPECT_EQ(value_after(q35, "-machine"), "q35,memory-backend=mem");
  EXPECT_THAT(q35, Not(Contains("virtio-mmio.force-legacy=false")));
  EXPECT_THAT(q35, Contains("tpm-crb,tpmdev=tpm0"));
  EXPECT_THAT(micro, Not(Contains("-tpmdev")));
}

TEST(QemuArgs, HotplugSlotsMakeQ35WithEmptyRootPortsAndNoTpm) {
  // A shoot clone: q35 for PCIe hot-plug, but no TPM unless the spec names one.
  VmSpec spec = microvm_spec();
  spec.hotplug_slots = 2;
  EXPECT_TRUE(uses_q35(spec));
  auto args = qemu_args(spec, paths(), tcg());
  EXPECT_EQ(value_after(args, "-machine"), "q35,memory-backend=mem");
  EXPECT_THAT(args, Contains("pcie-root-port,id=seed-hp0,chassis=1"));
  EXPECT_THAT(args, Contains("pcie-root-port,id=seed-hp1,chassis=2"));
  EXPECT_THAT(args, Not(Contains("pcie-root-port,id=seed-hp2,chassis=3")));
  EXPECT_THAT(args, Not(Contains("-tpmdev")));
  EXPECT_EQ(hotplug_port_id(1), "seed-hp1");
}

TEST(QemuArgs, IncomingDefer) {
  QemuArgsInput in = tcg();
  in.incoming = true;
  auto args = qemu_args(microvm_spec(), paths(), in);
  ASSERT_GE(args.size(), 2u);
  EXPECT_EQ(args[args.size() - 2], "-incoming");
  EXPECT_EQ(args.back(), "defer");
  EXPECT_THAT(qemu_args(microvm_spec(), paths(), tcg()), Not(Contains("-incoming")));
}

TEST(QemuArgs, TscEarlyKhzOnlyForTcgMicrovm) {
  EXPECT_EQ(value_after(qemu_args(microvm_spec(), paths(), tcg(2500000)), "-append"),
            "console=ttyS0 init=/init tsc_early_khz=2500000");
  // Not without a rate, not under KVM, not on q35.
  EXPECT_EQ(value_after(qemu_args(microvm_spec(), paths(), tcg(0)), "-append"),
            "console=ttyS0 init=/init");
  QemuArgsInput kvm = tcg(2500000);
  kvm.accel = Accel::kvm;
  EXPECT_EQ(value_after(qemu_args(microvm_spec(), paths(), kvm), "-append"),
            "console=ttyS0 init=/init");
  EXPECT_EQ(value_after(qemu_args(q35_spec(), paths(), tcg(2500000)), "-append"),
            "console=ttyS0");
}

TEST(QemuArgs, TscEarlyKhzNotDuplicated) {
  VmSpec s = microvm_spec();
  s.cmdline = "console=ttyS0 tsc_early_khz=1000";
  EXPECT_EQ(value_after(qemu_args(s, paths(), tcg(2500000)), "-append"),
            "console=ttyS0 tsc_early_khz=1000");
  s.cmdline.clear();
  EXPECT_EQ(value_after(qemu_args(s, paths(), tcg(2500000)), "-append"), "tsc_early_khz=2500000");
}

TEST(QemuArgs, NoInitrdNoSharesNoNets) {
  VmSpec s = microvm_spec();
  s.initrd.clear();
  s.shares.clear();
  s.nets.clear();
  auto args = qemu_args(s, paths(), tcg());
  EXPECT_THAT(args, Not(Contains("-initrd")));
  EXPECT_THAT(args, Not(Contains("-netdev")));
  EXPECT_EQ(std::count(args.begin(), args.end(), "-chardev"), 9);  // qmp, serial, agent, log, console, exec 0-3
  EXPECT_THAT(args, Contains("virtserialport,chardev=seedexec3,name=org.seed.exec.3"));
}

TEST(QemuArgs, CommasInPathsAreEscaped) {
  VmSpec s = q35_spec();
  s.tpm_socket = "/run/a,b/swtpm.sock";
  auto args = qemu_args(s, VmPaths::for_vm("/run/x,y", "/var/lib/seed", "vault"), tcg());
  EXPECT_THAT(args, Contains("file,id=serial0,path=/run/x,,y/vm/vault/serial.fifo"));
  EXPECT_THAT(args, Contains("file,id=seedlog,path=/run/x,,y/vm/vault/log.fifo"));
  EXPECT_THAT(args, Contains("socket,id=fs-nix-store,path=/run/x,,y/vm/vault/fs-nix-store.sock"));
  EXPECT_THAT(args, Contains("socket,id=tpm,path=/run/a,,b/swtpm.sock"));
}

}  // namespace
}  // namespace seed::vmm::qemu
