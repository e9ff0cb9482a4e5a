#include "pty_client.hpp"

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <thread>

namespace seed::e2e {

using Clock = std::chrono::steady_clock;

PtyClient::PtyClient(const std::vector<std::string>& argv, const std::vector<std::string>& env, unsigned short rows,
                     unsigned short cols) {
  winsize ws{};
  ws.ws_row = rows;
  ws.ws_col = cols;
  int master = -1;
  pid_ = ::forkpty(&master, nullptr, nullptr, &ws);
  if (pid_ == 0) {
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  master_ = UniqueFd(master);
}

PtyClient::~PtyClient() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void PtyClient::type(const std::string& keys) {
  size_t done = 0;
  while (done < keys.size()) {
    ssize_t n = ::write(master_.get(), keys.data() + done, keys.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

void PtyClient::read_some(int timeout_ms) {
  pollfd p{master_.get(), POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return;
  char buf[4096];
  ssize_t n = ::read(master_.get(), buf, sizeof buf);
  if (n > 0) seen_.append(buf, static_cast<size_t>(n));
  // EIO: the program closed the terminal (it exited); nothing more will come.
  if (n <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
}

bool PtyClient::expect(const std::string& text, std::chrono::seconds patience) {
  const auto until = Clock::now() + patience;
  for (;;) {
    size_t at = seen_.find(text, mark_);
    if (at != std::string::npos) {
      mark_ = at + text.size();
      return true;
    }
    if (Clock::now() >= until) return false;
    read_some(200);
  }
}

void PtyClient::resize(unsigned short rows, unsigned short cols) {
  winsize ws{};
  ws.ws_row = rows;
  ws.ws_col = cols;
  ::ioctl(master_.get(), TIOCSWINSZ, &ws);
  // The kernel signals the terminal's foreground group already; ssh is its only member.
  ::kill(pid_, SIGWINCH);
}

std::optional<int> PtyClient::wait_exit(std::chrono::seconds patience) {
  const auto until = Clock::now() + patience;
  while (pid_ > 0) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      read_some(0);
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (Clock::now() >= until) return std::nullopt;
    read_some(100);  // keeps the terminal drained, so the program never blocks writing
  }
  return std::nullopt;
}

}  // namespace seed::e2e
