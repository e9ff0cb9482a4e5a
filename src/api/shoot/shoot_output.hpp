// How a shoot's output bytes appear in JSON (docs/api.md "POST /shoot"): a stream that is
// valid UTF-8 is a JSON string as is; any other bytes are sent as base64 with an "encoding":
// "base64" marker next to them, so binary output arrives exact instead of with U+FFFD in it.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace seed::api::shoot {

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool is_utf8(std::string_view bytes);

// How many leading bytes of `bytes` to send now: all but a trailing multi-byte sequence that
// is cut short (its rest may come with the next chunk).
size_t utf8_complete_prefix(std::string_view bytes);

std::string base64(std::string_view bytes);

// Sets j[key] to the bytes as text, or to their base64 and j[encoding_key] = "base64".
void put_output(nlohmann::json& j, const std::string& key, const std::string& encoding_key, std::string_view bytes);

}  // namespace seed::api::shoot
