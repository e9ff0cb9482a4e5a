#include "net/ingress/http_stream.hpp"

#include <gtest/gtest.h>

namespace seed::net::ingress {
namespace {

using State = HttpStream::State;

TEST(HttpStream, HostWithPortAndCaseIsNormalized) {
  HttpStream s;
  EXPECT_EQ(s.feed("GET / HTTP/1.1\r\nHOST: A.Example:8080\r\n\r\n"), State::routed);
  EXPECT_EQ(s.host(), "a.example");
}

TEST(HttpStream, HeadSplitAcrossReads) {
  const std::string req = "GET /x HTTP/1.1\r\nUser-Agent: t\r\nHost: b.example\r\nAccept: */*\r\n\r\n";
  for (size_t cut = 1; cut < req.size(); ++cut) {
    HttpStream s;
    EXPECT_EQ(s.feed(req.substr(0, cut)), State::head) << cut;
    EXPECT_EQ(s.committed(), 0u) << "nothing goes on before the head is complete";
    EXPECT_EQ(s.feed(req.substr(cut)), State::routed) << cut;
    EXPECT_EQ(s.host(), "b.example");
    EXPECT_EQ(s.committed(), req.size());
  }
}

TEST(HttpStream, PipelinedSameHostIsAllCommitted) {
  HttpStream s;
  const std::string two = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\n"
                          "Content-Length: 5\r\n\r\nhello";
  EXPECT_EQ(s.feed(two), State::routed);
  EXPECT_EQ(s.committed(), two.size());
}

TEST(HttpStream, HostChangeStopsAtTheRequestBoundary) {
  HttpStream s;
  const std::string first = "POST /1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "3\r\nabc\r\n0\r\n\r\n";
  const std::string second = "GET /2 HTTP/1.1\r\nHost: b\r\n\r\n";
  EXPECT_EQ(s.feed(first), State::routed);
  EXPECT_EQ(s.feed(second), State::host_changed);
  EXPECT_EQ(s.host(), "a");
  EXPECT_EQ(s.committed(), first.size());
}

TEST(HttpStream, AbsoluteFormTargetWins) {
  HttpStream s;
  EXPECT_EQ(s.feed("GET http://c.example:81/p HTTP/1.1\r\nHost: other\r\n\r\n"), State::routed);
  EXPECT_EQ(s.host(), "c.example");
}

TEST(HttpStream, UpgradeBecomesOpaque) {
  HttpStream s;
  const std::string head = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
                           "Upgrade: websocket\r\n\r\n";
  EXPECT_EQ(s.feed(head + "\x81\x05hello"), State::routed);
  EXPECT_EQ(s.feed("not http at all"), State::routed);
  EXPECT_EQ(s.committed(), head.size() + 7 + 15);
}

TEST(HttpStream, MissingHostIs400) {
  HttpStream s;
  EXPECT_EQ(s.feed("GET / HTTP/1.0\r\n\r\n"), State::failed);
  EXPECT_EQ(s.error_status(), 400);
  EXPECT_NE(s.error_reason().find("Host"), std::string::npos);
  HttpStream two;
  EXPECT_EQ(two.feed("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), State::failed);
  EXPECT_EQ(two.error_status(), 400);
  HttpStream bad;
  EXPECT_EQ(bad.feed("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), State::failed);
  EXPECT_EQ(bad.error_status(), 400);
}

TEST(HttpStream, GiantHeadIs431EvenBeforeItEnds) {
  HttpStream s(HttpLimits{1024});
  EXPECT_EQ(s.feed("GET / HTTP/1.1\r\nHost: a\r\nX-Big: "), State::head);
  EXPECT_EQ(s.feed(std::string(2000, 'x')), State::failed);
  EXPECT_EQ(s.error_status(), 431);
  EXPECT_EQ(s.committed(), 0u);
}

TEST(HttpStream, GarbageIs400AndH2cPrefaceIs505) {
  HttpStream g;
  EXPECT_EQ(g.feed("\x16\x03\x01 binary"), State::failed);
  EXPECT_EQ(g.error_status(), 400);
  HttpStream h2;
  EXPECT_EQ(h2.feed("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), State::failed);
  EXPECT_EQ(h2.error_status(), 505);
  EXPECT_NE(h2.error_reason().find("h2c"), std::string::npos);
}

}  // namespace
}  // namespace seed::net::ingress
