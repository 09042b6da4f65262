// smtpkit-pipeline-load: the pipelining load client of the server benchmark (bench/sink_bench.sh).
// Postfix's smtp-source cannot pipeline, so this one does: N sessions over kept connections to a
// server on loopback, each sending its transactions in RFC 2920 groups, and it prints how many
// messages per second the server took. RFC 5321 3.3 and 4.1.1 (the transaction), RFC 2920 3.1
// (what a group may hold), RFC 5321 4.5.2 (the content needs no dot-stuffing: no line starts
// with ".").
//
//   smtpkit-pipeline-load --connect ADDR:PORT [--sessions N] [--messages N] [--size BYTES]
//                         [--timeout SECONDS]
//
// Rules:
//  1. Loopback only: ADDR must be in 127.0.0.0/8 or be ::1; anything else is a usage error
//     (status 64), like every other bad argument.
//  2. Bounded in count and time: at most 10000 sessions, 100000000 messages of at most 1 MiB,
//     and --timeout seconds of wall time (default 60, at most 3600): past it the program stops
//     with status 1. Each session holds one fixed read buffer; nothing grows with the load.
//  3. A group is what RFC 2920 allows: the content of the last message and its final dot first,
//     then MAIL, RCPT and DATA (DATA last, since its 354 changes the state). So each message
//     costs one round trip and one write: "content . MAIL RCPT DATA" out, "250 250 250 354" back.
//     The last group ends with QUIT instead of MAIL RCPT DATA.
//  4. Every reply is checked against the one expected: any other ends that session, and the
//     program's status is 1. A message counts when the 250 to its final dot arrives. Sessions
//     take messages from one shared count, so the total is exact.
//  5. One thread, epoll, non-blocking sockets, TCP_NODELAY (each write is a whole group).
// Output, one line: sessions=N messages=N delivered=N seconds=S msgs_per_s=R errors=N
// SPDX-License-Identifier: MIT

#include <arpa/inet.h>    // inet_pton, htons, htonl
#include <netinet/in.h>   // sockaddr_in, sockaddr_in6, IPPROTO_TCP
#include <netinet/tcp.h>  // TCP_NODELAY
#include <sys/epoll.h>    // epoll_create1, epoll_ctl, epoll_wait
#include <sys/socket.h>   // socket, connect, send, recv, getsockopt
#include <unistd.h>       // close

#include <array>             // array
#include <cerrno>            // errno, EINPROGRESS, EAGAIN, EINTR
#include <chrono>            // steady_clock
#include <cstddef>           // size_t
#include <cstdint>           // uint64_t, uint32_t
#include <cstdio>            // printf, fprintf
#include <cstring>           // memcpy, memcmp, memmove, memchr, strerror
#include <initializer_list>  // initializer_list
#include <memory>            // unique_ptr
#include <string>            // string
#include <string_view>       // string_view
#include <vector>            // vector

namespace {

constexpr int exit_usage = 64;  // sysexits.h EX_USAGE

constexpr const char* usage_text =
    "usage: smtpkit-pipeline-load --connect ADDR:PORT [--sessions N] [--messages N]\n"
    "                             [--size BYTES] [--timeout SECONDS]\n"
    "  --connect ADDR:PORT  the server, on loopback only (127.0.0.0/8 or [::1])\n"
    "  --sessions N         connections, each pipelining its transactions (default 20)\n"
    "  --messages N         messages in all, shared by the sessions (default 20000)\n"
    "  --size BYTES         body bytes per message, after a few header lines (default 1024)\n"
    "  --timeout SECONDS    bound on the whole run (default 60)\n";

struct options {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::uint64_t sessions = 20;
  std::uint64_t messages = 20000;
  std::uint64_t size = 1024;
  std::uint64_t timeout_s = 60;
};

bool parse_uint(std::string_view s, std::uint64_t lo, std::uint64_t hi, std::uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (hi - d) / 10) return false;
    v = v * 10 + d;
  }
  if (v < lo) return false;
  out = v;
  return true;
}

