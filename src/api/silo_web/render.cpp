#include "api/silo_web/render.hpp"

#include <cmark.h>
#include <srchilite/langmap.h>
#include <srchilite/sourcehighlight.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <sstream>

#include "common/log.hpp"

namespace seed::api::silo_web {

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string encode_path(std::string_view path) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string render_markdown(std::string_view markdown) {
  std::unique_ptr<char, decltype(&std::free)> html(
      cmark_markdown_to_html(markdown.data(), markdown.size(), CMARK_OPT_DEFAULT), &std::free);
  return html ? std::string(html.get()) : std::string();
}

std::string Highlighter::highlight(std::string_view file_name, std::string_view text) const {
  const std::string plain = "<pre class=\"plain\">" + escape_html(text) + "</pre>";
  std::lock_guard lock(mu_);
  try {
    srchilite::LangMap langs(data_dir_, "lang.map");
    const std::string lang = langs.getMappedFileNameFromFileName(std::string(file_name));
    if (lang.empty()) return plain;
    srchilite::SourceHighlight sh("htmlcss.outlang");
    sh.setDataDir(data_dir_);
    sh.setGenerateEntireDoc(false);
    std::istringstream in{std::string(text)};
    std::ostringstream out;
    sh.highlight(in, out, lang, std::string(file_name));
    return out.str();
  } catch (const std::exception& e) {
    log::warn("api.silo_web.highlight", {{"file", std::string(file_name)}, {"error", e.what()}});
  } catch (...) {
    log::warn("api.silo_web.highlight", {{"file", std::string(file_name)}, {"error", "unknown"}});
  }
  return plain;
}

}  // namespace seed::api::silo_web
