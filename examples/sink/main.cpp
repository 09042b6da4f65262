// smtpkit-sink: an SMTP (or LMTP) server that accepts mail and stores it in a Maildir, prints it,
// or counts and discards it; for tests, benchmarks and development, like Postfix's smtp-sink and
// aiosmtpd's debugging server. Built on smtpkit's server session and its Asio driver.
// RFC 5321 (SMTP, 4.4 trace headers), RFC 3848 (the "with" protocol types), RFC 2033 (LMTP),
// RFC 4616 and draft-murchison-sasl-login (AUTH PLAIN and LOGIN), RFC 3030, RFC 6531, RFC 3461.
//
// Rules:
//  1. A message acknowledged is never lost: with --maildir, the file is written to DIR/tmp,
//     fsynced, renamed into DIR/new and the directory fsynced, all before the final 250.
//  2. The command line, the "listening on ADDR:PORT" lines and the exit codes are interfaces:
//     0 after --help, --version or a graceful stop; 64 for bad command-line input; 1 when the
//     sink cannot start (a port in use, a Maildir it cannot create, an unreadable auth file).
//  3. Nothing secret is ever printed: passwords are compared in constant time and never logged.
//  4. The fast path allocates nothing per message: buffers belong to the connection and are
//     reused; storage (fsync) runs on a pool of threads so that the network threads go on.
// SPDX-License-Identifier: MIT

#include <fcntl.h>     // open, O_*
#include <sys/stat.h>  // mkdir
#include <unistd.h>    // write, fsync, close, getpid, gethostname, unlink

#include <algorithm>   // max
#include <atomic>      // atomic
#include <cerrno>      // errno
#include <chrono>      // milliseconds
#include <csignal>     // signal, SIGPIPE, SIGINT, SIGTERM
#include <cstdint>     // uint64_t
#include <cstdio>      // fwrite, fflush, snprintf, fprintf
#include <cstdlib>     // strtoull
#include <cstring>     // strerror
#include <ctime>       // time, gmtime_r, strftime
#include <exception>   // exception
#include <fstream>     // ifstream
#include <functional>  // function
#include <memory>      // make_unique, shared_ptr
#include <mutex>       // mutex
#include <smtpkit/asio/server.hpp>
#include <smtpkit/version.hpp>
#include <string>         // string
#include <string_view>    // string_view
#include <thread>         // thread
#include <unordered_map>  // unordered_map
#include <vector>         // vector

