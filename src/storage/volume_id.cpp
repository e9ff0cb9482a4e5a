#include "storage/volume_id.hpp"

#include <vector>

namespace seed::storage {
namespace {

constexpr std::string_view kPrefix = "seed.";

// Describes the first way `value` breaks the label rule, or "" when it is a valid label.
std::string label_problem(std::string_view value) {
  if (value.empty()) return "it is empty";
  if (value.size() > 63) return "it is longer than 63 characters";
  for (unsigned char c : value) {
    if (c >= 0x80) return "it contains a non-ASCII character (only a-z, 0-9 and '-' are allowed)";
    if (c == '/') return "it contains '/'";
    if (c == '.') return "it contains '.'";
    if (c == ' ' || c == '\t' || c == '\n') return "it contains whitespace";
    if (c >= 'A' && c <= 'Z') return "it contains an upper-case letter";
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return std::string("it contains the character '") + static_cast<char>(c) + "'";
  }
  if (value.front() == '-' || value.back() == '-') return "it starts or ends with '-'";
  return "";
}

Status check_field(std::string_view field, std::string_view value) {
  std::string problem = label_problem(value);
  if (problem.empty()) return ok();
  return make_error(Errc::invalid_argument,
                    "invalid " + std::string(field) + " name \"" + std::string(value) + "\": " +
                        problem + "; use 1-63 characters from a-z, 0-9 and '-', not starting or "
                        "ending with '-'")
      .with(std::string(field), std::string(value));
}

}  // namespace

std::string VolumeId::display() const { return ns + "/" + instance + "/" + volume; }

Status validate(const VolumeId& id) {
  SEED_TRY(check_field("namespace", id.ns));
  SEED_TRY(check_field("instance", id.instance));
  SEED_TRY(check_field("volume", id.volume));
  size_t length = kPrefix.size() + id.ns.size() + id.instance.size() + id.volume.size() + 2;
  if (length > kMaxEncodedName) {
    return make_error(Errc::invalid_argument,
                      "volume identity " + id.display() + " is too long: namespace, instance and "
                      "volume names together may have at most " +
                          std::to_string(kMaxEncodedName - kPrefix.size() - 2) + " characters")
        .with("volume", id.display());
  }
  return ok();
}

Result<std::string> encode(const VolumeId& id) {
  SEED_TRY(validate(id));
  return std::string(kPrefix) + id.ns + "." + id.instance + "." + id.volume;
}

Result<VolumeId> decode(std::string_view name) {
  auto fail = [&] {
    return make_error(Errc::invalid_argument,
                      "\"" + std::string(name) + "\" is not a Seed volume name "
                      "(seed.<namespace>.<instance>.<volume>)")
        .with("name", std::string(name));
  };
  if (name.substr(0, kPrefix.size()) != kPrefix) return fail();
  std::vector<std::string> parts;
  std::string_view rest = name.substr(kPrefix.size());
  while (true) {
    size_t dot = rest.find('.');
    parts.emplace_back(rest.substr(0, dot));
    if (dot == std::string_view::npos) break;
    rest = rest.substr(dot + 1);
  }
  if (parts.size() != 3) return fail();
  VolumeId id{parts[0], parts[1], parts[2]};
  if (!validate(id)) return fail();
  return id;
}

Error tag(Error e, const VolumeId& id) {
  e.with("instance", id.ns + "/" + id.instance).with("volume", id.display());
  return e;
}

}  // namespace seed::storage
