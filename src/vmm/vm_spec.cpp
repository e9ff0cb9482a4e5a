#include "vmm/vm_spec.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <set>

namespace seed::vmm {
namespace {

Status check_readable_file(const std::string& what, const std::string& path) {
  struct stat st {};
  if (path.empty()) return make_error(Errc::invalid_argument, what + " is not set");
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(Errc::not_found, what + " does not exist: " + path).with("file", path);
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(Errc::invalid_argument, what + " is not a regular file: " + path)
        .with("file", path);
  }
  if (::access(path.c_str(), R_OK) != 0) {
    return make_error(Errc::permission_denied, what + " is not readable: " + path)
        .with("file", path);
  }
  return ok();
}

}  // namespace

bool valid_vm_name(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  if (name.front() == '-' || name.back() == '-') return false;
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
          c == '-')) {
      return false;
    }
  }
  return true;
}

bool valid_mac(const std::string& mac) {
  if (mac.size() != 17) return false;
  for (size_t i = 0; i < mac.size(); ++i) {
    bool colon = i % 3 == 2;
    if (colon != (mac[i] == ':')) return false;
    if (!colon && !std::isxdigit(static_cast<unsigned char>(mac[i]))) return false;
  }
  return true;
}

Status validate(const VmSpec& spec) {
  auto fail = [&](Errc code, std::string msg) {
    return make_error(code, std::move(msg)).with("vm", spec.name).with("stage", "prepare");
  };
  if (!valid_vm_name(spec.name)) {
    return fail(Errc::invalid_argument,
                "VM name '" + spec.name +
                    "' must be 1-63 lowercase letters, digits or '-', not starting or ending in '-'");
  }
  if (spec.vcpus == 0 || spec.vcpus > 255) {
    return fail(Errc::invalid_argument, "vcpus must be between 1 and 255");
  }
  if (spec.memory_mib < 64) return fail(Errc::invalid_argument, "memory must be at least 64 MiB");
  if (auto st = check_readable_file("kernel", spec.kernel); !st) {
    return std::move(st).error().with("vm", spec.name).with("stage", "prepare");
  }
  if (!spec.initrd.empty()) {
    if (auto st = check_readable_file("initrd", spec.initrd); !st) {
      return std::move(st).error().with("vm", spec.name).with("stage", "prepare");
    }
  }
  std::set<std::string> tags;
  for (const auto& share : spec.shares) {
    if (share.tag.empty() || share.tag.size() > 36 || !tags.insert(share.tag).second) {
      return fail(Errc::invalid_argument, "share tag '" + share.tag + "' is empty, too long or repeated");
    }
    for (char c : share.tag) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
        return fail(Errc::invalid_argument, "share tag '" + share.tag + "' may only hold letters, digits, '-' and '_'");
      }
    }
    struct stat st {};
    if (::stat(share.host_path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return fail(Errc::not_found, "shared directory does not exist: " + share.host_path)
          .with("share", share.tag);
    }
    if (::access(share.host_path.c_str(), R_OK | X_OK) != 0) {
      return fail(Errc::permission_denied, "shared directory is not readable: " + share.host_path)
          .with("share", share.tag);
    }
  }
  std::set<std::string> taps, macs;
  for (const auto& net : spec.nets) {
    if (net.tap.empty() || net.tap.size() > 15) {
      return fail(Errc::invalid_argument, "tap name '" + net.tap + "' must be 1-15 characters");
    }
    // The name is spliced into QEMU's comma-separated options (a ',' would add options of
    // its own) and handed to the kernel, which rejects '/', ':' and whitespace anyway.
    for (char c : net.tap) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
        return fail(Errc::invalid_argument,
                    "tap name '" + net.tap + "' may only hold letters, digits, '-', '_' and '.'");
      }
    }
    if (!valid_mac(net.mac)) return fail(Errc::invalid_argument, "bad MAC address '" + net.mac + "'");
    // Bit 0 of the first octet marks a group address: no NIC may own one.
    if (std::stoi(net.mac.substr(0, 2), nullptr, 16) & 1) {
      return fail(Errc::invalid_argument,
                  "MAC address '" + net.mac + "' is a multicast address; use a unicast one (first octet even)");
    }
    if (!taps.insert(net.tap).second) {
      return fail(Errc::invalid_argument, "tap '" + net.tap + "' is attached twice; give each interface its own tap");
    }
    // MACs compare case-insensitively: "52:54:00:AB:..." and "52:54:00:ab:..." are one address.
    std::string mac = net.mac;
    for (char& c : mac) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!macs.insert(mac).second) {
      return fail(Errc::invalid_argument, "MAC address '" + net.mac + "' is used by two interfaces");
    }
  }
  return ok();
}


}  // namespace seed::vmm
