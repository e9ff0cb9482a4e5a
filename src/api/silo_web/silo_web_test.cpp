// Silo on the web against real programs: a bare repository made with the git CLI, the routes
// on a real HttpServer on loopback, fetched with the curl CLI and cloned with git over smart
// HTTP (through Debian's git-http-backend). Not through seedd: the public listener that will
// carry these routes is wired separately (docs/api.md), so nothing here covers the ingress's
// Host routing to it.
#include "api/silo_web/silo_web.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/http_server.hpp"
#include "api/testing/listen.hpp"
#include "common/process.hpp"
#include "common/testing/artifact_dir.hpp"
#include "common/testing/temp_dir.hpp"

namespace seed::api::silo_web {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

RunResult must_run(std::vector<std::string> argv, const std::string& cwd = "") {
  SpawnOptions o;
  o.argv = std::move(argv);
  o.cwd = cwd;
  o.stdout_mode = Output::capture;
  o.env = {"no_proxy=*", "NO_PROXY=*", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=Ada & Tester",
           "GIT_AUTHOR_EMAIL=ada@example.org", "GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.org"};
  RunOptions ro;
  ro.timeout = std::chrono::seconds(120);  // chromium on a loaded machine
  auto r = run(std::move(o), ro);
  EXPECT_TRUE(r.ok()) << r.error().describe();
  return r.ok() ? *r : RunResult{};
}

void write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Fetched {
  int status = 0;
  std::string body, headers;
};

class SiloWebTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path() + "/silo";
    work_ = tmp_.path() + "/work";
    std::filesystem::create_directories(root_);
    must_run({"git", "init", "-q", "-b", "main", work_});
    write(work_ + "/README.md", "# Hello Silo\n\nSome *text* and <script>alert('readme')</script>\n");
    write(work_ + "/src/main.cpp", "#include <cstdio>\nint main() { return 0; } // a < b\n");
    write(work_ + "/we<ird> name.txt", "odd name\n");
    write(work_ + "/big.txt", std::string(3000, 'x') + "TAIL-MARKER\n");
    write(work_ + "/bin.dat", std::string("\x00\x01\x02 binary", 10));
    must_run({"git", "add", "-A"}, work_);
    must_run({"git", "commit", "-qm", "first <commit>"}, work_);
    must_run({"git", "tag", "v1"}, work_);
    write(work_ + "/src/extra.py", "def f():\n    return 'x'\n");
    must_run({"git", "add", "-A"}, work_);
    must_run({"git", "commit", "-qm", "second & last"}, work_);
    must_run({"git", "clone", "-q", "--bare", work_, root_ + "/app.git"});
    bare_ = root_ + "/app.git";