/// Parses "127.x.y.z:PORT" or "[::1]:PORT"; refuses any address off loopback.
bool parse_loopback(std::string_view s, options& o) {
  std::string addr;
  std::string_view port;
  const bool v6 = !s.empty() && s.front() == '[';
  if (v6) {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return false;
    addr = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return false;
    addr = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
  }
  std::uint64_t p = 0;
  if (!parse_uint(port, 1, 65535, p)) return false;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<std::uint16_t>(p));
    if (inet_pton(AF_INET6, addr.c_str(), &a.sin6_addr) != 1) return false;
    static const in6_addr loopback = IN6ADDR_LOOPBACK_INIT;
    if (std::memcmp(&a.sin6_addr, &loopback, sizeof loopback) != 0) return false;
    std::memcpy(&o.addr, &a, sizeof a);
    o.addr_len = sizeof a;
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(p));
    if (inet_pton(AF_INET, addr.c_str(), &a.sin_addr) != 1) return false;
    if ((ntohl(a.sin_addr.s_addr) >> 24) != 127) return false;
    std::memcpy(&o.addr, &a, sizeof a);
    o.addr_len = sizeof a;
  }
  return true;
}

/// Parses argv into @p o. Returns 0 to go on, -1 after --help, or exit_usage (with a message).
int parse_command_line(int argc, char** argv, options& o) {
  bool have_connect = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage_text, stdout);
      return -1;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "smtpkit-pipeline-load: unknown option or missing value: '%s'\n%s",
                   argv[i], usage_text);
      return exit_usage;
    }
    const std::string_view v = argv[++i];
    bool ok = true;
    if (a == "--connect") {
      ok = have_connect = parse_loopback(v, o);
    } else if (a == "--sessions") {
      ok = parse_uint(v, 1, 10000, o.sessions);
    } else if (a == "--messages") {
      ok = parse_uint(v, 1, 100000000, o.messages);
    } else if (a == "--size") {
      ok = parse_uint(v, 0, 1u << 20, o.size);
    } else if (a == "--timeout") {
      ok = parse_uint(v, 1, 3600, o.timeout_s);
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "smtpkit-pipeline-load: bad option or value: %s %s\n%s", argv[i - 1],
                   argv[i], usage_text);
      return exit_usage;
    }
  }
  if (!have_connect) {
    std::fprintf(stderr, "smtpkit-pipeline-load: --connect ADDR:PORT is required\n%s", usage_text);
    return exit_usage;
  }
  return 0;
}

/// The reply a session waits for next, in the order the commands went out.
enum class awaiting : unsigned char { greeting, ehlo, mail, rcpt, data, dot, quit };

constexpr int expected_code(awaiting a) noexcept {
  switch (a) {
    case awaiting::greeting:
      return 220;
    case awaiting::data:
      return 354;
    case awaiting::quit:
      return 221;
    default:
      return 250;
  }
}

constexpr const char* awaiting_name(awaiting a) noexcept {
  switch (a) {
    case awaiting::greeting:
      return "the greeting";
    case awaiting::ehlo:
      return "EHLO";
    case awaiting::mail:
      return "MAIL";
    case awaiting::rcpt:
      return "RCPT";
    case awaiting::data:
      return "DATA";
    case awaiting::dot:
      return "the end of data";
    default:
      return "QUIT";
  }
}

/// The fixed byte strings every session sends (rule 3).
struct scripts {
  std::string ehlo = "EHLO load.bench.example\r\n";
  std::string first;  // MAIL RCPT DATA
  std::string next;   // content . MAIL RCPT DATA
  std::string last;   // content . QUIT
  std::string quit = "QUIT\r\n";

  explicit scripts(std::uint64_t size) {
    const std::string envelope =
        "MAIL FROM:<load@bench.example>\r\nRCPT TO:<sink@bench.example>\r\nDATA\r\n";
    std::string content =
        "From: <load@bench.example>\r\nTo: <sink@bench.example>\r\n"
        "Subject: pipelined load\r\nMessage-Id: <pipeline-load@bench.example>\r\n\r\n";
    // Body lines of 78 octets + CRLF, each starting with a digit (never a dot), like smtp-source.
    std::uint64_t left = size;
    for (unsigned line = 1; left != 0; ++line) {
      std::string l = std::to_string(line % 10);
      while (l.size() < 78 && l.size() + 2 < left) l += 'X';
      if (left <= l.size() + 2) {
        l.resize(left >= 2 ? static_cast<std::size_t>(left - 2) : 0);
        left = 0;
      } else {
        left -= l.size() + 2;
      }
      content += l;
      content += "\r\n";
    }
    content += ".\r\n";
    first = envelope;
    next = content + envelope;
    last = content + "QUIT\r\n";
  }
};

struct session {
  int fd = -1;
  bool connected = false;
  bool done = false;
  bool pipelining = false;  // seen in the EHLO reply
  std::array<awaiting, 8> queue{};
  std::size_t head = 0, count = 0;  // replies awaited, in order
  std::string_view out;             // what is left to send of the current group
  std::array<char, 4096> in{};      // replies received and not yet read (rule 2)
  std::size_t in_len = 0;
};

