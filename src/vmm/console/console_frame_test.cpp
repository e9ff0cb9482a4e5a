// The console channel's framing (console_frame.hpp): every frame type round-trips through the
// decoder in any split, and what the decoder refuses.
#include "vmm/console/console_frame.hpp"

#include <gtest/gtest.h>

namespace seed::vmm {
namespace {

std::vector<ConsoleFrame> decode_all(const std::string& bytes, size_t chunk) {
  ConsoleFrameDecoder d;
  std::vector<ConsoleFrame> out;
  for (size_t i = 0; i < bytes.size(); i += chunk) {
    d.feed(std::string_view(bytes).substr(i, chunk));
    for (;;) {
      auto f = d.next();
      EXPECT_TRUE(f) << f.error().describe();
      if (!f || !*f) break;
      out.push_back(std::move(**f));
    }
  }
  return out;
}

TEST(ConsoleFrame, WireBytesAreTypeLengthPayload) {
  EXPECT_EQ(encode_window({50, 132}), std::string("W\x00\x04\x00\x32\x00\x84", 7));
  EXPECT_EQ(encode_data("hi"), std::string("D\x00\x02hi", 5));
  EXPECT_EQ(encode_hangup(), std::string("H\x00\x00", 3));
  EXPECT_EQ(encode_hangup(130), std::string("H\x00\x01\x82", 4));
  EXPECT_EQ(encode_opened(0x01020304), std::string("o\x00\x04\x01\x02\x03\x04", 7));
  auto open = encode_open(7, {24, 80}, "xterm");
  ASSERT_TRUE(open);
  EXPECT_EQ(*open, std::string("O\x00\x0d\x00\x00\x00\x07\x00\x18\x00\x50xterm", 16));
}

TEST(ConsoleFrame, EveryTypeRoundTripsInAnySplit) {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  std::string stream = *encode_open(42, {40, 120}, "xterm-256color") + encode_opened(42) + encode_data(binary) +
                       encode_window({33, 77}) + encode_hangup() + encode_hangup(0);
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{5}, size_t{4096}}) {
    auto frames = decode_all(stream, chunk);
    ASSERT_EQ(frames.size(), 6u) << "chunk " << chunk;
    EXPECT_EQ(frames[0].type, ConsoleFrameType::open);
    EXPECT_EQ(frames[0].session, 42u);
    EXPECT_EQ(frames[0].size, (ConsoleSize{40, 120}));
    EXPECT_EQ(frames[0].term, "xterm-256color");
    EXPECT_EQ(frames[1].type, ConsoleFrameType::opened);
    EXPECT_EQ(frames[1].session, 42u);
    EXPECT_EQ(frames[2].type, ConsoleFrameType::data);
    EXPECT_EQ(frames[2].data, binary);
    EXPECT_EQ(frames[3].type, ConsoleFrameType::window);
    EXPECT_EQ(frames[3].size, (ConsoleSize{33, 77}));
    EXPECT_EQ(frames[4].type, ConsoleFrameType::hangup);
    EXPECT_FALSE(frames[4].exit_status);
    EXPECT_EQ(frames[5].exit_status, 0);
  }
}

TEST(ConsoleFrame, LargeDataIsSplitIntoMaximalFrames) {
  std::string big(10000, 'x');
  std::string bytes = encode_data(big);
  EXPECT_EQ(bytes.size(), big.size() + 3 * 3);  // 4096 + 4096 + 1808
  auto frames = decode_all(bytes, 1000);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].data.size(), kConsoleMaxPayload);
  EXPECT_EQ(frames[0].data + frames[1].data + frames[2].data, big);
  EXPECT_EQ(encode_data(""), "");
}

TEST(ConsoleFrame, OpenRefusesATermThatCouldCarryAnythingElse) {
  EXPECT_TRUE(encode_open(1, {}, ""));
  EXPECT_FALSE(encode_open(1, {}, "xterm;rm -rf /"));
  EXPECT_FALSE(encode_open(1, {}, std::string(65, 'x')));
  auto e = encode_open(1, {}, "x\ny");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Errc::invalid_argument);
  EXPECT_NE(e.error().get("hint"), std::nullopt);
}

TEST(ConsoleFrame, DecoderRefusesWhatIsNotAFrame) {
  auto refused = [](const std::string& bytes) {
    ConsoleFrameDecoder d;
    d.feed(bytes);
    auto f = d.next();
    return !f && f.error().code == Errc::protocol;
  };
  EXPECT_TRUE(refused(std::string("Z\x00\x00", 3)));              // unknown type
  EXPECT_TRUE(refused(std::string("D\x10\x01", 3)));              // 4097 bytes announced
  EXPECT_TRUE(refused(std::string("W\x00\x02\x00\x01", 5)));      // window of 2 bytes
  EXPECT_TRUE(refused(std::string("o\x00\x01\x00", 4)));          // opened of 1 byte
  EXPECT_TRUE(refused(std::string("H\x00\x02\x00\x00", 5)));      // hangup of 2 bytes
  EXPECT_TRUE(refused(std::string("O\x00\x09\x00\x00\x00\x01\x00\x18\x00\x50;", 12)));  // bad TERM
  // An incomplete frame is no error: it waits for the rest.
  ConsoleFrameDecoder d;
  d.feed(std::string("D\x00\x05he", 5));
  auto f = d.next();
  ASSERT_TRUE(f);
  EXPECT_FALSE(*f);
  d.feed("llo");
  f = d.next();
  ASSERT_TRUE(f && *f);
  EXPECT_EQ((*f)->data, "hello");
}

}  // namespace
}  // namespace seed::vmm
