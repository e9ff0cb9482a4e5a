#include "api/silo_web/git_transport.hpp"

#include <algorithm>
#include <cctype>

#include "api/silo_web/answers.hpp"
#include "api/silo_web/repo_reader.hpp"
#include "api/silo_web/web_input.hpp"

namespace seed::api::silo_web {
namespace {

// git may otherwise read the host's /etc/gitconfig or seedd's ~/.gitconfig.
void isolate_git(SpawnOptions& o) {
  o.env.push_back("GIT_CONFIG_NOSYSTEM=1");
  o.env.push_back("GIT_CONFIG_GLOBAL=/dev/null");
  o.env.push_back("GIT_TERMINAL_PROMPT=0");
}

// "Status: 200 OK\r\nContent-Type: …" → the response's status, type and headers.
Response from_cgi_head(const std::string& head) {
  Response out;
  out.content_type.clear();
  size_t start = 0;
  while (start < head.size()) {
    size_t end = head.find('\n', start);
    if (end == std::string::npos) end = head.size();
    std::string line = head.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == "status") {
      out.status = std::atoi(value.c_str());
    } else if (lower == "content-type") {
      out.content_type = value;
    } else if (lower != "cache-control" && lower != "content-length") {  // the server sets these
      out.headers.emplace_back(name, value);
    }
  }
  if (out.status < 100 || out.status > 599) out.status = 200;
  return out;
}

}  // namespace

Response GitTransport::archive(const Request& r) const {
  auto name = repo_from_url(r.params.at(0));
  if (!name) return error_response(name.error());
  const std::string& file = r.params.at(1);
  if (!file.ends_with(".tar.gz")) {
    return problem(404, "about:blank", "archives are served as <ref>.tar.gz, e.g. /" + *name + "/archive/main.tar.gz");
  }
  auto ref = ref_from_url(file.substr(0, file.size() - 7));
  if (!ref) return error_response(ref.error());
  auto repo = Repo::open(config_.root, *name);
  if (!repo) return error_response(repo.error());
  auto commit = repo->resolve(*ref);
  if (!commit) return error_response(commit.error());
  // "feature/x" is unpacked into app-feature-x/ and saved as app-feature-x.tar.gz, as GitHub does.
  std::string flat = *name + "-" + *ref;
  std::replace(flat.begin(), flat.end(), '/', '-');
  SpawnOptions o;
  // Only checked values reach the argv: the commit id libgit2 resolved, and the prefix from the
  // valid repository name and ref.
  o.argv = {config_.git, "--git-dir=" + config_.root + "/" + *name + ".git", "archive", "--format=tar.gz",
            "--prefix=" + flat + "/", *commit};
  isolate_git(o);
  auto stream = ProcessStream::start(std::move(o), "", slots_, config_.stall, r.source, min_rate());
  if (!stream) return error_response(stream.error());
  Response out;
  out.content_type = "application/gzip";
  out.stream = std::move(*stream);
  out.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + flat + ".tar.gz\"");
  return out;
}

Response GitTransport::refuse_push(const Request& r) const {
  auto name = repo_from_url(r.params.at(0), true);
  return problem(403, "about:blank",
                 "Silo over HTTP is read-only; push over SSH: git push <node>:" + (name ? *name : "<repo>") + ".git");
}

Response GitTransport::smart_http(const Request& r, const std::string& what) const {
  auto name = repo_from_url(r.params.at(0), true);
  if (!name) return error_response(name.error());
  std::string service;
  if (what == "info/refs") {
    auto it = r.query.find("service");
    if (it == r.query.end() || it->second != "git-upload-pack") {
      if (it != r.query.end() && it->second == "git-receive-pack") return refuse_push(r);
      return problem(404, "about:blank", "only git's smart HTTP is served: info/refs?service=git-upload-pack");
    }
    service = "service=git-upload-pack";
  }
  if (auto repo = Repo::open(config_.root, *name); !repo) return error_response(repo.error());
  SpawnOptions o;
  o.argv = {config_.http_backend};
  o.env = {"GIT_PROJECT_ROOT=" + config_.root, "GIT_HTTP_EXPORT_ALL=1", "PATH_INFO=/" + *name + ".git/" + what,
           "REQUEST_METHOD=" + r.method, "QUERY_STRING=" + service, "CONTENT_TYPE=" + r.header("content-type"),
           "CONTENT_LENGTH=" + std::to_string(r.body.size()), "REMOTE_ADDR=" + r.source, "GATEWAY_INTERFACE=CGI/1.1",
           // Belt and braces: http-backend refuses receive-pack without REMOTE_USER anyway.
           "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=false"};
  isolate_git(o);
  // Protocol v2 is asked for in Git-Protocol ("version=2"); pass it on only if it looks like one.
  const std::string protocol = r.header("git-protocol");
  if (!protocol.empty() && protocol.size() < 256 && std::all_of(protocol.begin(), protocol.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '=' || c == ':' || c == '.' || c == '-';
      })) {
    o.env.push_back("GIT_PROTOCOL=" + protocol);
  }
  if (const std::string enc = r.header("content-encoding"); enc == "gzip" || enc == "x-gzip") {
    o.env.push_back("HTTP_CONTENT_ENCODING=" + enc);
  }
  auto stream = ProcessStream::start(std::move(o), r.body, slots_, config_.stall, r.source, min_rate());
  if (!stream) return error_response(stream.error());
  auto head = (*stream)->read_cgi_head();
  if (!head) return error_response(head.error());
  Response out = from_cgi_head(*head);
  out.stream = std::move(*stream);
  return out;
}

}  // namespace seed::api::silo_web
