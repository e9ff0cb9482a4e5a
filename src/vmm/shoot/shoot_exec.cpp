#include "vmm/shoot/shoot_exec.hpp"

#include <openssl/evp.h>

#include <cctype>

namespace seed::vmm::shoot {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kStdinChunk = 48 * 1024;  // raw bytes per request: 64 KiB of base64
constexpr const char* kDir = "/run/shoot";

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> unbase64(const std::string& text) {
  if (text.empty()) return std::string();
  if (text.size() % 4 != 0) return make_error(Errc::protocol, "the guest sent malformed base64");
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return make_error(Errc::protocol, "the guest sent malformed base64");
  size_t pad = 0;
  if (text.back() == '=') pad++;
  if (text.size() > 1 && text[text.size() - 2] == '=') pad++;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

// The agent's `sh` answer: "| "-prefixed output lines, then "rc N".
struct ShAnswer {
  int rc = -1;
  std::vector<std::string> lines;
};

Result<ShAnswer> agent_sh(AgentClient& agent, const std::string& script, std::chrono::milliseconds timeout) {
  auto lines = SEED_TRY(agent.call("sh " + script, timeout));
  ShAnswer a;
  for (auto& l : lines) {
    if (l.rfind("| ", 0) == 0) a.lines.push_back(l.substr(2));
    else if (l == "|") a.lines.emplace_back();
    else if (l.rfind("rc ", 0) == 0) a.rc = std::atoi(l.c_str() + 3);
  }
  if (a.rc < 0) return make_error(Errc::protocol, "the guest agent's answer has no exit code");
  return a;
}

std::string script_for(const ShootCommand& c) {
  const std::string cap = std::to_string(c.output_cap + 1);
  std::string run = "(";
  for (const auto& [k, v] : c.env) run += "export " + shell_word(k + "=" + v) + "; ";
  run += "cd " + shell_word(c.cwd) + " && exec";
  for (const auto& a : c.argv) run += " " + shell_word(a);
  run += ")";
  std::string d = kDir;
  // Each stream: a FIFO read by head up to cap+1 bytes (cap+1 tells truncation), the rest
  // drained so the command never blocks on a full pipe nor dies of SIGPIPE.
  return "cd " + d + " || exit 1; mkfifo o e || exit 1; " +
         "{ head -c " + cap + " >out; cat >/dev/null; } <o & " +
         "{ head -c " + cap + " >err; cat >/dev/null; } <e & " +
         run + " <in >o 2>e; echo $? >rc; wait";
}

}  // namespace

std::string shell_word(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out = "$'";
  for (unsigned char c : bytes) {
    out += "\\x";
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out + "'";
}

Status validate(const ShootCommand& c) {
  if (c.argv.empty() || c.argv[0].empty()) {
    return make_error(Errc::invalid_argument, "command must be a non-empty list of arguments, the first naming the program");
  }
  size_t total = c.cwd.size();
  auto no_nul = [](const std::string& s) { return s.find('\0') == std::string::npos; };
  for (const auto& a : c.argv) {
    if (!no_nul(a)) return make_error(Errc::invalid_argument, "command arguments cannot contain NUL bytes");
    total += a.size() + 1;
  }
  for (const auto& [k, v] : c.env) {
    bool name_ok = !k.empty() && !std::isdigit(static_cast<unsigned char>(k[0]));
    for (char ch : k) name_ok = name_ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
    if (!name_ok) return make_error(Errc::invalid_argument, "env: '" + k + "' is not a variable name (letters, digits, _)");
    if (!no_nul(v)) return make_error(Errc::invalid_argument, "env: the value of " + k + " contains a NUL byte");
    total += k.size() + v.size() + 2;
  }
  // Escaped 4:1 into one `sh -c` argument, which the kernel caps at 128 KiB.
  if (total > 16 * 1024) {
    return make_error(Errc::invalid_argument, "command, env and cwd together exceed 16 KiB")
        .with("hint", "pass large inputs on stdin or through a volume");
  }
  if (c.cwd.empty() || c.cwd[0] != '/' || !no_nul(c.cwd)) {
    return make_error(Errc::invalid_argument, "cwd must be an absolute path");
  }
  if (c.timeout.count() <= 0) return make_error(Errc::invalid_argument, "timeout must be at least 1 ms");
  return ok();
}

Result<ShootResult> run_command(AgentClient& agent, const ShootCommand& c) {
  SEED_TRY(validate(c));
  using namespace std::chrono_literals;
  const std::string d = kDir;
  auto setup = SEED_TRY(agent_sh(agent, "rm -rf " + d + " && mkdir -p " + d + " && : >" + d + "/in", 10s));
  if (setup.rc != 0) return make_error(Errc::process_failed, "cannot prepare the clone's work directory");
  for (size_t at = 0; at < c.stdin_data.size(); at += kStdinChunk) {
    auto chunk = base64(std::string_view(c.stdin_data).substr(at, kStdinChunk));
    auto put = SEED_TRY(agent_sh(agent, "printf %s " + chunk + " | base64 -d >>" + d + "/in", 10s));
    if (put.rc != 0) return make_error(Errc::process_failed, "cannot pass stdin to the clone");
  }

  ShootResult r;
  auto started = Clock::now();
  auto ran = agent.call("sh " + script_for(c), c.timeout);
  r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  if (!ran) {
    if (ran.error().code == Errc::timeout) {
      return make_error(Errc::timeout, "the command did not finish within " +
                                           std::to_string(c.timeout.count()) + " ms");
    }
    return std::move(ran).error();
  }
  // One line per file: the exit code, then each stream's base64 (wrapped at 76 columns).
  auto back = SEED_TRY(agent_sh(agent, "cd " + d + " && cat rc && echo - && base64 out && echo - && base64 err", 60s));
  if (back.rc != 0 || back.lines.empty()) {
    std::string said;
    for (const auto& l : back.lines) said += l + "\n";
    return make_error(Errc::protocol, "cannot read the command's output back from the clone")
        .with("guest", said.substr(0, 2000));
  }
  r.exit_code = std::atoi(back.lines[0].c_str());
  std::string parts[2];
  int part = -1;
  for (size_t i = 1; i < back.lines.size(); ++i) {
    if (back.lines[i] == "-") ++part;
    else if (part >= 0 && part < 2) parts[part] += back.lines[i];
  }
  r.out = SEED_TRY(unbase64(parts[0]));
  r.err = SEED_TRY(unbase64(parts[1]));
  for (auto* s : {&r.out, &r.err}) {
    if (s->size() > c.output_cap) {
      s->resize(c.output_cap);
      r.truncated = true;
    }
  }
  if (r.exit_code > 128 && r.exit_code <= 128 + 64) r.signal = r.exit_code - 128;
  return r;
}

}  // namespace seed::vmm::shoot
