// Turning repository content into HTML, with well-kept libraries only: GNU source-highlight
// (libsource-highlight) for code, libcmark (CommonMark's reference implementation) for
// READMEs. Everything a repository or a URL brings is escaped here or by those libraries; the
// page templates put nothing in raw.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

namespace seed::api::silo_web {

// &, <, >, " and ' as entities: safe in element content and in quoted attributes.
std::string escape_html(std::string_view text);

// A path (segments joined by '/') for an href: every byte but unreserved characters and '/'
// percent-encoded, so a file named "a b#?.txt" or "<x>" links to itself and nothing else.
std::string encode_path(std::string_view path);

// Markdown to HTML by cmark with its safe defaults: raw HTML in the source is dropped and
// javascript:/vbscript:/file:/data: links are removed (CMARK_OPT_UNSAFE is never set).
std::string render_markdown(std::string_view markdown);

class Highlighter {
 public:
  // `data_dir`: source-highlight's language definitions (Debian: /usr/share/source-highlight).
  explicit Highlighter(std::string data_dir) : data_dir_(std::move(data_dir)) {}
  // `text` as HTML spans with CSS classes (`<span class="keyword">`), the language chosen by
  // the file's name through source-highlight's lang.map; escaped plain text inside <pre> when
  // the name maps to no language or highlighting fails.
  std::string highlight(std::string_view file_name, std::string_view text) const;

 private:
  std::string data_dir_;
  mutable std::mutex mu_;  // source-highlight keeps parsed language definitions in shared state
};

}  // namespace seed::api::silo_web
