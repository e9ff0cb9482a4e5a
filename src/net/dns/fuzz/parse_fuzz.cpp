// libFuzzer target for the DNS wire-format core: any bytes go through the strict parser and
// the responder (public and guest side, UDP and TCP). Beyond "no crash, no sanitizer report"
// it checks that whatever we send back parses again and respects the size limit.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "net/dns/message.hpp"
#include "net/dns/responder.hpp"
#include "net/dns/zone_store.hpp"

namespace {

using namespace seed::net::dns;

std::unique_ptr<ZoneStore> make_store() {
  ZoneConfig c;
  c.domain = "seed.test";
  c.nameservers = {{"ns1.seed.test", "192.0.2.53", "2001:db8::53"}};
  auto store = ZoneStore::create(c);
  if (!store) std::abort();
  if (!(*store)->replace({{"team", "web", "10.0.0.2", "fd00::2"}, {"team", "api", "10.0.0.3", ""}})) std::abort();
  for (int i = 0; i < 8; ++i) {
    if (!(*store)->set_acme_challenge("_acme-challenge.web.team.seed.test", std::string(90, char('a' + i)))) {
      std::abort();
    }
  }
  return std::move(store).value();
}

void check_response(const std::vector<uint8_t>& out, const Outcome& o, size_t limit) {
  if (o.action != Action::reply) return;
  if (o.size > limit || o.size < header_size) std::abort();
  auto m = parse_message(std::span<const uint8_t>(out.data(), o.size));
  if (!m || !m->header.qr) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The harness's one zone, built on first use (libFuzzer calls this function many times).
  static const std::unique_ptr<ZoneStore> store = make_store();
  std::span<const uint8_t> in(data, size);

  auto m = parse_message(in);
  if (m) {
    for (const auto* section : {&m->answers, &m->authority, &m->additional}) {
      for (const auto& r : *section) {
        if (r.rdata_offset + r.rdata_size > size) std::abort();
      }
    }
  }

  ResponderLimits limits;
  std::vector<uint8_t> out(max_message);
  auto snap = store->snapshot();
  for (int variant = 0; variant < 3; ++variant) {
    Caller c;
    c.tcp = variant == 1;
    c.guest = variant == 2;
    c.ns = variant == 2 ? std::optional<std::string_view>("team") : std::nullopt;
    c.can_forward = variant == 2;
    Outcome o = respond(snap, in, c, limits, out);
    check_response(out, o, c.tcp ? max_message : limits.max_udp_payload);
  }
  size_t n = error_response(in, Rcode::servfail, true, out, true);
  if (n > 0) {
    auto e = parse_message(std::span<const uint8_t>(out.data(), n));
    if (!e) std::abort();
  }
  return 0;
}
