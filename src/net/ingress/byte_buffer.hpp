// A fixed-capacity byte buffer for one direction of a proxied connection. Bounded on purpose:
// when it is full the proxy stops reading that side, which pushes back on a fast sender
// instead of buffering without limit for a slow receiver.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>

namespace seed::net::ingress {

class ByteBuffer {
 public:
  explicit ByteBuffer(size_t capacity) : data_(new char[capacity]), cap_(capacity) {}

  const char* data() const { return data_.get() + r_; }
  size_t size() const { return w_ - r_; }
  bool empty() const { return r_ == w_; }
  size_t capacity() const { return cap_; }

  // Free space at the end, moving the unread bytes to the front first when that helps.
  char* space() {
    if (r_ == w_) {
      r_ = w_ = 0;
    } else if (r_ > 0 && cap_ - w_ < cap_ / 4) {
      std::memmove(data_.get(), data_.get() + r_, w_ - r_);
      w_ -= r_;
      r_ = 0;
    }
    return data_.get() + w_;
  }
  size_t space_size() const { return cap_ - w_; }
  // Whether space() can offer any room (after compaction), for deciding to read at all.
  bool has_room() const { return w_ - r_ < cap_; }
  void produced(size_t n) { w_ += n; }
  void consumed(size_t n) { r_ += n; }
  void clear() { r_ = w_ = 0; }
  void assign(const char* p, size_t n) {
    r_ = 0;
    w_ = n < cap_ ? n : cap_;
    std::memcpy(data_.get(), p, w_);
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t cap_;
  size_t r_ = 0;
  size_t w_ = 0;
};

}  // namespace seed::net::ingress