    SiloWebConfig config;
    config.max_file_bytes = 1024;  // big.txt is cut
    serve(config);
  }

  // (Re)starts the server on a new port with `config` (its root and clone_base filled in).
  void serve(SiloWebConfig config, HttpLimits limits = {}) {
    server_.reset();
    uint16_t port = 0;
    UniqueFd socket = api::testing::listen_loopback(&port);
    base_ = "http://127.0.0.1:" + std::to_string(port);
    Router routes;
    config.root = root_;
    config.clone_base = base_;
    add_silo_web_routes(routes, config);
    std::vector<Listener> listeners;
    listeners.push_back({"public", std::move(socket), std::move(routes)});
    limits.requests_per_second = 0;
    auto server = HttpServer::start(std::move(listeners), limits);
    ASSERT_TRUE(server.ok()) << server.error().describe();
    server_ = std::move(*server);
  }

  // How many processes run with this test's bare repository in their command line (git archive).
  int git_processes() const {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      const std::string pid = e.path().filename();
      if (pid.empty() || !std::isdigit(static_cast<unsigned char>(pid[0]))) continue;
      std::string cmdline = read(e.path().string() + "/cmdline");
      std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
      if (cmdline.find("--git-dir=" + bare_ + " ") != std::string::npos) ++n;
    }
    return n;
  }

  // The real curl, the path sent exactly as written (no dot-segment clean-up).
  Fetched get(const std::string& path, const std::string& out_file = "") {
    const std::string headers = tmp_.path() + "/headers";
    const std::string body = out_file.empty() ? tmp_.path() + "/body" : out_file;
    auto r = must_run({"curl", "-sS", "--path-as-is", "-o", body, "-D", headers, "-w", "%{http_code}", base_ + path});
    Fetched f;
    f.status = std::atoi(r.out.c_str());
    f.headers = read(headers);
    if (out_file.empty()) f.body = read(body);
    return f;
  }

  seed::testing::TempDir tmp_;
  std::string root_, work_, bare_, base_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(SiloWebTest, CloneOverHttpWorksFsckPassesAndPushIsRefused) {
  for (const char* protocol : {"2", "0"}) {
    const std::string dir = tmp_.path() + "/clone-v" + protocol;
    auto clone = must_run({"git", "-c", std::string("protocol.version=") + protocol, "clone", base_ + "/app.git", dir});
    ASSERT_TRUE(clone.status.success()) << clone.err;
    EXPECT_TRUE(must_run({"git", "-C", dir, "fsck", "--full", "--strict"}).status.success());
    EXPECT_EQ(must_run({"git", "-C", dir, "rev-parse", "HEAD"}).out,
              must_run({"git", "--git-dir=" + bare_, "rev-parse", "main"}).out);
    EXPECT_EQ(must_run({"git", "-C", dir, "tag"}).out, "v1\n");
  }
  // Without ".git" too, as on the page's own URL.
  EXPECT_TRUE(must_run({"git", "clone", "-q", base_ + "/app", tmp_.path() + "/clone-plain"}).status.success());

  const std::string dir = tmp_.path() + "/clone-v2";
  const std::string before = must_run({"git", "--git-dir=" + bare_, "for-each-ref"}).out;
  write(dir + "/new.txt", "pushed?\n");
  must_run({"git", "-C", dir, "add", "-A"});
  must_run({"git", "-C", dir, "commit", "-qm", "try"});
  auto push = must_run({"git", "-C", dir, "push", "origin", "HEAD:refs/heads/main", "HEAD:refs/heads/other"});
  EXPECT_FALSE(push.status.success());
  EXPECT_EQ(must_run({"git", "--git-dir=" + bare_, "for-each-ref"}).out, before);
  Fetched direct = get("/app.git/info/refs?service=git-receive-pack");
  EXPECT_EQ(direct.status, 403);
  EXPECT_THAT(direct.body, HasSubstr("read-only; push over SSH"));
}

// A fetch's negotiation is one POST body holding a 50-byte `have` line per commit the client
// offers: a clone that diverged by thousands of commits sends more than the listener's 64 KiB.
// It used to get 413 and the fetch failed; the route has its own, larger limit. The request is
// written by hand (protocol v0 pkt-lines, 2000 haves of commits Silo never saw) because git's
// own negotiation only grows that far after rounds whose size depends on its version.
TEST_F(SiloWebTest, AFetchWithAHugeHaveListIsNotRefusedAsTooLarge) {
  auto pkt = [](const std::string& line) {
    char len[5];
    std::snprintf(len, sizeof len, "%04zx", line.size() + 4);
    return std::string(len) + line;
  };
  const std::string want = must_run({"git", "--git-dir=" + bare_, "rev-parse", "main"}).out.substr(0, 40);
  std::string body = pkt("want " + want + " ofs-delta\n") + "0000";
  for (int i = 0; i < 2000; ++i) {
    char unseen[41];
    std::snprintf(unseen, sizeof unseen, "%040x", 0xabc000 + i);
    body += pkt(std::string("have ") + unseen + "\n");
  }
  body += pkt("done\n");
  ASSERT_GT(body.size(), 64u * 1024);
  const std::string request = tmp_.path() + "/negotiation";
  write(request, body);
  const std::string out = tmp_.path() + "/pack";
  auto r = must_run({"curl", "-sS", "-o", out, "-w", "%{http_code}", "-H",
                     "Content-Type: application/x-git-upload-pack-request", "--data-binary", "@" + request,
                     base_ + "/app.git/git-upload-pack"});
  EXPECT_EQ(r.out, "200") << read(out);
  EXPECT_THAT(read(out), HasSubstr("PACK")) << "git-http-backend answered without a pack";
}

