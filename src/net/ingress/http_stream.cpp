#include "net/ingress/http_stream.hpp"

#include <http_parser.h>
#include <strings.h>

#include "net/ingress/routing_table.hpp"

namespace seed::net::ingress {

struct HttpStream::Impl {
  http_parser parser{};
  http_parser_settings settings{};
  std::string field, value, url, host_header;
  int host_headers = 0;
  bool last_was_value = false;
  bool head_done = false;
  bool message_done = false;
  std::string first_bytes;  // the connection's first bytes, to recognize an h2c preface

  void finish_header() {
    if (field.size() == 4 && ::strncasecmp(field.data(), "host", 4) == 0) {
      ++host_headers;
      host_header = value;
    }
    field.clear();
    value.clear();
    last_was_value = false;
  }

  static Impl& of(http_parser* p) { return *static_cast<Impl*>(p->data); }

  static int on_message_begin(http_parser* p) {
    Impl& s = of(p);
    s.field.clear();
    s.value.clear();
    s.url.clear();
    s.host_header.clear();
    s.host_headers = 0;
    s.last_was_value = false;
    return 0;
  }
  static int on_url(http_parser* p, const char* at, size_t len) {
    of(p).url.append(at, len);
    return 0;
  }
  static int on_header_field(http_parser* p, const char* at, size_t len) {
    Impl& s = of(p);
    if (s.last_was_value) s.finish_header();
    s.field.append(at, len);
    return 0;
  }
  static int on_header_value(http_parser* p, const char* at, size_t len) {
    Impl& s = of(p);
    s.value.append(at, len);
    s.last_was_value = true;
    return 0;
  }
  // Pausing hands control back to feed() exactly at the head / message boundary.
  static int on_headers_complete(http_parser* p) {
    Impl& s = of(p);
    if (s.last_was_value) s.finish_header();
    s.head_done = true;
    http_parser_pause(p, 1);
    return 0;
  }
  static int on_message_complete(http_parser* p) {
    of(p).message_done = true;
    http_parser_pause(p, 1);
    return 0;
  }
};

HttpStream::HttpStream(HttpLimits limits) : impl_(std::make_unique<Impl>()), limits_(limits) {
  http_parser_init(&impl_->parser, HTTP_REQUEST);
  impl_->parser.data = impl_.get();
  auto& s = impl_->settings;
  s.on_message_begin = &Impl::on_message_begin;
  s.on_url = &Impl::on_url;
  s.on_header_field = &Impl::on_header_field;
  s.on_header_value = &Impl::on_header_value;
  s.on_headers_complete = &Impl::on_headers_complete;
  s.on_message_complete = &Impl::on_message_complete;
}

HttpStream::~HttpStream() = default;

uint64_t HttpStream::committed() const { return in_head_ ? head_start_ : fed_; }

void HttpStream::fail(int status, std::string reason) {
  state_ = State::failed;
  error_status_ = status;
  error_reason_ = std::move(reason);
  in_head_ = true;  // nothing of the failing request is forwarded
}

namespace {

// "Host: a.example:8080" → "a.example"; an IPv6 literal keeps its brackets.
std::string strip_port(std::string_view h) {
  while (!h.empty() && (h.front() == ' ' || h.front() == '\t')) h.remove_prefix(1);
  while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.remove_suffix(1);
  if (!h.empty() && h.front() == '[') {
    auto close = h.find(']');
    return std::string(close == std::string_view::npos ? h : h.substr(0, close + 1));
  }
  auto colon = h.find(':');
  return std::string(colon == std::string_view::npos ? h : h.substr(0, colon));
}

}  // namespace

void HttpStream::on_head_complete() {
  Impl& s = *impl_;
  if (fed_ - head_start_ > limits_.max_head_bytes) {
    return fail(431, "request header fields are larger than " +
                         std::to_string(limits_.max_head_bytes) + " bytes");
  }
  std::string host;
  const bool connect = s.parser.method == HTTP_CONNECT;
  // An absolute-form target (or CONNECT's authority) overrides Host (RFC 9112 §3.2.2).
  if (connect || s.url.rfind("http://", 0) == 0 || s.url.rfind("https://", 0) == 0) {
    http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(s.url.data(), s.url.size(), connect ? 1 : 0, &u) != 0 ||
        !(u.field_set & (1 << UF_HOST))) {
      return fail(400, "the request target is not a valid URL");
    }
    host = s.url.substr(u.field_data[UF_HOST].off, u.field_data[UF_HOST].len);
  } else if (s.host_headers == 0) {
    return fail(400, "the request has no Host header, so it cannot be routed to an instance");
  } else if (s.host_headers > 1) {
    return fail(400, "the request has more than one Host header");
  } else {
    host = strip_port(s.host_header);
  }
  host = normalize_host(host);
  if (host.empty() || (host.front() != '[' && !valid_hostname(host))) {
    return fail(400, "the Host header is not a valid hostname");
  }
  if (state_ == State::head) {
    host_ = std::move(host);
    state_ = State::routed;
  } else if (host != host_) {
    state_ = State::host_changed;  // in_head_ stays true: this request is not forwarded
    return;
  }
  in_head_ = false;
  if (s.parser.upgrade) tunnel_ = true;
}

HttpStream::State HttpStream::feed(std::string_view data) {
  if (state_ == State::failed || state_ == State::host_changed) return state_;
  if (tunnel_) {
    fed_ += data.size();
    return state_;
  }
  Impl& s = *impl_;
  if (s.first_bytes.size() < 16) {
    s.first_bytes.append(data.substr(0, 16 - s.first_bytes.size()));
  }
  size_t off = 0;
  while (off < data.size()) {
    const size_t n =
        http_parser_execute(&s.parser, &s.settings, data.data() + off, data.size() - off);
    off += n;
    fed_ += n;
    const auto err = HTTP_PARSER_ERRNO(&s.parser);
    if (err == HPE_PAUSED) {
      http_parser_pause(&s.parser, 0);
      if (s.head_done) {
        s.head_done = false;
        on_head_complete();
        if (state_ == State::failed || state_ == State::host_changed) return state_;
        if (tunnel_) {
          fed_ += data.size() - off;
          return state_;
        }
      }
      if (s.message_done) {
        s.message_done = false;
        in_head_ = true;
        head_start_ = fed_;
      }
      continue;
    }
    if (err == HPE_HEADER_OVERFLOW) {
      fail(431, "request header fields are too large");
      return state_;
    }
    if (err != HPE_OK) {
      if (s.first_bytes.rfind("PRI * HTTP/2", 0) == 0) {
        fail(505, "cleartext HTTP/2 (h2c prior knowledge) is not supported; use HTTP/1.1, "
                  "or HTTP/2 over TLS on the https port");
      } else {
        fail(400, std::string("malformed HTTP request: ") + http_errno_description(err));
      }
      return state_;
    }
    if (n == 0) break;
  }
  if (in_head_ && fed_ - head_start_ > limits_.max_head_bytes) {
    fail(431, "request header fields are larger than " + std::to_string(limits_.max_head_bytes) +
                  " bytes");
  }
  return state_;
}

}  // namespace seed::net::ingress
