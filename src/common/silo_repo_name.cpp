#include "common/silo_repo_name.hpp"

#include <algorithm>

namespace seed {

bool is_silo_repo_name(std::string_view name) {
  const bool chars_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
  return chars_ok && !name.empty() && name.size() <= 63 && name.front() != '.' && name.front() != '-' &&
         name.find("..") == std::string_view::npos;
}

}  // namespace seed