class load {
 public:
  explicit load(const options& o) : opt_(o), text_(o.size), sessions_(o.sessions) {}

  ~load() {
    for (session& s : sessions_)
      if (s.fd >= 0) ::close(s.fd);
    if (ep_ >= 0) ::close(ep_);
  }

  /// Runs the load; returns the exit status.
  int run() {
    left_ = opt_.messages;
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) return fatal("epoll_create1");
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::seconds(opt_.timeout_s);
    for (std::size_t i = 0; i < sessions_.size(); ++i)
      if (!open(static_cast<std::uint32_t>(i))) return fatal("connect");
    std::vector<epoll_event> events(sessions_.size() < 256 ? sessions_.size() : 256);
    bool timed_out = false;
    while (open_ != 0) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        timed_out = true;
        break;
      }
      const auto wait =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
      const int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()),
                                 wait > 1000 ? 1000 : static_cast<int>(wait));
      if (n < 0) {
        if (errno == EINTR) continue;
        return fatal("epoll_wait");
      }
      for (int k = 0; k < n; ++k) {
        const epoll_event& e = events[static_cast<std::size_t>(k)];
        session& s = sessions_[e.data.u32];
        if (s.done) continue;
        on_event(s, e.events);
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (timed_out) {
      std::fprintf(stderr, "smtpkit-pipeline-load: timed out after %llu s\n",
                   static_cast<unsigned long long>(opt_.timeout_s));
      ++errors_;
    }
    std::printf(
        "sessions=%llu messages=%llu delivered=%llu seconds=%.3f msgs_per_s=%.0f errors=%llu\n",
        static_cast<unsigned long long>(opt_.sessions),
        static_cast<unsigned long long>(opt_.messages), static_cast<unsigned long long>(delivered_),
        seconds, seconds > 0 ? static_cast<double>(delivered_) / seconds : 0.0,
        static_cast<unsigned long long>(errors_));
    return errors_ == 0 && delivered_ == opt_.messages ? 0 : 1;
  }

 private:
  int fatal(const char* what) {
    std::fprintf(stderr, "smtpkit-pipeline-load: %s: %s\n", what, std::strerror(errno));
    return 1;
  }

  bool open(std::uint32_t index) {
    session& s = sessions_[index];
    s.fd = ::socket(opt_.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (s.fd < 0) return false;
    const int one = 1;
    ::setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&opt_.addr), opt_.addr_len) != 0 &&
        errno != EINPROGRESS)
      return false;
    epoll_event e{};
    e.events = EPOLLIN | EPOLLOUT;
    e.data.u32 = index;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, s.fd, &e) != 0) return false;
    s.queue[0] = awaiting::greeting;
    s.head = 0;
    s.count = 1;
    ++open_;
    return true;
  }

  void close_session(session& s) {
    ::epoll_ctl(ep_, EPOLL_CTL_DEL, s.fd, nullptr);
    ::close(s.fd);
    s.fd = -1;
    s.done = true;
    --open_;
  }

  void fail(session& s, const std::string& why) {
    if (++errors_ <= 5)
      std::fprintf(stderr, "smtpkit-pipeline-load: session %zu: %s\n",
                   static_cast<std::size_t>(&s - sessions_.data()) + 1, why.c_str());
    close_session(s);
  }

  void watch_output(session& s, bool on) {
    epoll_event e{};
    e.events = on ? EPOLLIN | EPOLLOUT : EPOLLIN;
    e.data.u32 = static_cast<std::uint32_t>(&s - sessions_.data());
    ::epoll_ctl(ep_, EPOLL_CTL_MOD, s.fd, &e);
  }

  void on_event(session& s, std::uint32_t events) {
    if (!s.connected) {
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return fail(s, std::string("connect: ") + std::strerror(err));
      s.connected = true;
      watch_output(s, false);
      return;  // the greeting comes next
    }
    if (events & EPOLLOUT) {
      if (!write_some(s)) return;
      if (s.out.empty()) watch_output(s, false);
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) read_replies(s);
  }

  /// Sends what it can of s.out; false when the session failed.
  bool write_some(session& s) {
    while (!s.out.empty()) {
      const ssize_t w = ::send(s.fd, s.out.data(), s.out.size(), MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
        fail(s, std::string("send: ") + std::strerror(errno));
        return false;
      }
      s.out.remove_prefix(static_cast<std::size_t>(w));
    }
    return true;
  }

  /// Starts sending @p group, then awaits the replies listed in @p replies.
  bool send_group(session& s, std::string_view group, std::initializer_list<awaiting> replies) {
    if (!s.out.empty()) {  // the server answered a command it cannot have read yet
      fail(s, "a reply came before its command was sent");
      return false;
    }
    for (awaiting a : replies) {
      if (s.count == s.queue.size()) {
        fail(s, "too many replies awaited");
        return false;
      }
      s.queue[(s.head + s.count++) % s.queue.size()] = a;
    }
    s.out = group;
    if (!write_some(s)) return false;
    if (!s.out.empty()) watch_output(s, true);
    return true;
  }

  /// Takes one message from the shared count; false when none is left.
  bool take() {
    if (left_ == 0) return false;
    --left_;
    return true;
  }

  void read_replies(session& s) {
    for (;;) {
      const ssize_t r = ::recv(s.fd, s.in.data() + s.in_len, s.in.size() - s.in_len, 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        return fail(s, std::string("recv: ") + std::strerror(errno));
      }
      if (r == 0) return fail(s, "the server closed the connection");
      s.in_len += static_cast<std::size_t>(r);
      std::size_t pos = 0;
      for (;;) {
        const char* nl =
            static_cast<const char*>(std::memchr(s.in.data() + pos, '\n', s.in_len - pos));
        if (!nl) break;
        const std::size_t end = static_cast<std::size_t>(nl - s.in.data());
        if (end == pos || s.in[end - 1] != '\r') return fail(s, "a reply line without CRLF");
        if (!on_line(s, std::string_view(s.in.data() + pos, end - 1 - pos))) return;
        pos = end + 1;
        if (s.done) return;
      }
      if (pos == 0 && s.in_len == s.in.size()) return fail(s, "a reply line too long");
      std::memmove(s.in.data(), s.in.data() + pos, s.in_len - pos);
      s.in_len -= pos;
    }
  }

  /// Handles one reply line; false when the session ended.
  bool on_line(session& s, std::string_view line) {
    if (line.size() < 3 || (line.size() > 3 && line[3] != ' ' && line[3] != '-'))
      return fail(s, "a malformed reply: " + std::string(line)), false;
    int code = 0;
    for (std::size_t i = 0; i < 3; ++i) {
      if (line[i] < '0' || line[i] > '9')
        return fail(s, "a malformed reply: " + std::string(line)), false;
      code = code * 10 + (line[i] - '0');
    }
    if (s.count == 0) return fail(s, "an unexpected reply: " + std::string(line)), false;
    const awaiting a = s.queue[s.head];
    if (code != expected_code(a))
      return fail(s, "to " + std::string(awaiting_name(a)) + ": " + std::string(line)), false;
    const bool more = line.size() > 3 && line[3] == '-';
    if (a == awaiting::ehlo && line.size() >= 14) {
      std::string_view kw = line.substr(4, 10);
      bool match = true;
      for (std::size_t i = 0; i < kw.size(); ++i)
        if ((kw[i] & ~0x20) != "PIPELINING"[i]) match = false;
      if (match && (line.size() == 14 || line[14] == ' ')) s.pipelining = true;
    }
    if (more) return true;  // a multiline reply goes on
    s.head = (s.head + 1) % s.queue.size();
    --s.count;
    switch (a) {
      case awaiting::greeting:
        return send_group(s, text_.ehlo, {awaiting::ehlo});
      case awaiting::ehlo:
        if (!s.pipelining) return fail(s, "the server offers no PIPELINING"), false;
        if (take())
          return send_group(s, text_.first, {awaiting::mail, awaiting::rcpt, awaiting::data});
        return send_group(s, text_.quit, {awaiting::quit});
      case awaiting::data:
        if (take())
          return send_group(s, text_.next,
                            {awaiting::dot, awaiting::mail, awaiting::rcpt, awaiting::data});
        return send_group(s, text_.last, {awaiting::dot, awaiting::quit});
      case awaiting::dot:
        ++delivered_;
        return true;
      case awaiting::quit:
        close_session(s);
        return false;
      default:
        return true;
    }
  }

  options opt_;
  scripts text_;
  std::vector<session> sessions_;
  int ep_ = -1;
  std::size_t open_ = 0;
  std::uint64_t left_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t errors_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  options o;
  const int r = parse_command_line(argc, argv, o);
  if (r != 0) return r < 0 ? 0 : r;
  auto l = std::make_unique<load>(o);
  return l->run();
}
