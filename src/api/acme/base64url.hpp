// base64url without padding (RFC 4648 §5, as JOSE uses it, RFC 7515 §2). Decoding is strict:
// padding, whitespace, the standard alphabet's '+' and '/', and non-canonical trailing bits
// are all refused, so one value has exactly one encoding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace seed::api::acme {

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace seed::api::acme
