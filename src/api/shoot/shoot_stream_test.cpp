// POST /shoot through a real HttpServer on loopback and a real libcurl client: the reply
// streams while the shoot runs, a client that hangs up cancels it, NDJSON output lines come
// as the output does, non-UTF-8 output is base64, refusals keep their status (429). The engine
// is a double (it calls on_started/on_output and waits for `cancelled` instead of running a
// clone): that the engine kills a real clone on `cancelled` and leaves nothing behind is tested
// with real QEMU in shoot-e2e (ShootE2eTest.AClientThatHangsUpCancelsItsShoot).
#include "api/shoot/shoot_stream.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "api/http_server.hpp"
#include "api/shoot/shoot_output.hpp"
#include "api/shoot/shoot_routes.hpp"
#include "api/testing/listen.hpp"
#include "common/process.hpp"
#include "common/testing/proc_counts.hpp"

namespace seed::api::shoot {
namespace {

using seed::testing::eventually;

struct Sink {
  std::string* text;
  std::atomic<bool>* saw_first;
};

size_t append(char* data, size_t size, size_t n, void* out) {
  auto* s = static_cast<Sink*>(out);
  s->text->append(data, size * n);
  if (s->saw_first && s->text->find("first") != std::string::npos) *s->saw_first = true;
  return size * n;
}

struct ShootStreamTest : ::testing::Test {
  reconcile::AddressOwner web{{"ns1", "web"}, {"web.ns1.seed.test"}, false, true};
  // What the double does once called: refuse, or start, write "first", wait for the client to
  // have it (or for a cancel), then write the rest and end.
  bool refuse = false;
  std::atomic<bool> client_saw_first{false}, saw_cancel{false};
  std::unique_ptr<ShootRoutes> routes;
  std::unique_ptr<HttpServer> server;
  uint16_t port = 0;

  void SetUp() override {
    routes = std::make_unique<ShootRoutes>(ShootTargets{
        [this](const std::string& source) -> Result<reconcile::AddressOwner> {
          if (source == "127.0.0.1") return web;
          return make_error(Errc::not_found, "nobody");
        },
        [this](const reconcile::InstanceId&, const reconcile::ShootRequest& r,
               const std::atomic<bool>& cancelled) -> Result<reconcile::ShootReply> {
          if (refuse) return make_error(Errc::unavailable, "too many shoots").with("retry_after", "3");
          r.on_started();
          if (r.on_output) r.on_output(false, "first\n");
          // Bounded so a broken server cannot hang the test run; the assertions say what failed.
          for (int i = 0; i < 3000 && !client_saw_first && !cancelled; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
          if (cancelled) {
            saw_cancel = true;
            return make_error(Errc::unavailable, "cancelled");
          }
          if (r.on_output) {
            r.on_output(false, "caf\xc3");  // a two-byte character cut between two chunks
            r.on_output(false, "\xa9\n");
            r.on_output(true, "bin\xff");
          }
          reconcile::ShootReply reply;
          reply.exit_code = 7;
          reply.out = "first\ncaf\xc3\xa9\n";
          reply.err = "bin\xff";
          return reply;
        }});
    Router router;
    routes->add_routes(router);
    std::vector<Listener> listeners;
    listeners.push_back({"guest", api::testing::listen_loopback(&port), std::move(router)});
    auto s = HttpServer::start(std::move(listeners), HttpLimits{});
    ASSERT_TRUE(s.ok()) << s.error().describe();
    server = std::move(*s);
  }
  void TearDown() override { server.reset(); }

  struct Reply {
    long status = 0;
    std::string body, headers;
  };
  Reply post(const std::string& accept) {
    Reply r;
    Sink body{&r.body, &client_saw_first}, head{&r.headers, nullptr};
    CURL* c = curl_easy_init();
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/shoot";
    const std::string payload = R"({"command":["true"]})";
    curl_slist* headers = curl_slist_append(nullptr, ("Accept: " + accept).c_str());
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &append);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &append);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &head);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return r;
  }
};

TEST_F(ShootStreamTest, AClientThatHangsUpCancelsItsRunningShoot) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&dst), sizeof dst), 0);
  const std::string body = R"({"command":["sleep","600"]})";
  const std::string req = "POST /shoot HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(::write(fd.get(), req.data(), req.size()), static_cast<ssize_t>(req.size()));
  // The reply's head arrives while the shoot runs (it streams); then the client goes away.
  std::string got;
  char buf[512];
  while (got.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    ASSERT_GT(n, 0) << got;
    got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_NE(got.find("200"), std::string::npos) << got;
  fd.reset();
  EXPECT_TRUE(eventually([&] { return saw_cancel.load(); }, std::chrono::seconds(20)))
      << "the shoot was not cancelled after its client hung up";
}