namespace {

namespace sa = smtpkit::asio;
namespace ev = smtpkit::server_events;
using tcp = ::asio::ip::tcp;

constexpr int exit_usage = 64;  // sysexits.h EX_USAGE
constexpr int exit_failure = 1;

constexpr const char* usage_text =
    "usage: smtpkit-sink [--listen ADDR:PORT]... [--hostname NAME] [--maildir DIR]\n"
    "                    [--max-size BYTES] [--max-recipients N] [--max-connections N]\n"
    "                    [--auth-file FILE] [--lmtp] [--bare-lf reject|normalize]\n"
    "                    [--idle-timeout SECONDS] [--threads N] [--print] [--quiet]\n"
    "                    [--help] [--version]\n";

constexpr const char* help_text =
    "\n"
    "Accepts mail over SMTP (or LMTP) and stores it in a Maildir, prints it, or counts and\n"
    "discards it.\n"
    "\n"
    "  --listen ADDR:PORT     listen there (repeatable; IPv6 as [ADDR]:PORT; port 0 picks a\n"
    "                         free port); default 127.0.0.1:2525\n"
    "  --hostname NAME        name in the greeting and the Received header (default: the\n"
    "                         machine's host name)\n"
    "  --maildir DIR          store each accepted message in DIR/new (DIR/tmp, new and cur are\n"
    "                         created); the file is fsynced before the final 250\n"
    "  --max-size BYTES       largest message accepted, advertised with SIZE; 0 for no limit\n"
    "                         (default 10485760)\n"
    "  --max-recipients N     recipients per message (default 100)\n"
    "  --max-connections N    connections at once; one more gets 421 (default 1000)\n"
    "  --auth-file FILE       lines user:password; offers AUTH PLAIN LOGIN and requires AUTH\n"
    "                         before MAIL\n"
    "  --lmtp                 speak LMTP (LHLO, one reply per recipient)\n"
    "  --bare-lf MODE         reject (default) or normalize a bare LF in commands and data\n"
    "  --idle-timeout SECONDS bound on every wait for the client (default 300)\n"
    "  --threads N            network threads (default 1)\n"
    "  --print                write each accepted message to stdout\n"
    "  --quiet                log nothing to stderr after the listening lines, but fatal errors\n"
    "  --help, --version      print this help or the version and exit\n";

// --- command line --------------------------------------------------------------------------------

struct options {
  std::vector<tcp::endpoint> listen;
  std::string hostname;
  std::string maildir;
  std::uint64_t max_size = 10u * 1024u * 1024u;
  std::size_t max_recipients = 100;
  std::size_t max_connections = 1000;
  std::string auth_file;
  bool lmtp = false;
  bool normalize_bare_lf = false;
  std::uint32_t idle_timeout_s = 300;
  unsigned threads = 1;
  bool print = false;
  bool quiet = false;
};

struct usage_error {
  std::string what;
};

bool parse_uint(std::string_view s, std::uint64_t max, std::uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

/// Parses "ADDR:PORT" or "[ADDR]:PORT" with a numeric address.
bool parse_endpoint(std::string_view s, tcp::endpoint& out) {
  std::string_view addr, port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return false;
    addr = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return false;
    addr = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (addr.find(':') != std::string_view::npos) return false;  // IPv6 needs brackets
  }
  std::uint64_t p = 0;
  if (!parse_uint(port, 65535, p)) return false;
  std::error_code ec;
  const auto a = ::asio::ip::make_address(std::string(addr), ec);
  if (ec) return false;
  out = tcp::endpoint(a, static_cast<unsigned short>(p));
  return true;
}

/// Returns true for a name safe in replies and headers: LDH labels separated by dots.
bool valid_hostname(std::string_view h) {
  if (h.empty() || h.size() > 200 || h.front() == '.' || h.back() == '.') return false;
  for (char c : h)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '.'))
      return false;
  return h.find("..") == std::string_view::npos;
}

std::string endpoint_text(const tcp::endpoint& ep) {
  const std::string a = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(ep.port());
}

/// Parses argv. Returns 0 to go on, or an exit code (after --help / --version).
int parse_command_line(int argc, char** argv, options& o) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    std::string_view value;
    bool has_value = false;
    if (a.size() > 2 && a.substr(0, 2) == "--") {
      const auto eq = a.find('=');
      if (eq != std::string_view::npos) {
        value = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_value = true;
      }
    }
    auto flag = [&](std::string_view name) {
      if (a != name) return false;
      if (has_value) throw usage_error{std::string(name) + " takes no value"};
      return true;
    };
    auto takes = [&](std::string_view name) {
      if (a != name) return false;
      if (!has_value) {
        if (i + 1 >= args.size()) throw usage_error{std::string(name) + " needs a value"};
        value = args[++i];
      }
      return true;
    };
    auto number = [&](std::string_view name, std::uint64_t lo, std::uint64_t hi) {
      std::uint64_t v = 0;
      if (!parse_uint(value, hi, v) || v < lo)
        throw usage_error{"bad value for " + std::string(name) + ": '" + std::string(value) +
                          "' (expected " + std::to_string(lo) + ".." + std::to_string(hi) + ")"};
      return v;
    };
    if (flag("--help") || flag("-h")) {
      std::fputs(usage_text, stdout);
      std::fputs(help_text, stdout);
      return -1;
    } else if (flag("--version")) {
      std::printf("smtpkit-sink %s\n", SMTPKIT_VERSION_STRING);
      return -1;
    } else if (takes("--listen")) {
      tcp::endpoint ep;
      if (!parse_endpoint(value, ep))
        throw usage_error{"bad --listen address '" + std::string(value) +
                          "' (expected ADDR:PORT or [IPv6]:PORT)"};
      o.listen.push_back(ep);
    } else if (takes("--hostname")) {
      if (!valid_hostname(value)) throw usage_error{"bad --hostname '" + std::string(value) + "'"};
      o.hostname = std::string(value);
    } else if (takes("--maildir")) {
      if (value.empty()) throw usage_error{"--maildir needs a directory"};
      o.maildir = std::string(value);
    } else if (takes("--max-size")) {
      o.max_size = number("--max-size", 0, 1ull << 50);
    } else if (takes("--max-recipients")) {
      o.max_recipients = static_cast<std::size_t>(number("--max-recipients", 1, 100000));
    } else if (takes("--max-connections")) {
      o.max_connections = static_cast<std::size_t>(number("--max-connections", 1, 1000000));
    } else if (takes("--auth-file")) {
      if (value.empty()) throw usage_error{"--auth-file needs a file"};
      o.auth_file = std::string(value);
    } else if (flag("--lmtp")) {
      o.lmtp = true;
    } else if (takes("--bare-lf")) {
      if (value == "reject")
        o.normalize_bare_lf = false;
      else if (value == "normalize")
        o.normalize_bare_lf = true;
      else
        throw usage_error{"bad --bare-lf '" + std::string(value) + "' (reject or normalize)"};
    } else if (takes("--idle-timeout")) {
      o.idle_timeout_s = static_cast<std::uint32_t>(number("--idle-timeout", 1, 4000000));
    } else if (takes("--threads")) {
      o.threads = static_cast<unsigned>(number("--threads", 1, 256));
    } else if (flag("--print")) {
      o.print = true;
    } else if (flag("--quiet") || flag("-q")) {
      o.quiet = true;
    } else {
      throw usage_error{"unknown option '" + std::string(args[i]) + "'"};
    }
  }
  if (o.listen.empty()) o.listen.emplace_back(::asio::ip::make_address("127.0.0.1"), 2525);
  return 0;
}

