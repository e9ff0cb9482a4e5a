#include "api/silo_web/silo_web.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <memory>
#include <optional>
#include <variant>

#include "api/silo_web/answers.hpp"
#include "api/silo_web/ref_path.hpp"
#include "api/silo_web/git_transport.hpp"
#include "api/silo_web/render.hpp"
#include "api/silo_web/repo_reader.hpp"
#include "api/silo_web/web_input.hpp"

namespace seed::api::silo_web {
namespace {

// The pages' only style. The highlight classes are those of source-highlight's htmlcss output.
constexpr const char* kCss = R"CSS(body{font-family:system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem;color:#222}
a{color:#0550ae;text-decoration:none}a:hover{text-decoration:underline}
nav{margin-bottom:1rem;font-size:1.1rem}nav .sep{color:#888;margin:0 .3rem}
table{border-collapse:collapse;width:100%}td,th{padding:.25rem .5rem;border-bottom:1px solid #eee;text-align:left}
td.num{text-align:right;color:#666;white-space:nowrap}code,pre,tt{font-family:ui-monospace,monospace;font-size:.9rem}
pre{background:#f6f8fa;padding:.75rem;overflow:auto;border-radius:4px}
.note{background:#fff8c5;padding:.5rem;border-radius:4px}.muted{color:#666}
.readme{border:1px solid #ddd;border-radius:4px;padding:0 1rem;margin-top:1rem}
.keyword{color:#cf222e;font-weight:bold}.type,.classname{color:#953800}.string{color:#0a3069}
.comment{color:#6e7781;font-style:italic}.preproc{color:#8250df}.number{color:#0550ae}
.function{color:#8250df}.symbol,.cbracket{color:#24292f}.variable{color:#953800}.specialchar{color:#116329}
)CSS";

struct Page {
  std::string title;
  std::string nav;   // HTML, already escaped
  std::string body;  // HTML, already escaped
};

Response html(const Page& p, int status = 200) {
  Response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + escape_html(p.title) +
           "</title><link rel=\"stylesheet\" href=\"/-/silo.css\"></head><body><nav>" + p.nav + "</nav>\n" + p.body +
           "\n</body></html>\n";
  // No script anywhere on these pages; a README's links and images may point elsewhere, but
  // nothing is loaded from or run on behalf of another origin.
  r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

std::string link(const std::string& href, std::string_view text) {
  return "<a href=\"" + escape_html(href) + "\">" + escape_html(text) + "</a>";
}

std::string date_of(int64_t t) {
  if (t == 0) return "";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

std::string size_of(uint64_t n) {
  if (n < 1024) return std::to_string(n) + " B";
  if (n < 1024 * 1024) return std::to_string(n / 1024) + " KiB";
  return std::to_string(n / (1024 * 1024)) + " MiB";
}

// silo / repo / kind / ref / a / b, each part a link.
std::string breadcrumbs(const std::string& repo, const std::string& ref = "", const std::string& path = "") {
  std::string out = link("/", "silo");
  if (repo.empty()) return out;
  out += "<span class=\"sep\">/</span>" + link("/" + repo, repo);
  if (ref.empty()) return out;
  std::string at = "/" + repo + "/tree/" + ref;
  out += "<span class=\"sep\">@</span>" + link(at, ref);
  size_t start = 0;
  while (!path.empty() && start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    const std::string_view part = std::string_view(path).substr(start, slash - start);
    // Every directory on the way is a link; the last part is the page itself.
    out += "<span class=\"sep\">/</span>" +
           (slash == path.size() ? escape_html(part) : link(at + "/" + encode_path(path.substr(0, slash)), part));
    start = slash + 1;
  }
  return out;
}

class SiloWeb {
 public:
  explicit SiloWeb(SiloWebConfig config)
      : config_(std::move(config)), git_(config_), highlighter_(config_.source_highlight_dir) {}

  // The repository and the commit a URL names, or the answer refusing it. `ref_then_path` is
  // what follows "/<repo>/tree/" ("feature/x/src"), split by split_ref; "" is the default branch.
  struct At {
    std::string name, ref, commit;
    std::string path;  // checked by tree_path_from_url
    std::optional<Repo> repo;
  };
  const GitTransport& git() const { return git_; }
  std::variant<At, Response> open_at(const std::string& repo_segment, const std::string& ref_then_path) const;

  Response index() const;
  Response summary(const Request& r) const;
  Response tree(const Request& r) const;
  Response blob(const Request& r) const;
  Response raw(const Request& r) const;
  Response commits(const Request& r) const;
  std::string tree_table(const At& at, const std::string& path, const std::vector<TreeEntry>& entries) const;
  std::string readme_html(const At& at, const std::string& dir, const std::vector<TreeEntry>& entries) const;

  SiloWebConfig config_;
  GitTransport git_;  // holds a reference to config_
  Highlighter highlighter_;
};

std::variant<SiloWeb::At, Response> SiloWeb::open_at(const std::string& repo_segment,
                                                      const std::string& ref_then_path) const {
  At at;
  auto name = repo_from_url(repo_segment);
  if (!name) return error_response(name.error());
  at.name = *name;
  auto repo = Repo::open(config_.root, at.name);
  if (!repo) return error_response(repo.error());
  if (ref_then_path.empty()) {  // the default branch
    at.ref = repo->head_branch();
    auto commit = repo->resolve("HEAD");
    if (!commit) return error_response(commit.error());
    at.commit = *commit;
    if (!ref_from_url(at.ref)) at.ref = at.commit;  // a branch name this view cannot put in a URL
  } else {
    auto split = split_ref(*repo, ref_then_path);
    if (!split) return error_response(split.error());
    auto path = tree_path_from_url(split->rest);
    if (!path) return error_response(path.error());
    at.ref = std::move(split->ref);
    at.commit = std::move(split->commit);
    at.path = std::move(*path);
  }
  at.repo.emplace(std::move(*repo));
  return at;
}

Response SiloWeb::index() const {
  std::string body = "<h1>Silo</h1>\n";
  const auto repos = list_repos(config_.root);
  if (repos.empty()) body += "<p class=\"muted\">No repositories yet. Create one by pushing: <code>git push &lt;node&gt;:my-app.git</code></p>";
  else {
    body += "<table><tr><th>repository</th><th>latest commit</th><th>when (UTC)</th></tr>\n";
    for (const auto& r : repos) {
      body += "<tr><td>" + link("/" + r.name, r.name) + "</td><td>" +
              (r.last_time == 0 ? std::string("<span class=\"muted\">empty</span>") : escape_html(r.last_summary)) +
              "</td><td class=\"num\">" + date_of(r.last_time) + "</td></tr>\n";
    }
    body += "</table>";
  }
  return html({"Silo", breadcrumbs(""), body});
}

std::string SiloWeb::tree_table(const At& at, const std::string& path, const std::vector<TreeEntry>& entries) const {
  const std::string base = "/" + at.name;
  const std::string prefix = path.empty() ? "" : path + "/";
  std::string out = "<table>\n";
  if (!path.empty()) {
    const size_t slash = path.rfind('/');
    const std::string up = slash == std::string::npos ? "" : "/" + encode_path(path.substr(0, slash));
    out += "<tr><td>" + link(base + "/tree/" + at.ref + up, "..") + "</td><td></td></tr>\n";
  }
  for (const auto& e : entries) {
    const std::string target = encode_path(prefix + e.name);
    switch (e.kind) {
      case TreeEntry::Kind::directory:
        out += "<tr><td>" + link(base + "/tree/" + at.ref + "/" + target, e.name + "/") + "</td><td></td></tr>\n";
        break;
      case TreeEntry::Kind::file:
        out += "<tr><td>" + link(base + "/blob/" + at.ref + "/" + target, e.name) + "</td><td class=\"num\">" +
               size_of(e.size) + "</td></tr>\n";
        break;
      case TreeEntry::Kind::link:
        out += "<tr><td>" + link(base + "/blob/" + at.ref + "/" + target, e.name) +
               " <span class=\"muted\">(symlink)</span></td><td></td></tr>\n";
        break;
      case TreeEntry::Kind::submodule:
        out += "<tr><td>" + escape_html(e.name) + " <span class=\"muted\">(submodule)</span></td><td></td></tr>\n";
        break;
    }
  }
  return out + "</table>\n";
}

std::string SiloWeb::readme_html(const At& at, const std::string& dir, const std::vector<TreeEntry>& entries) const {
  auto readme = readme_of(entries);
  if (!readme) return "";
  auto blob = at.repo->blob(at.commit, dir.empty() ? *readme : dir + "/" + *readme, config_.max_file_bytes);
  if (!blob || blob->binary) return "";
  std::string lower = *readme;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const bool markdown = lower.ends_with(".md") || lower.ends_with(".markdown");
  std::string out = "<div class=\"readme\"><h3>" + escape_html(*readme) + "</h3>\n";
  out += markdown ? render_markdown(blob->head) : "<pre>" + escape_html(blob->head) + "</pre>";
  if (blob->truncated) out += "<p class=\"note\">The README is longer than shown.</p>";
  return out + "</div>\n";
}

Response SiloWeb::summary(const Request& r) const {
  // The clone URL pasted into a browser: the repository's page.
  if (const std::string& segment = r.params.at(0); segment.ends_with(".git")) {
    auto name = repo_from_url(segment, true);
    if (name && Repo::open(config_.root, *name)) {
      Response moved = problem(301, "about:blank", "this repository's page is /" + *name);
      return std::move(moved.with_header("Location", "/" + *name));
    }
  }
  auto opened = open_at(r.params.at(0), "");
  if (auto* refusal = std::get_if<Response>(&opened)) {
    // An empty repository still has a page: how to fill it.
    auto name = repo_from_url(r.params.at(0));
    if (refusal->status == 404 && name && Repo::open(config_.root, *name)) {
      return html({*name, breadcrumbs(*name), "<h1>" + escape_html(*name) + "</h1><p>This repository is empty. Push to it "
                   "over SSH: <code>git push &lt;node&gt;:" + escape_html(*name) + ".git</code></p>"});
    }
    return std::move(*refusal);
  }
  const At& at = std::get<At>(opened);
  auto entries = at.repo->tree(at.commit, "");
  if (!entries) return error_response(entries.error());
  std::string body = "<h1>" + escape_html(at.name) + "</h1>\n<p>Clone: <code>git clone " +
                     escape_html(config_.clone_base + "/" + at.name + ".git") + "</code> · " +
                     link("/" + at.name + "/commits/" + at.ref, "commits") + " · " +
                     link("/" + at.name + "/archive/" + at.ref + ".tar.gz", at.ref + ".tar.gz") + "</p>\n";
  body += tree_table(at, "", *entries) + readme_html(at, "", *entries);
  return html({at.name, breadcrumbs(at.name, at.ref), body});
}

Response SiloWeb::tree(const Request& r) const {
  auto opened = open_at(r.params.at(0), r.params.at(1));
  if (auto* refusal = std::get_if<Response>(&opened)) return std::move(*refusal);
  const At& at = std::get<At>(opened);
  const std::string& path = at.path;
  auto entries = at.repo->tree(at.commit, path);
  if (!entries) return error_response(entries.error());
  std::string body = tree_table(at, path, *entries) + readme_html(at, path, *entries);
  return html({at.name + "/" + path, breadcrumbs(at.name, at.ref, path), body});
}

Response SiloWeb::blob(const Request& r) const {
  auto opened = open_at(r.params.at(0), r.params.at(1));
  if (auto* refusal = std::get_if<Response>(&opened)) return std::move(*refusal);
  const At& at = std::get<At>(opened);
  const std::string& path = at.path;
  auto blob = at.repo->blob(at.commit, path, config_.max_file_bytes);
  if (!blob) return error_response(blob.error());
  const std::string raw = "/" + at.name + "/raw/" + at.ref + "/" + encode_path(path);
  std::string body = "<p class=\"muted\">" + size_of(blob->size) + " · " + link(raw, "raw") + "</p>\n";
  if (blob->binary) {
    body += "<p>A binary file: not shown.</p>";
  } else {
    if (blob->truncated) {
      body += "<p class=\"note\">This file is " + size_of(blob->size) + "; only its first " +
              size_of(config_.max_file_bytes) + " are shown. Get it whole with " + link(raw, "raw") +
              " or <code>git clone</code>.</p>\n";
    }
    const std::string_view name = std::string_view(path).substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
    body += blob->head.size() <= config_.max_highlight_bytes
                ? highlighter_.highlight(name, blob->head)
                : "<pre class=\"plain\">" + escape_html(blob->head) + "</pre>";
  }
  return html({at.name + "/" + path, breadcrumbs(at.name, at.ref, path), body});
}

Response SiloWeb::raw(const Request& r) const {
  auto opened = open_at(r.params.at(0), r.params.at(1));
  if (auto* refusal = std::get_if<Response>(&opened)) return std::move(*refusal);
  const At& at = std::get<At>(opened);
  const std::string& path = at.path;
  auto blob = at.repo->blob(at.commit, path, config_.max_raw_bytes);
  if (!blob) return error_response(blob.error());
  if (blob->truncated) {
    return problem(404, "about:blank", "the file is larger than " + size_of(config_.max_raw_bytes) +
                                           "; get it with git clone or /" + at.name + "/archive/" + at.ref + ".tar.gz");
  }
  Response out;
  // Never rendered by the browser as a page of this origin: a tenant's HTML file stays text.
  out.content_type = blob->binary ? "application/octet-stream" : "text/plain; charset=utf-8";
  out.body = std::move(blob->head);
  out.headers.emplace_back("X-Content-Type-Options", "nosniff");
  out.headers.emplace_back("Content-Security-Policy", "default-src 'none'; sandbox");
  return out;
}

Response SiloWeb::commits(const Request& r) const {
  if (r.params.at(1).empty()) return problem(404, "about:blank", "name a branch, tag or commit: /<repo>/commits/<ref>");
  auto opened = open_at(r.params.at(0), r.params.at(1));
  if (auto* refusal = std::get_if<Response>(&opened)) return std::move(*refusal);
  const At& at = std::get<At>(opened);
  if (!at.path.empty()) return problem(404, "about:blank", "no branch, tag or commit '" + r.params.at(1) + "'");
  auto list = at.repo->log(at.commit, config_.commits);
  if (!list) return error_response(list.error());
  std::string body = "<h2>Commits</h2>\n<table><tr><th>commit</th><th>message</th><th>author</th><th>when (UTC)</th></tr>\n";
  for (const auto& c : *list) {
    body += "<tr><td>" + link("/" + at.name + "/tree/" + c.id, c.id.substr(0, 10)) + "</td><td>" +
            escape_html(c.summary) + "</td><td>" + escape_html(c.author) + "</td><td class=\"num\">" + date_of(c.time) +
            "</td></tr>\n";
  }
  body += "</table>";
  return html({at.name + " commits", breadcrumbs(at.name, at.ref), body});
}

}  // namespace

void add_silo_web_routes(Router& router, SiloWebConfig config) {
  const size_t negotiation_bytes = config.max_negotiation_bytes;
  // Every route holds the one SiloWeb, so it lives as long as the router that serves it.
  auto web = std::make_shared<const SiloWeb>(std::move(config));
  router.add("GET", "/", [web](const Request&) { return web->index(); });
  router.add("GET", "/-/silo.css", [](const Request&) {
    Response r;
    r.content_type = "text/css; charset=utf-8";
    r.body = kCss;
    return r;
  });
  router.add("GET", "/*", [web](const Request& r) { return web->summary(r); });
  // The ref and the path are one parameter: refs may hold '/', and only the repository's real
  // refs tell where the ref ends (ref_path.hpp).
  router.add("GET", "/*/tree/**", [web](const Request& r) { return web->tree(r); });
  router.add("GET", "/*/blob/**", [web](const Request& r) { return web->blob(r); });
  router.add("GET", "/*/raw/**", [web](const Request& r) { return web->raw(r); });
  router.add("GET", "/*/commits/**", [web](const Request& r) { return web->commits(r); });
  router.add("GET", "/*/archive/**", [web](const Request& r) { return web->git().archive(r); });
  router.add("GET", "/*/info/refs", [web](const Request& r) { return web->git().smart_http(r, "info/refs"); });
  router.add(
      "POST", "/*/git-upload-pack", [web](const Request& r) { return web->git().smart_http(r, "git-upload-pack"); },
      negotiation_bytes);
  router.add("POST", "/*/git-receive-pack", [web](const Request& r) { return web->git().refuse_push(r); });
}

}  // namespace seed::api::silo_web
