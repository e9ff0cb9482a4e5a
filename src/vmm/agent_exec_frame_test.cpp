// The exec framing codec of the agent protocol: pure, byte-level.
#include "vmm/agent_exec_frame.hpp"

#include <gtest/gtest.h>

namespace seed::vmm {
namespace {

std::vector<ExecFrame> decode_all(ExecFrameDecoder& decoder) {
  std::vector<ExecFrame> frames;
  for (;;) {
    auto next = decoder.next();
    EXPECT_TRUE(next.ok()) << next.error().describe();
    if (!next.ok() || !next->has_value()) return frames;
    frames.push_back(std::move(**next));
  }
}

TEST(ExecFrame, HeaderIsTypeThenBigEndianLength) {
  const std::string bytes = encode_exec_frame(ExecFrameType::stdout_data, "hi");
  EXPECT_EQ(bytes, std::string("o\0\0\0\x02hi", 7));
}

TEST(ExecFrame, AllByteValuesRoundTripFedOneByteAtATime) {
  std::string data;
  for (int i = 0; i < 256; ++i) data.push_back(static_cast<char>(i));
  const std::string bytes = encode_exec_data(ExecFrameType::stderr_data, data) +
                            encode_exec_frame(ExecFrameType::stdin_eof, "") + encode_exec_exit(0);
  ExecFrameDecoder decoder;
  std::vector<ExecFrame> frames;
  for (char c : bytes) {
    decoder.feed(std::string_view(&c, 1));
    auto more = decode_all(decoder);
    frames.insert(frames.end(), more.begin(), more.end());
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].type, ExecFrameType::stderr_data);
  EXPECT_EQ(frames[0].payload, data);
  EXPECT_EQ(frames[1].type, ExecFrameType::stdin_eof);
  EXPECT_TRUE(frames[1].payload.empty());
  EXPECT_EQ(frames[2].type, ExecFrameType::exit);
  EXPECT_EQ(decode_exec_exit(frames[2].payload).value(), 0);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(ExecFrame, TenMiBIsSplitIntoBoundedFramesAndReassembledInOrder) {
  std::string data(10 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7919) >> 3);
  const std::string bytes = encode_exec_data(ExecFrameType::stdout_data, data);
  ExecFrameDecoder decoder;
  std::string out;
  size_t frames = 0;
  for (size_t at = 0; at < bytes.size(); at += 100000) {  // reads that do not line up with frames
    decoder.feed(std::string_view(bytes).substr(at, 100000));
    for (auto& f : decode_all(decoder)) {
      EXPECT_LE(f.payload.size(), kExecMaxPayload);
      out += f.payload;
      ++frames;
    }
  }
  EXPECT_EQ(frames, (data.size() + kExecMaxPayload - 1) / kExecMaxPayload);
  EXPECT_TRUE(out == data);
}

TEST(ExecFrame, ArgvKeepsEmptyArgumentsAndSpaces) {
  const std::vector<std::string> argv = {"sh", "-c", "echo 'a b'", ""};
  ExecFrameDecoder decoder;
  decoder.feed(encode_exec_argv(argv));
  auto frames = decode_all(decoder);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, ExecFrameType::argv);
  EXPECT_EQ(decode_exec_argv(frames[0].payload).value(), argv);
}

TEST(ExecFrame, ExitCodesOfSignalsAndErrorsRoundTrip) {
  for (int code : {0, 3, 255, 128 + 9}) {
    ExecFrameDecoder decoder;
    decoder.feed(encode_exec_exit(code));
    auto frames = decode_all(decoder);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(decode_exec_exit(frames[0].payload).value(), code);
  }
}

TEST(ExecFrame, AcksCarryAByteCountAndDoneIsEmpty) {
  ExecFrameDecoder decoder;
  decoder.feed(encode_exec_ack(0x01020304) + encode_exec_frame(ExecFrameType::done, ""));
  auto frames = decode_all(decoder);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].type, ExecFrameType::ack);
  EXPECT_EQ(encode_exec_ack(0x01020304).substr(0, 5), std::string("A\0\0\0\x04", 5));
  EXPECT_EQ(decode_exec_ack(frames[0].payload).value(), 0x01020304u);
  EXPECT_EQ(frames[1].type, ExecFrameType::done);
  EXPECT_TRUE(frames[1].payload.empty());
  EXPECT_FALSE(decode_exec_ack("abc").ok());
}

TEST(ExecFrame, BadInputIsAProtocolError) {
  ExecFrameDecoder unknown;
  unknown.feed(std::string("Z\0\0\0\0", 5));
  auto a = unknown.next();
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, Errc::protocol);
  EXPECT_NE(a.error().message.find("unknown type"), std::string::npos);

  ExecFrameDecoder oversized;
  oversized.feed(std::string("o\x7f\0\0\0", 5));  // claims 2 GiB: never buffered
  auto b = oversized.next();
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("over the"), std::string::npos);

  EXPECT_FALSE(decode_exec_argv("").ok());
  EXPECT_FALSE(decode_exec_argv(std::string("sh", 2)).ok());  // no terminating NUL
  EXPECT_FALSE(decode_exec_argv(std::string("\0", 1)).ok());  // empty command
  EXPECT_FALSE(decode_exec_exit("abc").ok());
}

}  // namespace
}  // namespace seed::vmm
