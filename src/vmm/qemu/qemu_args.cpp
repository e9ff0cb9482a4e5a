#include "vmm/qemu/qemu_args.hpp"

namespace seed::vmm::qemu {

bool uses_q35(const VmSpec& spec) { return !spec.tpm_socket.empty() || spec.hotplug_slots > 0; }

std::string hotplug_port_id(unsigned index) { return "seed-hp" + std::to_string(index); }

namespace {

// A value inside QEMU's comma-separated option syntax: a literal ',' is written ",,".
// Without this a path holding a comma would end the value and add options of its own.
std::string opt(const std::string& value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

}  // namespace

std::vector<std::string> qemu_args(const VmSpec& spec, const VmPaths& paths,
                                   const QemuArgsInput& input) {
  const bool q35 = uses_q35(spec);
  // microvm's devices sit on virtio-mmio; q35's on PCI.
  auto dev = [&](const std::string& base) { return base + (q35 ? "-pci" : "-device"); };
  const std::string mem = std::to_string(spec.memory_mib) + "M";
  std::string cmdline = spec.cmdline;
  if (input.accel == Accel::tcg && !q35 && input.tsc_khz > 0 &&
      cmdline.find("tsc_early_khz=") == std::string::npos) {
    cmdline += (cmdline.empty() ? "" : " ") + std::string("tsc_early_khz=") + std::to_string(input.tsc_khz);
  }

  std::vector<std::string> a = {
      input.binary, "-name", spec.name, "-nodefaults", "-no-user-config", "-display", "none",
      // A guest reboot ends the VMM; supervision decides what happens next.
      "-no-reboot",
      // Start paused: seedd connects, checks, then runs the guest with `cont`.
      "-S",
      "-accel", input.accel == Accel::kvm ? "kvm" : "tcg", "-cpu", "max",
      "-machine", (q35 ? "q35" : "microvm,acpi=on") + std::string(",memory-backend=mem"),
      "-smp", std::to_string(spec.vcpus), "-m", mem,
      // Shared memory is what vhost-user (virtio-fs) needs to map guest RAM.
      "-object", "memory-backend-memfd,id=mem,size=" + mem + ",share=on",
      "-kernel", spec.kernel, "-append", cmdline,
      "-chardev", "socket,id=qmp,fd=" + std::to_string(input.control_fd) + ",server=on,wait=off",
      "-mon", "chardev=qmp,mode=control",
      "-chardev", "file,id=serial0,path=" + opt(paths.serial_fifo()),
      "-serial", "chardev:serial0",
      "-device", dev("virtio-serial") + ",id=vser0",
      "-chardev", "socket,id=agent,fd=" + std::to_string(input.agent_fd) + ",server=on,wait=off",
      "-device", "virtconsole,chardev=agent,name=seed.agent",
      // The log channel: the guest writes journal entries (one JSON object per line) into
      // this port; the console logger reads the FIFO. A plain port (not a console), so the
      // guest opens it by name (/dev/virtio-ports/seed.log) and no tty layer alters bytes.
      "-chardev", "file,id=seedlog,path=" + opt(paths.log_fifo()),
      "-device", "virtserialport,chardev=seedlog,name=seed.log",
      // The console channel (`ssh -t <node> console`): the guest's relay runs a login shell on
      // a pty for each session seedd opens on this socket (vmm/console/console_frame.hpp). A
      // port of its own, so a shell never mixes with the agent's protocol or the boot console.
      "-chardev", "socket,id=seedconsole,fd=" + std::to_string(input.console_fd) + ",server=on,wait=off",
      "-device", "virtserialport,chardev=seedconsole,name=seed.console",
  };
  for (unsigned i = 0; i < input.exec_ports; ++i) {
    // The exec channels (`ssh <node> exec`): a port per concurrent session, each served by an
    // agent of its own in the guest, so a long exec never holds the health checks on hvc0.
    // Plain ports are throttled (QEMU keeps what the host has not read), so no output is lost.
    const std::string id = "seedexec" + std::to_string(i);
    a.insert(a.end(), {"-chardev", "socket,id=" + id + ",fd=" + std::to_string(input.exec_fd + static_cast<int>(i)) +
                                       ",server=on,wait=off",
                       "-device", "virtserialport,chardev=" + id + ",name=org.seed.exec." + std::to_string(i)});
  }
  if (!q35) {
    // Without this, microvm offers legacy virtio-mmio and virtio-fs hangs on first access.
    a.insert(a.end(), {"-global", "virtio-mmio.force-legacy=false"});
  }
  if (!spec.initrd.empty()) a.insert(a.end(), {"-initrd", spec.initrd});
  for (const auto& share : spec.shares) {
    std::string id = "fs-" + share.tag;
    a.insert(a.end(), {"-chardev", "socket,id=" + id + ",path=" + opt(paths.fs_socket(share.tag)),
                       "-device", dev("vhost-user-fs") + ",chardev=" + id + ",tag=" + share.tag});
  }
  for (size_t i = 0; i < spec.nets.size(); ++i) {
    std::string id = "net" + std::to_string(i);
    a.insert(a.end(), {"-netdev", "tap,id=" + id + ",ifname=" + opt(spec.nets[i].tap) +
                                      ",script=no,downscript=no",
                       "-device", dev("virtio-net") + ",netdev=" + id + ",mac=" + spec.nets[i].mac});
  }
  for (unsigned i = 0; i < spec.hotplug_slots; ++i) {
    // Each root port holds one device; chassis numbers must be unique per machine.
    a.insert(a.end(), {"-device", "pcie-root-port,id=" + hotplug_port_id(i) + ",chassis=" +
                                      std::to_string(i + 1)});
  }
  if (!spec.tpm_socket.empty()) {
    a.insert(a.end(), {"-chardev", "socket,id=tpm,path=" + opt(spec.tpm_socket), "-tpmdev",
                       "emulator,id=tpm0,chardev=tpm", "-device", "tpm-crb,tpmdev=tpm0"});
  }
  if (input.incoming) a.insert(a.end(), {"-incoming", "defer"});
  return a;
}

}  // namespace seed::vmm::qemu
