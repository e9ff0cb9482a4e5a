#include "sshcli/receive_guard.hpp"

#include <algorithm>

namespace seed::sshcli {
namespace {

Error refused(std::string why) {
  return make_error(Errc::invalid_argument, "push refused: " + why).with("stage", "silo");
}

bool hex_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Status ReceiveGuard::line(std::string_view p) {
  if (p.ends_with("\n")) p.remove_suffix(1);
  if (auto nul = p.find('\0'); nul != std::string_view::npos) p = p.substr(0, nul);  // capabilities
  if (p.starts_with("shallow ") || p.starts_with("push-cert")) return ok();
  // "<old-oid> <new-oid> <refname>"; SHA-1 (40) or SHA-256 (64) object names.
  size_t s1 = p.find(' ');
  size_t s2 = s1 == std::string_view::npos ? s1 : p.find(' ', s1 + 1);
  if (s2 == std::string_view::npos || !hex_digits(p.substr(0, s1)) || !hex_digits(p.substr(s1 + 1, s2 - s1 - 1))) {
    return ok();  // a push certificate's body and the like: git checks those itself
  }
  std::string_view ref = p.substr(s2 + 1);
  if (!ref.starts_with("refs/heads/") && !ref.starts_with("refs/tags/")) {
    return refused("ref '" + std::string(ref) + "' is outside refs/heads/ and refs/tags/");
  }
  if (++commands_ > limits_.max_commands) {
    return refused("more than " + std::to_string(limits_.max_commands) + " ref updates in one push; push in smaller batches");
  }
  auto zero = [](std::string_view oid) { return oid.find_first_not_of('0') == std::string_view::npos; };
  if (zero(p.substr(0, s1))) ++created_;
  if (zero(p.substr(s1 + 1, s2 - s1 - 1))) {
    if (ref == limits_.default_branch) {
      return refused("deleting " + std::string(ref) + " is not allowed: it is the repository's default branch "
                     "(HEAD), the one clones check out and a planted repository deploys from")
          .with("hint", "push new commits to it instead (git push --force <node>:REPO.git BRANCH:" +
                            std::string(ref.substr(ref.rfind('/') + 1)) + " replaces it)");
    }
    ++deleted_;
  }
  if (limits_.existing_refs + created_ > limits_.max_refs + deleted_) {
    return refused("the repository would hold more than " + std::to_string(limits_.max_refs) +
                   " refs; delete old branches or tags first");
  }
  return ok();
}

Status ReceiveGuard::feed(std::string_view data) {
  total_ += data.size();
  if (total_ > limits_.max_bytes) {
    return refused("it is larger than " + std::to_string(limits_.max_bytes >> 20) +
                   " MiB (this node's limit for one push)");
  }
  if (done_) return ok();
  pending_.append(data);
  size_t pos = 0;
  while (!done_ && pending_.size() - pos >= 4) {
    int len = 0;
    for (size_t i = 0; i < 4; ++i) {
      int v = hex_value(pending_[pos + i]);
      if (v < 0) return refused("the client sent a malformed pkt-line");
      len = len * 16 + v;
    }
    if (len == 0) {  // flush-pkt: the command list is complete
      done_ = true;
      pos += 4;
      break;
    }
    if (len < 4) return refused("the client sent a malformed pkt-line");
    if (pending_.size() - pos < static_cast<size_t>(len)) break;
    SEED_TRY(line(std::string_view(pending_).substr(pos + 4, static_cast<size_t>(len) - 4)));
    pos += static_cast<size_t>(len);
  }
  pending_.erase(0, pos);
  if (done_) pending_.clear();
  return ok();
}

}  // namespace seed::sshcli
