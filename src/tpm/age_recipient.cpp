#include "tpm/age_recipient.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>

#include "common/fd.hpp"

namespace seed::tpm {
namespace {

constexpr std::string_view kCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr std::string_view kHrp = "age1tpm";
constexpr size_t kMaxLength = 1024;  // a P-256 recipient is ~70 characters; leave room

uint32_t polymod_step(uint32_t chk, uint8_t value) {
  static constexpr std::array<uint32_t, 5> kGen = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa,
                                                   0x3d4233dd, 0x2a1462b3};
  uint32_t top = chk >> 25;
  chk = ((chk & 0x1ffffff) << 5) ^ value;
  for (int i = 0; i < 5; ++i) {
    if ((top >> i) & 1) chk ^= kGen[i];
  }
  return chk;
}

Error bad(std::string_view text, const std::string& why) {
  std::string shown(text.substr(0, 24));
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return make_error(Errc::invalid_argument,
                    "the instance's age recipient is malformed (" + why + "): \"" + shown +
                        (text.size() > 24 ? "…" : "") +
                        "\"; it should be an age1tpm1… recipient written by age-plugin-tpm");
}

}  // namespace

bool bech32_valid(std::string_view text) {
  size_t sep = text.rfind('1');
  if (sep == std::string_view::npos || sep == 0 || sep + 7 > text.size()) return false;
  uint32_t chk = 1;
  for (size_t i = 0; i < sep; ++i) {
    auto c = static_cast<uint8_t>(text[i]);
    if (c < 33 || c > 126) return false;
    chk = polymod_step(chk, c >> 5);
  }
  chk = polymod_step(chk, 0);
  for (size_t i = 0; i < sep; ++i) chk = polymod_step(chk, static_cast<uint8_t>(text[i]) & 31);
  for (size_t i = sep + 1; i < text.size(); ++i) {
    size_t v = kCharset.find(text[i]);
    if (v == std::string_view::npos) return false;
    chk = polymod_step(chk, static_cast<uint8_t>(v));
  }
  return chk == 1;
}

Status validate_age_recipient(std::string_view text) {
  if (text.empty()) return bad(text, "it is empty");
  if (text.size() > kMaxLength) return bad(text, "it is too long");
  if (text.substr(0, kHrp.size() + 1) != "age1tpm1") {
    return bad(text, "it does not start with age1tpm1");
  }
  for (char c : text.substr(kHrp.size() + 1)) {
    if (kCharset.find(c) == std::string_view::npos) {
      return bad(text, c >= 'A' && c <= 'Z' ? "it has upper-case characters"
                                            : "it has characters outside the bech32 alphabet");
    }
  }
  if (text.size() < kHrp.size() + 1 + 6 + 1) return bad(text, "it is too short");
  if (!bech32_valid(text)) return bad(text, "its bech32 checksum does not match");
  return ok();
}

Result<std::string> read_age_recipient(const std::string& share_dir,
                                       const std::string& instance) {
  std::string path = share_dir + "/age-recipient";
  // The share is writable by the guest: never follow its symlinks (O_NOFOLLOW), never block on
  // a FIFO (O_NONBLOCK), never read a huge file.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd && errno == ENOENT) {
    return make_error(Errc::not_found,
                      "instance " + instance + " has not published its age recipient yet; it "
                      "is written on the instance's first boot (is sops-nix with "
                      "age-plugin-tpm enabled?)")
        .with("instance", instance)
        .with("path", path);
  }
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size > static_cast<off_t>(kMaxLength + 1)) {
    return make_error(Errc::invalid_argument,
                      "the age recipient file of instance " + instance +
                          " is not a small regular file")
        .with("instance", instance)
        .with("path", path);
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  ssize_t n = ::pread(fd.get(), text.data(), text.size(), 0);
  if (n < 0) return errno_error("reading " + path, errno).with("instance", instance);
  text.resize(static_cast<size_t>(n));
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (auto v = validate_age_recipient(text); !v) {
    return std::move(v).error().with("instance", instance).with("path", path);
  }
  return text;
}

}  // namespace seed::tpm