// --- shared state --------------------------------------------------------------------------------

/// One line to stderr, written at once (stderr is unbuffered, so one write per line).
void log_line(const std::string& s) {
  const std::string line = "smtpkit-sink: " + s + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

/// Returns true when @p a equals @p b, in a time that depends on their lengths only.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

struct sink_state {
  options opt;
  std::string maildir_tmp, maildir_new;
  int new_dir_fd = -1;
  std::string unique_host;  // the host name as it goes in Maildir file names
  std::unordered_map<std::string, std::string> users;
  std::atomic<std::uint64_t> sequence{0};
  std::atomic<std::uint64_t> messages{0};
  std::mutex print_mu;
  std::unique_ptr<::asio::thread_pool> store_pool;
  long pid = 0;
};

bool make_dir(const std::string& d) {
  if (::mkdir(d.c_str(), 0700) == 0 || errno == EEXIST) return true;
  return false;
}

/// Creates DIR, DIR/tmp, DIR/new and DIR/cur (and DIR's parents) when missing.
bool prepare_maildir(sink_state& st, std::string& why) {
  std::string dir = st.opt.maildir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  for (std::size_t p = dir.find('/', 1); p != std::string::npos; p = dir.find('/', p + 1))
    make_dir(dir.substr(0, p));
  for (const std::string& d : {dir, dir + "/tmp", dir + "/new", dir + "/cur"}) {
    if (!make_dir(d)) {
      why = "cannot create " + d + ": " + std::strerror(errno);
      return false;
    }
  }
  st.maildir_tmp = dir + "/tmp/";
  st.maildir_new = dir + "/new/";
  st.new_dir_fd = ::open((dir + "/new").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (st.new_dir_fd < 0) {
    why = "cannot open " + dir + "/new: " + std::strerror(errno);
    return false;
  }
  return true;
}

/// Reads "user:password" lines; blank lines and lines starting with '#' are skipped.
bool load_users(sink_state& st, std::string& why, bool& usage) {
  std::ifstream in(st.opt.auth_file, std::ios::binary);
  if (!in) {
    why = "cannot read " + st.opt.auth_file + ": " + std::strerror(errno);
    return false;
  }
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const auto colon = line.find(':');
    if (colon == 0 || colon == std::string::npos) {
      why = st.opt.auth_file + ":" + std::to_string(n) + ": expected user:password";
      usage = true;
      return false;
    }
    st.users[line.substr(0, colon)] = line.substr(colon + 1);
  }
  if (st.users.empty()) {
    why = st.opt.auth_file + ": no user:password line";
    usage = true;
    return false;
  }
  return true;
}

/// Writes all of @p data to @p fd. Returns false on error (errno set).
bool write_all(int fd, const char* data, std::size_t n) {
  while (n != 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

/// Writes @p v in upper-case hexadecimal (at most 16 digits) at @p out; returns the end.
char* put_hex(char* out, std::uint64_t v) noexcept {
  char digits[16];
  int n = 0;
  do {
    digits[n++] = "0123456789ABCDEF"[v & 15];
    v >>= 4;
  } while (v != 0);
  while (n != 0) *out++ = digits[--n];
  return out;
}

/// Sets @p out to "local@domain" (empty for the null path), reusing its storage (rule 4).
void assign_mailbox(std::string& out, const smtpkit::mailbox& m) {
  out.clear();
  if (m.empty()) return;
  out += m.local_part();
  if (!m.domain().empty()) {
    out += '@';
    out += m.domain();
  }
}

// --- one connection ------------------------------------------------------------------------------

class sink_handler final : public sa::connection_handler {
 public:
  sink_handler(sink_state& st, const sa::connection_info& info) : st_(st), info_(info) {
    if (!st_.opt.quiet)
      log_line("#" + std::to_string(info.id) + " connect from " + endpoint_text(info.remote));
  }

  void on_helo(sa::connection&, const ev::helo_received& e, sa::decision d) override {
    helo_.assign(e.domain.text());
    d.accept();
  }

  void on_mail(sa::connection&, const ev::mail_received& e, sa::decision d) override {
    drop_message();
    assign_mailbox(from_, e.from.address());
    recipients_ = 0;
    d.accept();
  }

  void on_rcpt(sa::connection&, const ev::rcpt_received& e, sa::decision d) override {
    if (recipients_++ == 0) assign_mailbox(rcpt_, e.to.address());
    d.accept();
  }

  void on_data_start(sa::connection& c, sa::decision d) override {
    if (!begin_message(c)) {
      drop_message();
      d.reject({451, smtpkit::enhanced_status{4, 3, 0}, "Error: cannot store the message", {}});
      return;
    }
    d.accept();
  }

  void on_data(sa::connection& c, std::string_view bytes) override {
    if (!in_message_) begin_message(c);  // BDAT: no data_started before the first chunk
    size_ += bytes.size();
    if (failed_ || (fd_ < 0 && !st_.opt.print)) return;
    buf_.append(bytes);
    if (fd_ >= 0 && !st_.opt.print && buf_.size() >= 65536) flush_buffer();
  }

  void on_message(sa::connection& c, const ev::message_complete& e, sa::decision d) override {
    if (!in_message_) begin_message(c);  // BDAT 0 LAST with no chunk before
    if (fd_ >= 0 && !failed_) {
      if (!write_all(fd_, buf_.data(), buf_.size())) {
        if (!st_.opt.quiet) log_line(std::string("write error: ") + std::strerror(errno));
        failed_ = true;
      }
      if (!st_.opt.print) buf_.clear();
    }
    in_message_ = false;
    // "Ok: queued as PID.SEQ", the id in hex, formatted by hand: the two snprintf() calls this
    // replaces took about 1000 instructions per message.
    char ok_text[64] = "Ok: queued as ";
    char* const idtext = ok_text + 14;
    char* end = put_hex(idtext, static_cast<std::uint64_t>(st_.pid));
    *end++ = '.';
    *put_hex(end, id_) = '\0';
    if (failed_) {
      if (fd_ >= 0) discard_file();
      log_message("not stored (write error)", idtext, e.recipients);
      while (d) d.reject({451, smtpkit::enhanced_status{4, 3, 0}, "Error: cannot store", {}});
      failed_ = false;
      return;
    }
    if (fd_ < 0) {                            // counted and discarded (or printed)
      finish_accepted(idtext, e.recipients);  // counts it
      while (d) d.accept({250, smtpkit::enhanced_status{2, 0, 0}, ok_text, {}});
      return;
    }
    // Maildir: fsync, rename, fsync the directory on the storage pool, then answer 250.
    struct job {
      sink_state* st;
      int fd;
      std::string name;
      std::string printed;
      std::string id;
      std::size_t recipients;
      bool quiet;
      std::string log;
      sa::decision d;
    };
    auto j = std::make_shared<job>(job{
        &st_, fd_, std::move(name_), {}, idtext, e.recipients, st_.opt.quiet, {}, std::move(d)});
    ++accepted_;  // handed to storage; the 250 waits for the fsync
    if (st_.opt.print) j->printed.swap(buf_);
    if (!st_.opt.quiet) j->log = message_log("stored as new/" + j->name, idtext, e.recipients);
    fd_ = -1;
    name_.clear();
    ::asio::post(*st_.store_pool, [j] {
      sink_state& s = *j->st;
      const std::string tmp = s.maildir_tmp + j->name;
      bool ok = ::fsync(j->fd) == 0;
      ok = ::close(j->fd) == 0 && ok;
      ok = ok && ::rename(tmp.c_str(), (s.maildir_new + j->name).c_str()) == 0;
      ok = ok && ::fsync(s.new_dir_fd) == 0;
      if (!ok) {
        const int err = errno;
        ::unlink(tmp.c_str());
        if (!j->quiet) log_line("message " + j->id + " not stored: " + std::strerror(err));
        while (j->d)
          j->d.reject({451, smtpkit::enhanced_status{4, 3, 0}, "Error: cannot store", {}});
        return;
      }
      s.messages.fetch_add(1);
      if (!j->printed.empty()) print_message(s, j->printed);
      if (!j->quiet) log_line(j->log);
      const std::string text = "Ok: queued as " + j->id;
      while (j->d) j->d.accept({250, smtpkit::enhanced_status{2, 0, 0}, text, {}});
    });
  }

  void on_message_refused(sa::connection&, smtpkit::errc reason) override {
    if (!st_.opt.quiet)
      log_line("#" + std::to_string(info_.id) + " message refused: " + smtpkit::to_string(reason));
    drop_message();
  }

  void on_auth(sa::connection&, const ev::auth_credentials& e, sa::decision d) override {
    static const std::string dummy(32, 'x');
    const auto it = st_.users.find(std::string(e.authcid));
    const std::string& want = it == st_.users.end() ? dummy : it->second;
    const bool match = constant_time_equal(e.password, want);
    const bool ok = it != st_.users.end() && match && (e.authzid.empty() || e.authzid == e.authcid);
    if (!st_.opt.quiet)
      log_line("#" + std::to_string(info_.id) + " auth " + std::string(e.mechanism) +
               (ok ? " ok for " : " failed for ") + printable(e.authcid));
    if (ok)
      d.accept();
    else
      d.reject({535, smtpkit::enhanced_status{5, 7, 8}, "Authentication credentials invalid", {}});
  }

  void on_rset(sa::connection&) override { drop_message(); }

  void on_close(sa::connection&) noexcept override {
    drop_message();
    if (!st_.opt.quiet) {
#if defined(__cpp_exceptions)
      try {
#endif
        log_line("#" + std::to_string(info_.id) + " disconnect from " +
                 endpoint_text(info_.remote) + " (" + std::to_string(accepted_) + " messages)");
#if defined(__cpp_exceptions)
      } catch (...) {
      }
#endif
    }
  }

  ~sink_handler() override {
    drop_message();
  }

 private:
  static std::string printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 64)) out += (c >= 0x21 && c <= 0x7e) ? c : '?';
    return out;
  }

  static void print_message(sink_state& s, const std::string& m) {
    std::lock_guard<std::mutex> lock(s.print_mu);
    std::fputs("---------- MESSAGE FOLLOWS ----------\n", stdout);
    std::fwrite(m.data(), 1, m.size(), stdout);
    if (!m.empty() && m.back() != '\n') std::fputc('\n', stdout);
    std::fputs("------------ END MESSAGE ------------\n", stdout);
    std::fflush(stdout);
  }

  std::string message_log(const std::string& where, const char* id, std::size_t recipients) {
    return "#" + std::to_string(info_.id) + " message " + id + " from <" + from_ + "> to " +
           std::to_string(recipients) + " recipient" + (recipients == 1 ? "" : "s") + ", " +
           std::to_string(size_) + " bytes, " + where;
  }
  void log_message(const std::string& where, const char* id, std::size_t recipients) {
    if (!st_.opt.quiet) log_line(message_log(where, id, recipients));
  }

  void finish_accepted(const char* id, std::size_t recipients) {
    ++accepted_;
    st_.messages.fetch_add(1);
    if (st_.opt.print) {
      print_message(st_, buf_);
      buf_.clear();
    }
    log_message(st_.opt.print ? "printed" : "discarded", id, recipients);
  }

  /// Starts a message: a file in DIR/tmp (with --maildir) and the trace headers.
  bool begin_message(sa::connection& c) {
    drop_message();
    in_message_ = true;
    failed_ = false;
    size_ = 0;
    id_ = st_.sequence.fetch_add(1) + 1;
    buf_.clear();
    if (st_.opt.maildir.empty() && !st_.opt.print) return true;
    if (!st_.opt.maildir.empty()) {
      const auto now = std::chrono::system_clock::now().time_since_epoch();
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
      char name[256];
      std::snprintf(name, sizeof name, "%lld.M%lldP%ldQ%llu.%s",
                    static_cast<long long>(us / 1000000), static_cast<long long>(us % 1000000),
                    st_.pid, static_cast<unsigned long long>(id_), st_.unique_host.c_str());
      name_ = name;
      fd_ =
          ::open((st_.maildir_tmp + name_).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd_ < 0) {
        if (!st_.opt.quiet)
          log_line("cannot create " + st_.maildir_tmp + name_ + ": " + std::strerror(errno));
        name_.clear();
        failed_ = true;  // the message goes on (BDAT chunks) but is refused at its end
        return false;
      }
    }
    write_trace_headers(c);
    return true;
  }

  void write_trace_headers(sa::connection& c) {
    const smtpkit::server_session& s = c.session();
    // RFC 3848: SMTP, ESMTP, LMTP, plus S for TLS and A for AUTH.
    std::string proto = s.greeting() == smtpkit::verb::helo   ? "SMTP"
                        : s.greeting() == smtpkit::verb::lhlo ? "LMTP"
                                                              : "ESMTP";
    if (proto != "SMTP") {
      if (s.tls_active()) proto += 'S';
      if (s.authenticated()) proto += 'A';
    }
    const auto& addr = info_.remote.address();
    const std::string literal =
        addr.is_v6() ? "[IPv6:" + addr.to_string() + "]" : "[" + addr.to_string() + "]";
    char date[64];
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    char id[48];
    std::snprintf(id, sizeof id, "%lX.%llX", st_.pid, static_cast<unsigned long long>(id_));
    buf_ += "Return-Path: <";
    buf_ += from_;
    buf_ += ">\r\nReceived: from ";
    buf_ += helo_.empty() ? std::string("unknown") : helo_;
    buf_ += " (";
    buf_ += literal;
    buf_ += ")\r\n\tby ";
    buf_ += s.config().hostname;
    buf_ += " (smtpkit-sink) with ";
    buf_ += proto;
    buf_ += " id ";
    buf_ += id;
    if (recipients_ == 1) {
      buf_ += "\r\n\tfor <";
      buf_ += rcpt_;
      buf_ += '>';
    }
    buf_ += "; ";
    buf_ += date;
    buf_ += "\r\n";
  }

  void flush_buffer() {
    if (fd_ < 0 || buf_.empty()) return;
    if (!write_all(fd_, buf_.data(), buf_.size())) {
      if (!st_.opt.quiet) log_line(std::string("write error: ") + std::strerror(errno));
      failed_ = true;
    }
    buf_.clear();
  }

  void discard_file() {
    ::close(fd_);
    fd_ = -1;
    ::unlink((st_.maildir_tmp + name_).c_str());
    name_.clear();
  }

  void drop_message() noexcept {
    if (fd_ >= 0) discard_file();
    in_message_ = false;
    failed_ = false;
    buf_.clear();
  }

  sink_state& st_;
  sa::connection_info info_;
  std::string helo_, from_, rcpt_;
  std::size_t recipients_ = 0;
  std::string buf_;   // pending file bytes (or the whole message with --print)
  std::string name_;  // of the file in DIR/tmp
  int fd_ = -1;
  std::uint64_t id_ = 0;
  std::uint64_t size_ = 0;
  std::uint64_t accepted_ = 0;
  bool in_message_ = false;
  bool failed_ = false;
};

