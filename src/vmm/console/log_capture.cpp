#include "vmm/console/log_capture.hpp"

namespace seed::vmm {

Status LogCapture::store(const LogRecord& r) {
  if (!store_) return ok();
  return store_->append(r);
}

LogRecord LogCapture::console_record(std::string_view line, bool truncated, int64_t now_us) const {
  LogRecord r;
  r.source = LogSource::console;
  r.received_us = now_us;
  r.timestamp_us = now_us;
  r.message = std::string(line);
  r.truncated = truncated;
  return r;
}

Status LogCapture::boot(int64_t now_us) {
  LogRecord r;
  r.source = LogSource::boot;
  r.received_us = now_us;
  r.timestamp_us = now_us;
  r.message = "VM started";
  return store(r);
}

Status LogCapture::console_data(std::string_view data, int64_t now_us) {
  Status first = console_.write(data);
  if (!store_) return first;
  console_lines_.feed(data, [&](std::string_view line, bool cut) {
    if (auto st = store(console_record(line, cut, now_us)); !st && first) first = std::move(st);
  });
  return first;
}

Status LogCapture::journal_data(std::string_view data, int64_t now_us) {
  Status first;
  if (!store_) return first;
  journal_lines_.feed(data, [&](std::string_view line, bool cut) {
    if (line.empty()) return;
    // A cut line is no JSON object any more: what arrived is kept as raw text.
    LogRecord r = parse_guest_line(cut ? std::string_view() : line, now_us);
    if (cut) {
      r.message = std::string(line);
      r.truncated = true;
    }
    if (auto st = store(r); !st && first) first = std::move(st);
  });
  return first;
}

Status LogCapture::idle(int64_t now_us) {
  Status first;
  console_lines_.flush_partial([&](std::string_view line, bool cut) {
    if (auto st = store(console_record(line, cut, now_us)); !st && first) first = std::move(st);
  });
  return first;
}

Status LogCapture::finish(int64_t now_us) {
  Status first = idle(now_us);
  journal_lines_.flush_partial([&](std::string_view line, bool cut) {
    LogRecord r = parse_guest_line(line, now_us);
    r.truncated = cut;
    if (auto st = store(r); !st && first) first = std::move(st);
  });
  return first;
}

}  // namespace seed::vmm
