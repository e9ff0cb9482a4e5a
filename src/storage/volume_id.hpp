// Which volume: the tenant namespace, the instance and the volume name from
// `seed.storage.<name>`. All three are DNS-label-like (a-z, 0-9, '-', 1..63 characters, no
// leading or trailing '-'), so none can contain '.', '/', "..", spaces or unicode. That makes
// the on-disk name `seed.<namespace>.<instance>.<volume>` unambiguous (no two identities map to
// one name and the name decodes back to exactly one identity) and safe as a file name, a mount
// directory and an LVM logical volume name alike.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace seed::storage {

struct VolumeId {
  std::string ns;
  std::string instance;
  std::string volume;

  auto operator<=>(const VolumeId&) const = default;
  // "namespace/instance/volume", for messages.
  std::string display() const;
};

// LVM limits LV names to 127 characters; we hold every driver to it so names stay portable.
inline constexpr size_t kMaxEncodedName = 127;

// Errc::invalid_argument naming the field, the value and the rule broken.
Status validate(const VolumeId& id);
// Validates, then `seed.<ns>.<instance>.<volume>`.
Result<std::string> encode(const VolumeId& id);
// The inverse of encode(); Errc::invalid_argument for anything encode() cannot produce.
Result<VolumeId> decode(std::string_view name);

// Adds volume=<display> (and instance=) to an error, so every failure names the volume.
Error tag(Error e, const VolumeId& id);

}  // namespace seed::storage
