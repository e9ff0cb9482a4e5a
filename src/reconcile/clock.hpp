// Unix seconds, the unit the state store and the status views keep time in.
#pragma once

#include <chrono>
#include <cstdint>

namespace seed::reconcile {

inline int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace seed::reconcile
