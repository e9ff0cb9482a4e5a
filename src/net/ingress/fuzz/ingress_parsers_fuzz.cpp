// libFuzzer target for the two parsers that read untrusted bytes before any backend is
// involved: the ClientHello SNI reader and the HTTP request stream. Each input is parsed
// whole and again split at a point taken from its first byte, since both parsers must give
// the same answer however the bytes arrive.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "net/ingress/http_stream.hpp"
#include "net/ingress/routing_table.hpp"
#include "net/ingress/sni_parser.hpp"

using namespace seed::net::ingress;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> all(data, size);
  const SniResult whole = parse_client_hello(all);
  if (whole.status == SniStatus::found && !valid_hostname(whole.name)) std::abort();
  // A prefix may only need more or agree on failure kind; it never finds a different name.
  if (size > 1) {
    const SniResult part = parse_client_hello(all.first(size - 1));
    if (part.status == SniStatus::found && whole.status == SniStatus::found &&
        part.name != whole.name) {
      std::abort();
    }
  }

  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const size_t cut = size == 0 ? 0 : data[0] % size;
  HttpStream one(HttpLimits{1024});
  HttpStream two(HttpLimits{1024});
  const auto s1 = one.feed(text);
  two.feed(text.substr(0, cut));
  const auto s2 = two.feed(text.substr(cut));
  if (s1 == HttpStream::State::routed && (s2 != s1 || one.host() != two.host())) std::abort();
  if (one.committed() > size) std::abort();
  return 0;
}
