// The URL checks of Silo on the web, and the HTML helpers every page relies on.
#include "api/silo_web/web_input.hpp"

#include <gtest/gtest.h>

#include "api/silo_web/render.hpp"

namespace seed::api::silo_web {
namespace {

TEST(SiloWebInput, RepositoryNamesFollowSilosRule) {
  EXPECT_EQ(*repo_from_url("my-app"), "my-app");
  EXPECT_EQ(*repo_from_url("my-app.git", true), "my-app");
  for (const char* bad : {"", "..", ".hidden", "-x", "a..b", "UPPER", "a/b", "a b", "/etc"}) {
    EXPECT_FALSE(repo_from_url(bad).ok()) << bad;
  }
}

TEST(SiloWebInput, RefsAreSafePartsThatGitCannotTakeForAnOptionOrAPath) {
  for (const char* good : {"main", "v1.0", "release_2", "0123abcd", "HEAD", "feature/x", "rel/2024/q1"}) {
    EXPECT_TRUE(ref_from_url(good).ok()) << good;
  }
  for (const char* bad : {"", "-ooutput", "--output=x", ".hidden", "a..b", "main.lock", "a.", "a:b", "a~1",
                          "a^", "@{1}", "a b", "/a", "a/", "a//b", "a/-b", "a/.b", "a/../b", "a/b.lock/c", "a/./b"}) {
    EXPECT_FALSE(ref_from_url(bad).ok()) << bad;
  }
}

TEST(SiloWebInput, PathsStayInsideTheTree) {
  EXPECT_EQ(*tree_path_from_url(""), "");
  EXPECT_EQ(*tree_path_from_url("src/"), "src");
  EXPECT_EQ(*tree_path_from_url("src/a b<c>.txt"), "src/a b<c>.txt");
  for (const char* bad : {"/etc/passwd", "..", "../x", "src/../../x", "src/./x", "a//b", "a/\x01", "a\nb"}) {
    auto r = tree_path_from_url(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_FALSE(tree_path_from_url(std::string(5000, 'a')).ok());
}

TEST(SiloWebRender, EscapesAndEncodes) {
  EXPECT_EQ(escape_html("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(encode_path("src/a b#?<x>%.txt"), "src/a%20b%23%3F%3Cx%3E%25.txt");
}

TEST(SiloWebRender, MarkdownDropsRawHtmlAndScriptLinks) {
  const std::string html = render_markdown("# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) *em*\n");
  EXPECT_NE(html.find("<h1>Title</h1>"), std::string::npos) << html;
  EXPECT_NE(html.find("<em>em</em>"), std::string::npos) << html;
  EXPECT_EQ(html.find("<script"), std::string::npos) << html;
  EXPECT_EQ(html.find("javascript:"), std::string::npos) << html;
}

TEST(SiloWebRender, HighlightsByFileNameAndEscapesWhatItCannot) {
  Highlighter h("/usr/share/source-highlight");
  const std::string code = h.highlight("main.cpp", "int main() { return 0; } // <b>\n");
  EXPECT_NE(code.find("<span class=\"keyword\">return</span>"), std::string::npos) << code;
  EXPECT_NE(code.find("&lt;b&gt;"), std::string::npos) << code;
  const std::string plain = h.highlight("notes.unknownext", "<b>x</b>");
  EXPECT_EQ(plain, "<pre class=\"plain\">&lt;b&gt;x&lt;/b&gt;</pre>");
}

}  // namespace
}  // namespace seed::api::silo_web