int run(options opt) {
  sink_state st;
  st.opt = std::move(opt);
  st.pid = static_cast<long>(::getpid());
  if (st.opt.hostname.empty()) {
    char h[256] = {};
    if (::gethostname(h, sizeof h - 1) != 0 || !valid_hostname(h)) std::strcpy(h, "localhost");
    st.opt.hostname = h;
  }
  for (char c : st.opt.hostname) {  // Maildir: '/' and ':' may not appear in a file name
    if (c == '/')
      st.unique_host += "\\057";
    else if (c == ':')
      st.unique_host += "\\072";
    else
      st.unique_host += c;
  }
  std::string why;
  if (!st.opt.maildir.empty() && !prepare_maildir(st, why)) {
    log_line(why);
    return exit_failure;
  }
  if (!st.opt.auth_file.empty()) {
    bool usage = false;
    if (!load_users(st, why, usage)) {
      log_line(why);
      return usage ? exit_usage : exit_failure;
    }
  }

  sa::server_options so;
  auto& cfg = so.session;
  cfg.hostname = st.opt.hostname;
  cfg.limits.max_message_size = st.opt.max_size;
  cfg.limits.max_recipients = st.opt.max_recipients;
  if (st.opt.normalize_bare_lf) cfg.leniency.bare_newline = smtpkit::bare_newline_policy::normalize;
  const std::uint32_t ms = st.opt.idle_timeout_s * 1000u;
  cfg.timeouts = {ms, ms, ms};
  auto& f = cfg.features;
  f.pipelining = f.size = f.eightbitmime = f.binarymime = f.chunking = f.smtputf8 = f.dsn = true;
  f.enhanced_status_codes = true;
  f.lmtp = st.opt.lmtp;
  if (!st.users.empty()) {
    f.auth_plain = f.auth_login = f.auth_required = true;
  } else {
    // No AUTH offered, so no SASL exchange: the session's buffer for decoded SASL responses
    // (twice limits::auth_line, wiped at close) needs no more room than a command line. This
    // saves 23 KiB per connection and their wiping.
    cfg.limits.auth_line = cfg.limits.command_line;
  }
  so.max_connections = st.opt.max_connections;
  so.concurrency = st.opt.threads;  // one thread: no strand per connection

  if (!st.opt.maildir.empty())
    st.store_pool = std::make_unique<::asio::thread_pool>(std::max(4u, st.opt.threads));

  ::asio::io_context ioc(static_cast<int>(st.opt.threads));
  sa::server srv(ioc, so, [&st](const sa::connection_info& info) {
    return std::make_unique<sink_handler>(st, info);
  });
  std::vector<std::string> lines;
  for (const auto& ep : st.opt.listen) {
    std::error_code ec;
    const tcp::endpoint bound = srv.listen(ep, ec);
    if (ec) {
      log_line("cannot listen on " + endpoint_text(ep) + ": " + ec.message());
      return exit_failure;
    }
    lines.push_back("listening on " + endpoint_text(bound) + "\n");
  }
  for (const auto& l : lines) std::fputs(l.c_str(), stdout);
  std::fflush(stdout);

  // SIGINT/SIGTERM: graceful stop; a second one ends every connection at once.
  // The signal set and the watch timer share one strand, whatever the number of threads.
  const sa::strand_type control = ::asio::make_strand(ioc);
  ::asio::basic_signal_set<sa::strand_type> signals(control, SIGINT, SIGTERM);
  ::asio::basic_waitable_timer<std::chrono::steady_clock,
                               ::asio::wait_traits<std::chrono::steady_clock>, sa::strand_type>
      watch(control);
  int signalled = 0;
  std::function<void()> wait_until_idle = [&] {
    if (srv.stats().active == 0) {
      signals.cancel();
      return;
    }
    watch.expires_after(std::chrono::milliseconds(20));
    watch.async_wait([&](const std::error_code& e) {
      if (!e) wait_until_idle();
    });
  };
  std::function<void(const std::error_code&, int)> on_signal = [&](const std::error_code& e,
                                                                   int sig) {
    if (e) return;
    signals.async_wait(on_signal);  // first: wait_until_idle() may cancel it right away
    if (++signalled == 1) {
      if (!st.opt.quiet)
        log_line(std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
      srv.stop(std::chrono::milliseconds(10000));
      wait_until_idle();
    } else {
      srv.abort_all();
    }
  };
  signals.async_wait(on_signal);

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < st.opt.threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  if (st.store_pool) st.store_pool->join();
  if (!st.opt.quiet)
    log_line("stopped; " + std::to_string(st.messages.load()) + " messages accepted");
  if (st.new_dir_fd >= 0) ::close(st.new_dir_fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  options opt;
  try {
    const int r = parse_command_line(argc, argv, opt);
    if (r != 0) return 0;
  } catch (const usage_error& e) {
    std::fprintf(stderr, "smtpkit-sink: %s\n%s", e.what.c_str(), usage_text);
    return exit_usage;
  }
  try {
    return run(std::move(opt));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "smtpkit-sink: fatal: %s\n", e.what());
    return exit_failure;
  }
}
