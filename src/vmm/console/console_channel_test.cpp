// The host end of the console channel against a stand-in for the guest's relay on a Unix
// socket (a thread speaking console_frame.hpp). The stand-in checks the host's side of the
// protocol only: the real relay, its pty and QEMU's port are exercised by the end-to-end test
// (tests/e2e/console_e2e_test.cpp), which this cannot replace.
#include "vmm/console/console_channel.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <thread>

#include <gtest/gtest.h>

#include "common/testing/temp_dir.hpp"
#include "common/unix_socket.hpp"

namespace seed::vmm {
namespace {

using namespace std::chrono_literals;

// Reads frames from `fd` until `want` arrives (or the peer closes); returns it.
std::optional<ConsoleFrame> read_until(int fd, ConsoleFrameDecoder& d, ConsoleFrameType want) {
  char buf[4096];
  for (;;) {
    auto f = d.next();
    if (!f) return std::nullopt;
    if (*f) {
      if ((*f)->type == want) return std::move(**f);
      continue;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return std::nullopt;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    d.feed(std::string_view(buf, static_cast<size_t>(n)));
  }
}

void send_all(int fd, const std::string& bytes) {
  ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

TEST(ConsoleChannel, DropsAPreviousSessionsTailAndHangsUpOnClose) {
  seed::testing::TempDir tmp;
  const std::string path = tmp.path() + "/console.sock";
  auto listener = listen_unix(path);
  ASSERT_TRUE(listener);
  ConsoleFrame open_seen, window_seen;
  std::string input_seen;
  bool hangup_seen = false;
  std::thread guest([&] {
    UniqueFd c(::accept(listener->get(), nullptr, nullptr));
    ConsoleFrameDecoder d;
    auto open = read_until(c.get(), d, ConsoleFrameType::open);
    if (!open) return;
    open_seen = *open;
    // Output of the session before this one, still on its way when the new one opened.
    send_all(c.get(), encode_data("stale output") + encode_hangup(0));
    send_all(c.get(), encode_opened(open->session) + encode_data("# "));
    auto data = read_until(c.get(), d, ConsoleFrameType::data);
    if (data) input_seen = data->data;
    auto window = read_until(c.get(), d, ConsoleFrameType::window);
    if (window) window_seen = *window;
    send_all(c.get(), encode_data("40 120\r\n"));
    hangup_seen = read_until(c.get(), d, ConsoleFrameType::hangup).has_value();
    send_all(c.get(), encode_hangup(129));
  });

  auto channel = ConsoleChannel::open(path, {30, 100}, "xterm-256color", 5s);
  ASSERT_TRUE(channel) << channel.error().describe();
  ASSERT_TRUE((*channel)->send_input("stty size\r"));
  ASSERT_TRUE((*channel)->resize({40, 120}));
  std::string shown;
  for (int i = 0; i < 100 && shown.find("40 120") == std::string::npos; ++i) {
    pollfd p{(*channel)->fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    auto out = (*channel)->read();
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_FALSE(out->ended);
    shown += out->data;
  }
  EXPECT_EQ(shown, "# 40 120\r\n");  // nothing of the stale session
  channel->reset();                  // hangs up and waits for the guest's answer
  guest.join();
  EXPECT_EQ(open_seen.size, (ConsoleSize{30, 100}));
  EXPECT_EQ(open_seen.term, "xterm-256color");
  EXPECT_EQ(input_seen, "stty size\r");
  EXPECT_EQ(window_seen.size, (ConsoleSize{40, 120}));
  EXPECT_TRUE(hangup_seen);
}

TEST(ConsoleChannel, ShellEndAndLostChannelAreReported) {
  seed::testing::TempDir tmp;
  const std::string path = tmp.path() + "/console.sock";
  auto listener = listen_unix(path);
  ASSERT_TRUE(listener);
  std::thread guest([&] {
    for (int round = 0; round < 2; ++round) {
      UniqueFd c(::accept(listener->get(), nullptr, nullptr));
      ConsoleFrameDecoder d;
      auto open = read_until(c.get(), d, ConsoleFrameType::open);
      if (!open) return;
      // Round 0: the shell exits with 7. Round 1: the VM goes away without a word.
      send_all(c.get(), encode_opened(open->session) + (round == 0 ? encode_data("bye\r\n") + encode_hangup(7) : ""));
    }
  });
  auto read_to_end = [](ConsoleChannel& ch) {
    ConsoleChannel::Output all;
    for (int i = 0; i < 100 && !all.ended; ++i) {
      pollfd p{ch.fd(), POLLIN, 0};
      ::poll(&p, 1, 100);
      auto out = ch.read();
      EXPECT_TRUE(out);
      if (!out) break;
      all.data += out->data;
      all.ended = out->ended;
      all.exit_status = out->exit_status;
      all.lost = out->lost;
    }
    return all;
  };
  auto exits = ConsoleChannel::open(path, {}, "xterm", 5s);
  ASSERT_TRUE(exits) << exits.error().describe();
  auto end = read_to_end(**exits);
  EXPECT_TRUE(end.ended);
  EXPECT_FALSE(end.lost);
  EXPECT_EQ(end.exit_status, 7);
  EXPECT_EQ(end.data, "bye\r\n");
  auto lost = ConsoleChannel::open(path, {}, "xterm", 5s);
  ASSERT_TRUE(lost) << lost.error().describe();
  auto gone = read_to_end(**lost);
  EXPECT_TRUE(gone.ended);
  EXPECT_TRUE(gone.lost);
  guest.join();
}

TEST(ConsoleChannel, NoSocketOrNoRelayIsUnavailableWithAHint) {
  seed::testing::TempDir tmp;
  auto missing = ConsoleChannel::open(tmp.path() + "/none.sock", {}, "xterm", 200ms);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::unavailable);
  EXPECT_NE(missing.error().get("hint"), std::nullopt);
  // A socket nobody answers on (a guest without the relay): refused when the wait is over.
  auto listener = listen_unix(tmp.path() + "/mute.sock");
  ASSERT_TRUE(listener);
  auto mute = ConsoleChannel::open(tmp.path() + "/mute.sock", {}, "xterm", 300ms);
  ASSERT_FALSE(mute);
  EXPECT_EQ(mute.error().code, Errc::unavailable);
  EXPECT_NE(mute.error().message.find("no shell started"), std::string::npos) << mute.error().message;
  auto bad_term = ConsoleChannel::open(tmp.path() + "/mute.sock", {}, "xterm;reboot", 300ms);
  ASSERT_FALSE(bad_term);
  EXPECT_EQ(bad_term.error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace seed::vmm
