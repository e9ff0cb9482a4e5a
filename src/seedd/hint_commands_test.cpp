// Every command seedd's messages and hints tell someone to run exists (issue 12 item 8: a TPM
// error told the owner to run `seedctl tpm restore …`, which never existed).
//
// Reads the sources under src/ (every message seedd can show is a string literal there) and
// checks each command written as "`seedctl WORDS" or "(seedctl WORDS" against seedctl's own
// parser, and each "`ssh <node> WORDS" against the SSH front end's. What it cannot catch: a
// command spelt without the program name (a tenant hint such as "`logs web`") or built at run
// time from pieces; those are read by eye (docs/seedctl.md, docs/sshcli.md list the commands).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "seedctl/cli_args.hpp"
#include "sshcli/command_line.hpp"

namespace seed {
namespace {

namespace fs = std::filesystem;

struct Mention {
  std::string where;  // file:line
  std::string words;  // what follows the program name
};

// Every "<prefix>words" outside comments in the non-test sources under src/, words being
// lowercase command words separated by single spaces.
std::vector<Mention> mentions(const std::string& prefix_regex) {
  const char* root = std::getenv("SEED_SOURCE_DIR");
  EXPECT_NE(root, nullptr) << "SEED_SOURCE_DIR is not set (meson test sets it)";
  std::vector<Mention> out;
  if (root == nullptr) return out;
  const std::regex pattern(prefix_regex + "([a-z][a-z-]*(?: [a-z][a-z-]*)*)");
  for (const auto& entry : fs::recursive_directory_iterator(std::string(root) + "/src")) {
    const std::string path = entry.path().string();
    const std::string ext = entry.path().extension();
    if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
    if (path.find("_test.cpp") != std::string::npos || path.find("/testing/") != std::string::npos) continue;
    auto text = read_file(path);
    EXPECT_TRUE(text) << path;
    if (!text) continue;
    size_t line = 1, counted_to = 0;
    for (std::sregex_iterator it(text->begin(), text->end(), pattern), end; it != end; ++it) {
      const size_t at = static_cast<size_t>(it->position(0));
      line += static_cast<size_t>(std::count(text->begin() + static_cast<long>(counted_to), text->begin() + static_cast<long>(at), '\n'));
      counted_to = at;
      // Comments talk about seedctl ("seedctl prints it"); only messages are checked.
      const size_t line_start = text->rfind('\n', at) == std::string::npos ? 0 : text->rfind('\n', at) + 1;
      if (text->substr(line_start, at - line_start).find("//") != std::string::npos) continue;
      out.push_back({fs::relative(path, root).string() + ":" + std::to_string(line), (*it)[1]});
    }
  }
  return out;
}

std::vector<std::string> split(const std::string& words) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= words.size()) {
    size_t space = words.find(' ', start);
    if (space == std::string::npos) space = words.size();
    out.push_back(words.substr(start, space - start));
    start = space + 1;
  }
  return out;
}

TEST(HintCommands, EverySeedctlCommandNamedInSrcExists) {
  const auto found = mentions("[`(]seedctl ");
  EXPECT_GE(found.size(), 5u) << "the scan found (almost) nothing: did the sources move?";
  for (const auto& m : found) {
    // A mention may stop before the command's arguments (`seedctl restart` the instance), or
    // run on into prose: only a command or subcommand seedctl does not know is wrong.
    std::vector<std::string> words = split(m.words);
    auto parsed = seedctl::parse_cli(words, 0);
    while (!parsed && words.size() > 1 && parsed.error().message.find("unexpected argument") != std::string::npos) {
      words.pop_back();
      parsed = seedctl::parse_cli(words, 0);
    }
    const std::string why = parsed ? "" : parsed.error().message;
    EXPECT_EQ(why.find("unknown command"), std::string::npos) << m.where << ": seedctl " << m.words << ": " << why;
    EXPECT_EQ(why.find("unknown subcommand"), std::string::npos) << m.where << ": seedctl " << m.words << ": " << why;
    EXPECT_EQ(why.find("needs a subcommand"), std::string::npos) << m.where << ": seedctl " << m.words << ": " << why;
  }
}

TEST(HintCommands, EverySshCommandNamedInSrcExists) {
  const auto found = mentions("`ssh <node> ");
  EXPECT_GE(found.size(), 1u) << "the scan found nothing: did the sources move?";
  for (const auto& m : found) {
    auto parsed = sshcli::parse_command(split(m.words).front());
    const std::string why = parsed ? "" : parsed.error().message;
    EXPECT_EQ(why.find("unknown command"), std::string::npos) << m.where << ": ssh <node> " << m.words << ": " << why;
  }
}

// The check itself: the hint that started this must fail it.
TEST(HintCommands, TheCheckRejectsACommandThatDoesNotExist) {
  auto parsed = seedctl::parse_cli(split("tpm restore"), 0);
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("unknown command"), std::string::npos) << parsed.error().message;
}

}  // namespace
}  // namespace seed