TEST_F(SiloWebTest, TarballEqualsGitArchiveOfTheSameRef) {
  const std::string short_id = must_run({"git", "--git-dir=" + bare_, "rev-parse", "--short=8", "v1"}).out.substr(0, 8);
  for (const std::string& ref : std::vector<std::string>{"main", "v1", short_id}) {
    const std::string got = tmp_.path() + "/got-" + ref + ".tar.gz";
    Fetched f = get("/app/archive/" + ref + ".tar.gz", got);
    ASSERT_EQ(f.status, 200) << ref;
    EXPECT_THAT(f.headers, HasSubstr("application/gzip"));
    const std::string want = tmp_.path() + "/want-" + ref + ".tar";
    must_run({"git", "--git-dir=" + bare_, "archive", "--format=tar", "--prefix=app-" + ref + "/", "-o", want, ref});
    // The same files with the same contents: list both, then unpack both and compare.
    auto got_list = must_run({"tar", "-tzf", got});
    ASSERT_TRUE(got_list.status.success()) << got_list.err;
    EXPECT_EQ(got_list.out, must_run({"tar", "-tf", want}).out);
    const std::string a = tmp_.path() + "/a-" + ref, b = tmp_.path() + "/b-" + ref;
    std::filesystem::create_directories(a);
    std::filesystem::create_directories(b);
    must_run({"tar", "-xzf", got, "-C", a});
    must_run({"tar", "-xf", want, "-C", b});
    auto diff = must_run({"diff", "-r", a, b});
    EXPECT_TRUE(diff.status.success()) << diff.out;
    EXPECT_EQ(read(a + "/app-" + ref + "/src/main.cpp"), "#include <cstdio>\nint main() { return 0; } // a < b\n");
  }
  EXPECT_TRUE(std::filesystem::exists(tmp_.path() + "/a-main/app-main/src/extra.py"));
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() + "/a-v1/app-v1/src/extra.py"));
  EXPECT_EQ(get("/app/archive/nope.tar.gz").status, 404);
  EXPECT_EQ(get("/app/archive/main.zip").status, 404);
}