TEST_F(ShootStreamTest, NdjsonSendsOutputAsItComesThenTheStatusLast) {
  // The double writes its second part only after the client has the first line: a reply sent
  // at the end would never get there (the double gives up and the lines below are missing).
  auto r = post("application/x-ndjson");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.headers.find("application/x-ndjson"), std::string::npos) << r.headers;
  std::vector<nlohmann::json> lines;
  std::istringstream in(r.body);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));  // empty lines: heartbeats
  }
  ASSERT_EQ(lines.size(), 5u) << r.body;
  EXPECT_EQ(lines[0], nlohmann::json({{"stdout", "first\n"}}));
  EXPECT_EQ(lines[1], nlohmann::json({{"stdout", "caf"}}));  // the cut character is held back
  EXPECT_EQ(lines[2], nlohmann::json({{"stdout", "\xc3\xa9\n"}}));  // until it is whole
  EXPECT_EQ(lines[3], nlohmann::json({{"stderr", "Ymlu/w=="}, {"encoding", "base64"}}));  // "bin\xff"
  EXPECT_EQ(lines[4]["exitCode"], 7);
  EXPECT_FALSE(lines[4].contains("stdout"));
  EXPECT_FALSE(saw_cancel);
}

TEST_F(ShootStreamTest, TheJsonFormIsOneObjectWithNonUtf8OutputAsBase64) {
  client_saw_first = true;  // the plain form has no output lines to wait for
  auto r = post("application/json");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);  // leading heartbeat newlines are JSON whitespace
  EXPECT_EQ(j["exitCode"], 7);
  EXPECT_EQ(j["stdout"], "first\ncaf\xc3\xa9\n");
  EXPECT_FALSE(j.contains("stdoutEncoding"));
  EXPECT_EQ(j["stderr"], "Ymlu/w==");
  EXPECT_EQ(j["stderrEncoding"], "base64");
}

TEST_F(ShootStreamTest, ARefusalBeforeTheShootStartsKeeps429AndRetryAfter) {
  refuse = true;
  auto r = post("application/x-ndjson");
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_NE(r.headers.find("Retry-After: 3"), std::string::npos) << r.headers;
}

TEST(ShootOutput, Utf8IsCheckedStrictlyAndCutSequencesAreHeldBack) {
  EXPECT_TRUE(is_utf8("plain \xc3\xa9 \xe2\x82\xac \xf0\x9f\x8c\xb1"));
  EXPECT_FALSE(is_utf8("\xff"));
  EXPECT_FALSE(is_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_utf8("\xc3"));              // cut short
  EXPECT_EQ(utf8_complete_prefix("ab\xc3"), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab\xf0\x9f\x8c"), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab\xc3\xa9"), 4u);
  EXPECT_EQ(utf8_complete_prefix("ab\xff"), 3u);  // not a lead byte: nothing to wait for
  EXPECT_EQ(base64("bin\xff"), "Ymlu/w==");
}

// seed-shoot (nixos-module/guest/seed-shoot.sh, what runtime.nix installs) run as is by bash
// with real curl and jq against the real server: it prints output lines as they come (decoding
// base64 ones to the exact bytes) and exits with the command's code; a refusal is exit 125 with
// the endpoint's reason. Not covered here: the writeShellApplication wrapper (no nixpkgs on
// this machine; shellcheck, which it runs, passes on the script).
struct ShootScriptTest : ShootStreamTest {
  RunResult seed_shoot(std::vector<std::string> args) {
    std::vector<std::string> argv{"bash", std::string(std::getenv("SEED_SOURCE_DIR")) + "/nixos-module/guest/seed-shoot.sh"};
    argv.insert(argv.end(), args.begin(), args.end());
    SpawnOptions o;
    o.argv = argv;
    o.env = {"SEED_SHOOT_URL=http://127.0.0.1:" + std::to_string(port)};
    auto r = run(o, RunOptions{});
    EXPECT_TRUE(r.ok()) << r.error().describe();
    return r ? *r : RunResult{};
  }
};

TEST_F(ShootScriptTest, SeedShootPrintsTheStreamedOutputAndExitsWithTheCommandsCode) {
  client_saw_first = true;  // curl inside the script: the double need not wait for it
  auto r = seed_shoot({"sh", "-c", "whatever"});
  EXPECT_EQ(r.status.code, 7) << r.err;
  EXPECT_EQ(r.out, "first\ncaf\xc3\xa9\n");
  EXPECT_EQ(r.err, "bin\xff");
}

TEST_F(ShootScriptTest, SeedShootSaysWhyTheEndpointRefusedAndExits125) {
  refuse = true;
  auto r = seed_shoot({"true"});
  EXPECT_EQ(r.status.code, 125);
  EXPECT_NE(r.err.find("too many shoots"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace seed::api::shoot
