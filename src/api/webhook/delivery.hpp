// A webhook delivery as the three forges send it: which forge (by its headers), the event, the
// delivery id, whether the signature or token proves the sender knows the source's secret, and
// for a push, the branch pushed and the repository's default branch.
//   GitHub:        X-GitHub-Event, X-GitHub-Delivery, X-Hub-Signature-256: sha256=<hex HMAC>
//   Forgejo/Gitea: X-Gitea-Event (Forgejo also X-Forgejo-Event), X-Gitea-Delivery,
//                  X-Gitea-Signature: <hex HMAC> (HMAC-SHA256 of the body with the secret)
//   GitLab:        X-Gitlab-Event ("Push Hook"), X-Gitlab-Event-UUID, X-Gitlab-Token: <secret>
#pragma once

#include <optional>
#include <string>

#include "api/http_types.hpp"

namespace seed::api::webhook {

enum class Forge { github, gitea, gitlab };
const char* forge_name(Forge f);

struct Delivery {
  Forge forge;
  std::string event;     // normalised: "push", "ping", or the forge's own name for others
  std::string id;        // delivery id ("" when the forge sent none)
};

// The forge a request comes from, by its event header; nullopt when it names none.
std::optional<Delivery> identify(const Request& request);

// Whether the request proves knowledge of `secret`: HMAC-SHA256 of the raw body (GitHub,
// Gitea) or the token header (GitLab), compared in constant time. An empty secret never matches.
bool authentic(const Delivery& delivery, const Request& request, const std::string& secret);

struct Push {
  std::string branch;          // "main" of "refs/heads/main"; "" for a tag or no ref
  std::string default_branch;  // the repository's, as the payload states it ("" if absent)
};
// The push of a JSON body; nullopt when the body is no JSON object with a `ref`.
std::optional<Push> parse_push(const Delivery& delivery, const std::string& body);

// HMAC-SHA256 of `data` with `key`, lowercase hex (OpenSSL).
std::string hmac_sha256_hex(const std::string& key, const std::string& data);

}  // namespace seed::api::webhook