// A ref may hold '/' ("feature/x"): the URL alone cannot tell ref from path, so the longest
// run of leading segments naming a real ref wins, as on GitHub. feature/x is the first commit
// (no src/extra.py); main is the second.
TEST_F(SiloWebTest, RefsWithSlashesResolveByLongestMatchForEveryView) {
  must_run({"git", "--git-dir=" + bare_, "branch", "feature/x", "v1"});
  must_run({"git", "--git-dir=" + bare_, "tag", "rel/2024/q1", "main"});

  Fetched tree = get("/app/tree/feature/x/src");
  ASSERT_EQ(tree.status, 200) << tree.body;
  EXPECT_THAT(tree.body, HasSubstr("main.cpp"));
  EXPECT_THAT(tree.body, Not(HasSubstr("extra.py")));
  EXPECT_THAT(tree.body, HasSubstr("href=\"/app/blob/feature/x/src/main.cpp\""));
  Fetched root = get("/app/tree/feature/x");
  ASSERT_EQ(root.status, 200) << root.body;
  EXPECT_THAT(root.body, HasSubstr("README.md"));
  Fetched tagged = get("/app/tree/rel/2024/q1/src");
  ASSERT_EQ(tagged.status, 200) << tagged.body;
  EXPECT_THAT(tagged.body, HasSubstr("extra.py"));

  Fetched blob = get("/app/blob/feature/x/src/main.cpp");
  ASSERT_EQ(blob.status, 200) << blob.body;
  EXPECT_THAT(blob.body, HasSubstr("href=\"/app/raw/feature/x/src/main.cpp\""));
  Fetched raw = get("/app/raw/feature/x/src/main.cpp");
  ASSERT_EQ(raw.status, 200) << raw.body;
  EXPECT_EQ(raw.body, "#include <cstdio>\nint main() { return 0; } // a < b\n");
  EXPECT_EQ(get("/app/raw/feature/x/src/extra.py").status, 404);
  EXPECT_EQ(get("/app/raw/main/src/extra.py").status, 200);  // a plain ref still works

  Fetched commits = get("/app/commits/feature/x");
  ASSERT_EQ(commits.status, 200) << commits.body;
  EXPECT_THAT(commits.body, HasSubstr("first &lt;commit&gt;"));
  EXPECT_THAT(commits.body, Not(HasSubstr("second &amp; last")));

  const std::string got = tmp_.path() + "/feature-x.tar.gz";
  Fetched archive = get("/app/archive/feature/x.tar.gz", got);
  ASSERT_EQ(archive.status, 200);
  EXPECT_THAT(archive.headers, HasSubstr("filename=\"app-feature-x.tar.gz\""));
  auto list = must_run({"tar", "-tzf", got});
  EXPECT_THAT(list.out, HasSubstr("app-feature-x/src/main.cpp"));
  EXPECT_THAT(list.out, Not(HasSubstr("extra.py")));

  // A ref that does not exist is a clear 404, traversal inside the ref or the path still refused.
  for (const char* path : {"/app/tree/feature/y/src", "/app/blob/feature/main.cpp", "/app/commits/feature/y",
                           "/app/commits/feature/x/src", "/app/archive/feature/y.tar.gz", "/app/tree/feature/../main/src",
                           "/app/blob/feature/x/../../../config", "/app/blob/feature/x/src/%2e%2e/%2e%2e/config",
                           "/app/tree/feature//x/src", "/app/archive/feature/..%2f..%2fx.tar.gz",
                           "/app/archive/feature/-x.tar.gz", "/app/commits/"}) {
    Fetched f = get(path);
    EXPECT_EQ(f.status, 404) << path << ": " << f.body;
    EXPECT_THAT(f.headers, HasSubstr("application/problem+json")) << path;
    EXPECT_THAT(f.body, Not(HasSubstr(tmp_.path()))) << path;
  }
  EXPECT_THAT(get("/app/tree/feature/y/src").body, HasSubstr("no branch, tag or commit"));
}

// A client that takes a tarball slower than the minimum (100 KiB/s against 1 MiB/s) is cut off
// and its git process ended and reaped, freeing its slot, while that client still reads (it
// drains what the socket buffers already hold before it sees the end); meanwhile that address
// has no second slot, and another address (127.0.0.2) is served. Before, the slow reader held
// git and the slot for as long as it kept reading. The reader is a real socket with a 64 KiB
// receive buffer reading 4 KiB every 40 ms: curl's buffer grows to 32 MiB here and would swallow
// the whole tarball, and at 8 KiB/s libmicrohttpd's own 30 s inactivity timeout cuts it anyway,
// so neither would tell the fix from the old code.
// Commits 24 MiB that gzip cannot shrink to main: far more than the socket buffers hold.
void add_noise(const std::string& work, const std::string& bare) {
  std::string noise(24 << 20, '\0');
  std::mt19937_64 random(17);
  for (size_t i = 0; i + 8 <= noise.size(); i += 8) {
    const uint64_t v = random();
    std::memcpy(noise.data() + i, &v, 8);
  }
  write(work + "/noise.bin", noise);
  must_run({"git", "add", "-A"}, work);
  must_run({"git", "commit", "-qm", "noise"}, work);
  must_run({"git", "-C", work, "push", "-q", bare, "main"});
}

// A real client socket with a 64 KiB receive buffer asking for main's tarball, then reading
// 4 KiB every `pause` seconds (none at all for a negative pause), for at most 300 s.
Result<Child> tarball_reader(const std::string& base, const std::string& pause) {
  SpawnOptions o;
  const std::string port = base.substr(base.rfind(':') + 1);
  o.argv = {"python3", "-c",
            "import socket,sys,time\n"
            "s=socket.socket()\n"
            "s.setsockopt(socket.SOL_SOCKET,socket.SO_RCVBUF,65536)\n"
            "s.connect(('127.0.0.1'," + port + "))\n"
            "s.sendall(b'GET /app/archive/main.tar.gz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
            "pause=" + pause + "\n"
            "end=time.time()+300\n"
            "while pause<0 and time.time()<end:\n"
            "  time.sleep(1)\n"
            "while time.time()<end and s.recv(4096):\n"
            "  time.sleep(pause)\n"};
  o.stderr_mode = Output::capture;
  return spawn(o);
}

TEST_F(SiloWebTest, ASlowReaderIsCutOffItsGitEndedAndOthersServed) {
  add_noise(work_, bare_);
  SiloWebConfig config;
  config.max_processes = 2;
  config.max_processes_per_source = 1;
  config.min_client_bytes_per_second = 1024 * 1024;
  config.client_rate_window = std::chrono::seconds(5);  // room for the checks below before the cut
  serve(config);

  auto slow = tarball_reader(base_, "0.04");
  ASSERT_TRUE(slow.ok()) << slow.error().describe();
  for (int i = 0; i < 600 && git_processes() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_GT(git_processes(), 0) << "the slow download never started git archive";

  // Its address has no second slot; another address is served meanwhile.
  Fetched same = get("/app/archive/v1.tar.gz");
  EXPECT_EQ(same.status, 503) << same.body;
  EXPECT_THAT(same.body, HasSubstr("retry in a few seconds"));
  auto other = must_run({"curl", "-sS", "--interface", "127.0.0.2", "-o", "/dev/null", "-w", "%{http_code}",
                         base_ + "/app/archive/v1.tar.gz"});
  EXPECT_EQ(other.out, "200");

  // A bound on the wait, not on seedd's speed: the cut comes after the first full window.
  for (int i = 0; i < 1200 && git_processes() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(git_processes(), 0) << "git archive still runs for a client taking 100 KiB/s";
  EXPECT_TRUE(slow->running()) << "the slow curl ended before the check; the test proves nothing";
  // Its slot is free again, though that curl still reads what the buffers hold.
  EXPECT_EQ(get("/app/archive/v1.tar.gz").status, 200);
  slow->terminate();
}

// A client that stops reading altogether: libmicrohttpd then stops asking for output, so the
// rate check never runs; the listener's own bounds (its inactivity timeout and request
// deadline, 3 s here, 30 s and 60 s in seedd) close the connection, which ends and reaps git
// and frees the slot all the same.
TEST_F(SiloWebTest, AReaderThatStopsIsCutByTheDeadlineAndItsGitEnded) {
  add_noise(work_, bare_);
  SiloWebConfig config;
  config.max_processes = 1;
  config.min_client_bytes_per_second = 0;  // only the deadline is at work here
  HttpLimits limits;
  limits.request_timeout_s = 3;
  limits.idle_timeout_s = 3;
  serve(config, limits);
  auto stopped = tarball_reader(base_, "-1");
  ASSERT_TRUE(stopped.ok()) << stopped.error().describe();
  for (int i = 0; i < 600 && git_processes() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_GT(git_processes(), 0) << "the download never started git archive";
  for (int i = 0; i < 1200 && git_processes() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(git_processes(), 0) << "git archive still runs for a client that stopped reading";
  EXPECT_TRUE(stopped->running()) << "the client ended before the check; the test proves nothing";
  EXPECT_EQ(get("/app/archive/v1.tar.gz").status, 200);  // the only slot is free again
  stopped->terminate();
}

TEST_F(SiloWebTest, TraversalAndOptionInjectionAreRefusedWithoutNodePaths) {
  write(tmp_.path() + "/secret", "do not serve\n");
  for (const char* path : {
           "/../secret", "/..", "/%2e%2e", "/%2e%2e/info/refs?service=git-upload-pack",
           "/app/blob/main/../../../secret", "/app/blob/main/%2e%2e/%2e%2e/%2e%2e/secret",
           "/app/blob/main/src/%2e%2e/%2e%2e/config", "/app/tree/main/..", "/app/blob/main//etc/passwd",
           "/app/raw/main/%2Fetc%2Fpasswd", "/app/tree/..%2f..%2fsecret/x", "/app/blob/..%2F..%2Fconfig/x",
           "/%2e%2e%2fsecret/tree/main", "/app/archive/..%2f..%2fsecret.tar.gz", "/app/archive/-o..%2fx.tar.gz",
           "/app/archive/--output=%2ftmp%2fx.tar.gz", "/app/blob/--output=x/README.md", "/app/commits/HEAD~1",
           "/app/blob/main%5e/README.md", "/nope", "/nope/info/refs?service=git-upload-pack",
           "/app/blob/main/missing.txt", "/app/tree/main/README.md", "/app/blob/main/src"}) {
    Fetched f = get(path);
    EXPECT_EQ(f.status, 404) << path << ": " << f.body;
    EXPECT_THAT(f.headers, HasSubstr("application/problem+json")) << path;
    EXPECT_THAT(f.body, Not(HasSubstr(tmp_.path()))) << path;
    EXPECT_THAT(f.body, Not(HasSubstr("do not serve"))) << path;
  }
  // An encoded NUL never reaches the routes ("README.md%00.png" would read as README.md).
  Fetched nul = get("/app/raw/main/README.md%00.png");
  EXPECT_EQ(nul.status, 400);
}

TEST_F(SiloWebTest, AFileIsShownHighlightedAndEscaped) {
  Fetched f = get("/app/blob/main/src/main.cpp");
  ASSERT_EQ(f.status, 200) << f.body;
  EXPECT_THAT(f.headers, HasSubstr("text/html"));
  EXPECT_THAT(f.headers, HasSubstr("Content-Security-Policy: default-src 'none'"));
  EXPECT_THAT(f.body, HasSubstr("<span class=\"keyword\">return</span>"));
  EXPECT_THAT(f.body, HasSubstr("a &lt; b"));
  EXPECT_THAT(get("/app/blob/v1/src/main.cpp").body, HasSubstr("<span class=\"keyword\">return</span>"));
  EXPECT_EQ(get("/app/blob/v1/src/extra.py").status, 404);  // added after v1
  EXPECT_THAT(get("/app/blob/main/src/extra.py").body, HasSubstr("<span class=\"keyword\">def</span>"));
  Fetched raw = get("/app/raw/main/src/main.cpp");
  EXPECT_EQ(raw.body, "#include <cstdio>\nint main() { return 0; } // a < b\n");
  EXPECT_THAT(raw.headers, HasSubstr("text/plain"));
  EXPECT_EQ(get("/-/silo.css").status, 200);
}

TEST_F(SiloWebTest, AHugeFileIsShownTruncatedAndABinaryOneNotAtAll) {
  Fetched big = get("/app/blob/main/big.txt");
  ASSERT_EQ(big.status, 200);
  EXPECT_THAT(big.body, HasSubstr("only its first 1 KiB are shown"));
  EXPECT_THAT(big.body, Not(HasSubstr("TAIL-MARKER")));
  EXPECT_THAT(get("/app/raw/main/big.txt").body, HasSubstr("TAIL-MARKER"));  // whole through raw
  Fetched bin = get("/app/blob/main/bin.dat");
  EXPECT_THAT(bin.body, HasSubstr("A binary file"));
}

TEST_F(SiloWebTest, TheRepositoryPageRendersItsReadmeAndLinksEveryFile) {
  Fetched index = get("/");
  ASSERT_EQ(index.status, 200);
  EXPECT_THAT(index.body, HasSubstr("href=\"/app\""));
  EXPECT_THAT(index.body, HasSubstr("second &amp; last"));

  Fetched page = get("/app");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_THAT(page.body, HasSubstr("<h1>Hello Silo</h1>"));
  EXPECT_THAT(page.body, HasSubstr("<em>text</em>"));
  EXPECT_THAT(page.body, Not(HasSubstr("<script")));
  EXPECT_THAT(page.body, HasSubstr("git clone " + base_ + "/app.git"));
  // An odd file name is escaped as text and encoded in its link, and the link works.
  EXPECT_THAT(page.body, HasSubstr("href=\"/app/blob/main/we%3Cird%3E%20name.txt\">we&lt;ird&gt; name.txt</a>"));
  EXPECT_THAT(get("/app/blob/main/we%3Cird%3E%20name.txt").body, HasSubstr("odd name"));
  EXPECT_THAT(get("/app/tree/main/src").body, HasSubstr("href=\"/app/blob/main/src/main.cpp\""));

  Fetched moved = get("/app.git");  // the clone URL in a browser
  EXPECT_EQ(moved.status, 301);
  EXPECT_THAT(moved.headers, HasSubstr("Location: /app\r\n"));
  EXPECT_EQ(get("/nope.git").status, 404);

  Fetched commits = get("/app/commits/main");
  EXPECT_THAT(commits.body, HasSubstr("second &amp; last"));
  EXPECT_THAT(commits.body, HasSubstr("first &lt;commit&gt;"));
  EXPECT_THAT(commits.body, HasSubstr("Ada &amp; Tester"));
}

// A real browser (Debian's chromium, headless): the file page renders its highlighted code and
// README page its markdown, and neither writes to the console (a CSP violation, a missing
// style sheet would). The screenshot is kept beside the test results.
TEST_F(SiloWebTest, PagesRenderInChromiumWithoutConsoleMessages) {
  const std::vector<std::string> chromium = {"chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                             "--enable-logging=stderr", "--v=0", "--window-size=1200,900"};
  for (const char* path : {"/app/blob/main/src/main.cpp", "/app"}) {
    std::vector<std::string> dump = chromium;
    dump.insert(dump.end(), {"--dump-dom", base_ + path});
    RunResult dom = must_run(dump);
    ASSERT_TRUE(dom.status.success()) << dom.err;
    EXPECT_THAT(dom.out, HasSubstr(std::string(path) == "/app" ? "<h1>Hello Silo</h1>" : "<span class=\"keyword\">return</span>"));
    std::string console;
    std::istringstream lines(dom.err);
    for (std::string line; std::getline(lines, line);) {
      if (line.find(":CONSOLE") != std::string::npos) console += line + "\n";
    }
    EXPECT_EQ(console, "") << path << " wrote to the browser console";
  }
  std::vector<std::string> shot = chromium;
  const std::string png = seed::testing::artifact_dir(tmp_.path()) + "/silo-web-file-page.png";
  shot.insert(shot.end(), {"--screenshot=" + png, base_ + "/app/blob/main/src/main.cpp"});
  must_run(shot);
  ASSERT_TRUE(std::filesystem::exists(png));
  EXPECT_GT(std::filesystem::file_size(png), 5000u);
}

TEST_F(SiloWebTest, AnEmptyRepositorySaysHowToFillIt) {
  must_run({"git", "init", "-q", "--bare", root_ + "/empty.git"});
  Fetched f = get("/empty");
  EXPECT_EQ(f.status, 200);
  EXPECT_THAT(f.body, HasSubstr("git push &lt;node&gt;:empty.git"));
  EXPECT_EQ(get("/empty/tree/main").status, 404);
  EXPECT_EQ(get("/empty/archive/main.tar.gz").status, 404);
}

}  // namespace
}  // namespace seed::api::silo_web
