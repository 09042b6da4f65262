// smtpkit-send: sends mail over SMTP (or LMTP), like msmtp, swaks or sendmail -t: one message
// from a file, standard input, or composed from --subject and --body; or every message of a
// folder over one connection (--batch). Built on smtpkit's client session and its Asio driver.
// RFC 5321 (the transaction, 4.5.3.2 timeouts), RFC 6409 (submission on port 587), RFC 3207
// (STARTTLS), RFC 4954 (AUTH), RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8),
// RFC 3030 (CHUNKING), RFC 2920 (PIPELINING), RFC 2033 (LMTP), RFC 5322 (the message).
//
// Rules:
//  1. The command line and the exit status are interfaces (sysexits): 0 every recipient
//     accepted; 64 bad usage; 65 bad message or address; 69 permanent failure (5xx, STARTTLS
//     required but not offered, TLS not available in this build, AUTH impossible); 75
//     temporary failure (4xx, timeout, connection refused or lost); 76 protocol error; 77
//     credentials refused. With --batch the status is the worst outcome (0 < 75 < 69 < 65 <
//     76 < 77; 64 before anything is sent).
//  2. Nothing of a message is sent before every check that can refuse it: its lines, its
//     addresses, SIZE, 8BITMIME, SMTPUTF8, STARTTLS and AUTH all come first.
//  3. Secrets never reach a terminal or the process list: --password is refused, the password
//     comes from --password-file or SMTPKIT_PASSWORD, and --trace masks AUTH exchanges.
//  4. Text from the server is never printed raw: control characters are escaped
//     (smtpkit/client/display.hpp).
//  5. This build has no TLS engine: --starttls require (the default) fails with "TLS is not
//     available in this build" (exit 69) against a server that offers STARTTLS, after which
//     nothing more is sent; --starttls opportunistic then behaves as never.
// SPDX-License-Identifier: MIT

#include <dirent.h>    // opendir, readdir
#include <sys/stat.h>  // stat
#include <unistd.h>    // isatty, gethostname

#include <algorithm>   // sort, max
#include <chrono>      // steady_clock
#include <csignal>     // signal, SIGPIPE
#include <cstdint>     // uint64_t, SIZE_MAX
#include <cstdio>      // fputs, fprintf, fwrite
#include <cstdlib>     // getenv
#include <cstring>     // strerror
#include <exception>   // exception
#include <fstream>     // ifstream
#include <functional>  // function
#include <memory>      // unique_ptr
#include <optional>    // optional
#include <smtpkit/asio/client.hpp>
#include <smtpkit/version.hpp>
#include <string>       // string
#include <string_view>  // string_view
#include <vector>       // vector

#include "message.hpp"

namespace {

namespace sa = smtpkit::asio;
using smtpkit::errc;
using smtpkit_send::bad_message;

// sysexits.h
constexpr int ex_ok = 0;
constexpr int ex_usage = 64;
constexpr int ex_dataerr = 65;
constexpr int ex_unavailable = 69;
constexpr int ex_tempfail = 75;
constexpr int ex_protocol = 76;
constexpr int ex_noperm = 77;

constexpr const char* usage_text =
    "usage: smtpkit-send --server HOST[:PORT] [--from ADDR] [--to ADDR]... [-t]\n"
    "                    [--message FILE|-] [--subject TEXT --body TEXT]\n"
    "                    [--helo NAME] [--lmtp] [--chunking] [--timeout SECONDS] [--trace]\n"
    "                    [--starttls require|opportunistic|never] [--user NAME]\n"
    "                    [--password-file FILE] [--auth MECH] [--allow-plaintext-auth]\n"
    "                    [--batch DIR] [-f ADDR] [-i] [-oi] [--help] [--version]\n"
    "                    [--] [RECIPIENT]...\n";

constexpr const char* help_text =
    "\n"
    "Sends a message over SMTP (or LMTP): a file, standard input, or one composed from\n"
    "--subject and --body; or every message file of a folder with --batch.\n"
    "\n"
    "  --server HOST[:PORT]   the server (IPv6 as [ADDR]:PORT); port 587 by default\n"
    "  --from ADDR, -f ADDR   envelope sender (default: the message's From address; \"\" or\n"
    "                         \"<>\" for the null sender)\n"
    "  --to ADDR              a recipient (repeatable); RECIPIENT arguments add more\n"
    "  -t                     also take recipients from the To, Cc and Bcc fields, and leave\n"
    "                         the Bcc fields out of the message\n"
    "  --message FILE|-       the message (RFC 5322, sent as it is with CRLF line ends);\n"
    "                         default: standard input\n"
    "  --subject TEXT, --body TEXT\n"
    "                         compose the message instead (From, To, Subject, Date,\n"
    "                         Message-ID are added)\n"
    "  --helo NAME            the name in EHLO/LHLO (default: this machine's name)\n"
    "  --lmtp                 speak LMTP (one result per recipient)\n"
    "  --chunking             send with BDAT when the server offers CHUNKING\n"
    "  --timeout SECONDS      bound on connecting and on every wait for a reply or a write\n"
    "                         (default: the RFC 5321 4.5.3.2 timeouts)\n"
    "  --trace                print the conversation to stderr (AUTH secrets masked)\n"
    "  --starttls MODE        require (default), opportunistic or never; this build has no\n"
    "                         TLS engine, so require fails when the server offers STARTTLS\n"
    "  --user NAME            authenticate (AUTH) as NAME; the password (or token) comes from\n"
    "                         --password-file or the SMTPKIT_PASSWORD environment variable\n"
    "  --password-file FILE   the file whose first line is the password\n"
    "  --auth MECH            PLAIN, LOGIN, XOAUTH2 or OAUTHBEARER (default: the strongest of\n"
    "                         PLAIN and LOGIN the server offers)\n"
    "  --allow-plaintext-auth send credentials over a connection without TLS\n"
    "  --batch DIR            send every file of DIR, each in its own transaction, over one\n"
    "                         connection (reconnecting when the server drops it)\n"
    "  -i, -oi                accepted for sendmail compatibility (a lone \".\" line never\n"
    "                         ends the input)\n"
    "  --help, --version      print this help or the version and exit\n"
    "\n"
    "Exit status: 0 every recipient accepted, 64 usage, 65 bad message or address, 69\n"
    "permanent failure, 75 temporary failure, 76 protocol error, 77 credentials refused.\n";

// --- command line --------------------------------------------------------------------------------

struct options {
  std::string host;
  std::string port = "587";
  std::optional<std::string> from;
  std::vector<std::string> to;
  bool header_recipients = false;  // -t
  std::optional<std::string> message;
  std::optional<std::string> subject;
  std::optional<std::string> body;
  std::string helo;
  bool lmtp = false;
  bool chunking = false;
  unsigned timeout_s = 0;
  bool trace = false;
  smtpkit::tls_policy starttls = smtpkit::tls_policy::require;
  std::optional<std::string> user;
  std::optional<std::string> password_file;
  std::string auth;
  bool allow_plaintext_auth = false;
  std::optional<std::string> batch;
};

struct usage_error {
  std::string what;
};

/// An error that ends the run with an exit status and a message.
struct fatal {
  int code;
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

/// Splits HOST[:PORT] ("[v6]:port", "[v6]", "host", "host:port"; a bare IPv6 address).
void parse_server(std::string_view s, options& o) {
  std::string_view host = s, port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) throw usage_error{"bad --server '" + std::string(s) + "'"};
    host = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') throw usage_error{"bad --server '" + std::string(s) + "'"};
      port = s.substr(close + 2);
    }
  } else if (s.find(':') != std::string_view::npos && s.find(':') == s.rfind(':')) {
    host = s.substr(0, s.find(':'));
    port = s.substr(s.find(':') + 1);
  }
  std::uint64_t p = 0;
  if (host.empty() || (!port.empty() && (!parse_uint(port, 65535, p) || p == 0)) ||
      (s.find(':') != std::string_view::npos && port.empty() && s.front() != '[' &&
       s.find(':') == s.rfind(':')))
    throw usage_error{"bad --server '" + std::string(s) + "' (expected HOST[:PORT])"};
  for (char c : host)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7F)
      throw usage_error{"bad --server host '" + std::string(host) + "'"};
  o.host = std::string(host);
  if (!port.empty()) o.port = std::string(port);
}

/// Parses argv. Returns -1 after --help or --version, 0 to go on.
int parse_command_line(int argc, char** argv, options& o) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  bool only_recipients = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (only_recipients || a.empty() || a[0] != '-' || a == "-") {
      if (a == "-") throw usage_error{"'-' is not a recipient (use --message - for stdin)"};
      o.to.emplace_back(a);
      continue;
    }
    if (a == "--") {
      only_recipients = true;
      continue;
    }
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
    if (a == "--password") {
      throw usage_error{
          "--password is refused: a password on the command line shows in the process list; "
          "use --password-file FILE or SMTPKIT_PASSWORD"};
    } else if (flag("--help") || flag("-h")) {
      std::fputs(usage_text, stdout);
      std::fputs(help_text, stdout);
      return -1;
    } else if (flag("--version")) {
      std::printf("smtpkit-send %s\n", SMTPKIT_VERSION_STRING);
      return -1;
    } else if (takes("--server")) {
      parse_server(value, o);
    } else if (takes("--from")) {
      o.from = std::string(value);
    } else if (a.size() >= 2 && a.substr(0, 2) == "-f" && a != "-f") {
      o.from = std::string(a.substr(2));  // sendmail's -fADDR
    } else if (a == "-f") {
      if (i + 1 >= args.size()) throw usage_error{"-f needs a value"};
      o.from = std::string(args[++i]);
    } else if (takes("--to")) {
      o.to.emplace_back(value);
    } else if (flag("-t")) {
      o.header_recipients = true;
    } else if (flag("-i") || flag("-oi")) {
      // sendmail: a "." line does not end the input. smtpkit-send never treats it so.
    } else if (takes("--message")) {
      if (value.empty()) throw usage_error{"--message needs a file (or - for stdin)"};
      o.message = std::string(value);
    } else if (takes("--subject")) {
      o.subject = std::string(value);
    } else if (takes("--body")) {
      o.body = std::string(value);
    } else if (takes("--helo")) {
      if (!smtpkit::parse_host(value))
        throw usage_error{"bad --helo '" + std::string(value) +
                          "' (a domain or an address literal such as [192.0.2.1])"};
      o.helo = std::string(value);
    } else if (flag("--lmtp")) {
      o.lmtp = true;
    } else if (flag("--chunking")) {
      o.chunking = true;
    } else if (takes("--timeout")) {
      std::uint64_t v = 0;
      if (!parse_uint(value, 86400, v) || v == 0)
        throw usage_error{"bad --timeout '" + std::string(value) + "' (1..86400 seconds)"};
      o.timeout_s = static_cast<unsigned>(v);
    } else if (flag("--trace")) {
      o.trace = true;
    } else if (takes("--starttls")) {
      if (value == "require")
        o.starttls = smtpkit::tls_policy::require;
      else if (value == "opportunistic")
        o.starttls = smtpkit::tls_policy::opportunistic;
      else if (value == "never")
        o.starttls = smtpkit::tls_policy::never;
      else
        throw usage_error{"bad --starttls '" + std::string(value) +
                          "' (require, opportunistic or never)"};
    } else if (takes("--user")) {
      if (value.empty()) throw usage_error{"--user needs a name"};
      o.user = std::string(value);
    } else if (takes("--password-file")) {
      if (value.empty()) throw usage_error{"--password-file needs a file"};
      o.password_file = std::string(value);
    } else if (takes("--auth")) {
      std::string m(value);
      for (char& c : m)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (m != "PLAIN" && m != "LOGIN" && m != "XOAUTH2" && m != "OAUTHBEARER")
        throw usage_error{"bad --auth '" + std::string(value) +
                          "' (PLAIN, LOGIN, XOAUTH2 or OAUTHBEARER)"};
      o.auth = m;
    } else if (flag("--allow-plaintext-auth")) {
      o.allow_plaintext_auth = true;
    } else if (takes("--batch")) {
      if (value.empty()) throw usage_error{"--batch needs a directory"};
      o.batch = std::string(value);
    } else {
      throw usage_error{"unknown option '" + std::string(args[i]) + "'"};
    }
  }
  if (o.host.empty()) throw usage_error{"--server is required"};
  const bool compose = o.subject || o.body;
  if (compose && o.message) throw usage_error{"--subject/--body and --message exclude each other"};
  if (compose && o.header_recipients) throw usage_error{"-t needs a message with header fields"};
  if (compose && !o.from) throw usage_error{"--subject/--body need --from"};
  if (o.batch && (o.message || compose))
    throw usage_error{"--batch sends the files of a folder: no --message, --subject or --body"};
  if (o.to.empty() && !o.header_recipients)
    throw usage_error{"no recipient: give --to ADDR, RECIPIENT arguments, or -t"};
  if ((o.password_file || !o.auth.empty()) && !o.user)
    throw usage_error{"--password-file and --auth need --user"};
  return 0;
}

// --- output --------------------------------------------------------------------------------------

/// Returns @p text with control characters escaped (rule 4).
std::string printable(std::string_view text) {
  std::string out(smtpkit::escaped_size_max(text.size()), '\0');
  smtpkit::byte_writer w(out.data(), out.size());
  smtpkit::escape_for_display(text, w);
  out.resize(w.size());
  return out;
}

/// Returns a reply as one printable line: its lines joined by " / ", without CRLF.
std::string reply_text(const sa::server_reply& r) {
  if (r.empty()) return "no reply";
  std::string_view raw = r.raw;
  std::string out;
  while (!raw.empty()) {
    const std::size_t end = raw.find("\r\n");
    const std::string_view line = raw.substr(0, end);
    if (!out.empty()) out += " / ";
    out += printable(line);
    if (end == std::string_view::npos) break;
    raw.remove_prefix(end + 2);
  }
  return out;
}

void say(const std::string& s) {
  const std::string line = "smtpkit-send: " + s + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

/// The worse of two exit statuses (rule 1).
int worse(int a, int b) {
  auto rank = [](int c) {
    switch (c) {
      case ex_ok:
        return 0;
      case ex_tempfail:
        return 1;
      case ex_unavailable:
        return 2;
      case ex_dataerr:
        return 3;
      case ex_protocol:
        return 4;
      case ex_noperm:
        return 5;
      default:
        return 6;
    }
  };
  return rank(a) >= rank(b) ? a : b;
}

/// Returns 69 for a 5xx reply, 75 otherwise (4xx, or none).
int by_reply(const sa::server_reply& r) {
  return r.code >= 500 ? ex_unavailable : ex_tempfail;
}

bool is_address_error(const std::error_code& e) {
  return e == errc::bad_path || e == errc::bad_local_part || e == errc::bad_domain ||
         e == errc::bad_address_literal || e == errc::local_part_too_long ||
         e == errc::domain_too_long || e == errc::path_too_long || e == errc::invalid_argument;
}

/// Returns the exit status of a session that ended (timeouts, drops, 421, protocol errors).
int session_end_status(const std::error_code& e) {
  if (e == errc::protocol_error) return ex_protocol;
  return ex_tempfail;
}

std::string session_end_text(const std::error_code& e, const sa::server_reply& last) {
  if (e == errc::timeout) return "timed out waiting for the server";
  if (e == errc::connection_lost) return "the server closed the connection";
  if (e == errc::protocol_error)
    return "the server broke the protocol (last reply: " + reply_text(last) + ")";
  if (e == errc::session_closed) return "the server ended the session: " + reply_text(last);
  return e.message();
}

// --- the run -------------------------------------------------------------------------------------

/// One message to send: a file, standard input, or a composed text.
struct item {
  enum class kind { file, stdin_, composed } k = kind::file;
  std::string path;  // file: its path; shown in --batch reports
};

class sender {
 public:
  sender(options o, std::string password)
      : opt_(std::move(o)), password_(std::move(password)), ioc_(1) {}
  ~sender() {
    volatile char* p = password_.data();
    for (std::size_t i = 0; i < password_.size(); ++i) p[i] = 0;
  }

  int run() {
    if (opt_.batch) {
      list_batch();
    } else {
      item it;
      if (opt_.subject || opt_.body)
        it.k = item::kind::composed;
      else if (!opt_.message || *opt_.message == "-")
        it.k = item::kind::stdin_;
      else
        it.path = *opt_.message;
      items_.push_back(it);
      // Rule 2: the message is read and checked before connecting.
      try {
        prepare(0, slots_[0]);
      } catch (const bad_message& b) {
        throw fatal{ex_dataerr, b.why};
      } catch (const smtpkit_send::prepared_message::spool_error& s) {
        throw fatal{ex_tempfail, s.why};
      }
      slots_[0].index = 0;
    }
    client_ = std::make_unique<sa::client>(ioc_, client_options());
    started_ = std::chrono::steady_clock::now();
    ::asio::post(ioc_, [this] { next(); });
    ioc_.run();
    if (opt_.batch) finish_batch();
    return status_;
  }

 private:
  // --- messages ------------------------------------------------------------------------------

  void list_batch() {
    DIR* d = ::opendir(opt_.batch->c_str());
    if (!d)
      throw fatal{ex_usage, "cannot open --batch " + *opt_.batch + ": " + std::strerror(errno)};
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
      std::string path = *opt_.batch + "/" + e->d_name;
      struct stat st {};
      if (e->d_type == DT_UNKNOWN && (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)))
        continue;  // the file system does not say: ask
      names.push_back(std::move(path));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (std::string& n : names) items_.push_back(item{item::kind::file, std::move(n)});
    progress_ = ::isatty(2) && !opt_.trace;
  }

  /// A message being sent, or the next one read ahead while the server answers.
  struct slot {
    std::size_t index = SIZE_MAX;    // the item it holds
    std::optional<std::string> bad;  // why the message cannot be sent
    smtpkit_send::prepared_message msg;
    std::vector<char> buffer;
    std::string composed;
    sa::envelope env;
  };
  slot& slot_for(std::size_t i) { return slots_[i % 2]; }

  /// Prepares item @p i into its slot, unless it is there already; a bad message is kept as
  /// such, to be reported when its turn comes.
  slot& ready_slot(std::size_t i) {
    slot& s = slot_for(i);
    if (s.index == i) return s;
    s.index = i;
    s.bad.reset();
    try {
      prepare(i, s);
    } catch (const bad_message& b) {
      s.bad = b.why;
    }
    return s;
  }

  /// Reads and checks the message of item @p i, and makes its envelope (throws bad_message).
  void prepare(std::size_t i, slot& sl) {
    const item& it = items_[i];
    const bool strip = opt_.header_recipients;
    smtpkit_send::prepared_message& msg_ = sl.msg;
    std::vector<char>& buffer_ = sl.buffer;
    std::string& composed_ = sl.composed;
    sa::envelope& env_ = sl.env;
    switch (it.k) {
      case item::kind::file:
        msg_.load_file(it.path, strip, buffer_, opt_.batch.has_value());
        break;
      case item::kind::stdin_:
        msg_.load_stdin(strip, buffer_);
        break;
      case item::kind::composed: {
        const std::string from = smtpkit_send::strip_angle(*opt_.from);
        std::string domain = opt_.helo.empty() ? "localhost" : opt_.helo;
        if (const auto at = from.rfind('@'); at != std::string::npos) domain = from.substr(at + 1);
        std::vector<std::string> to;
        for (const auto& t : opt_.to) to.push_back(smtpkit_send::strip_angle(t));
        composed_ = smtpkit_send::compose(from, to, opt_.subject.value_or(""),
                                          opt_.body.value_or(""), domain);
        msg_.load_memory(composed_, false);
        break;
      }
    }
    const smtpkit_send::scanner& sc = msg_.scan();
    env_ = sa::envelope{};
    env_.chunking = opt_.chunking;
    // The sender: --from, or the message's From address.
    if (opt_.from) {
      env_.from = smtpkit_send::strip_angle(*opt_.from);
    } else {
      std::vector<std::string> f;
      for (const auto& v : sc.from()) {
        auto a = smtpkit_send::parse_address_list(v);
        f.insert(f.end(), a.begin(), a.end());
      }
      if (f.empty()) throw bad_message{"no sender: the message has no From address; give --from"};
      env_.from = f.front();
    }
    if (!env_.from.empty() && !smtpkit::parse_mailbox(env_.from, limits()))
      throw bad_message{"bad sender address <" + printable(env_.from) + ">"};
    for (const auto& t : opt_.to) add_recipient(env_, smtpkit_send::strip_angle(t), "");
    if (opt_.header_recipients) {
      for (const auto* list : {&sc.to(), &sc.cc(), &sc.bcc()})
        for (const auto& v : *list)
          for (auto& a : smtpkit_send::parse_address_list(v))
            add_recipient(env_, a, "in a header field ");
    }
    if (env_.to.empty()) throw bad_message{"no recipient in the message's To, Cc or Bcc fields"};
    if (env_.to.size() > limits().max_recipients)
      throw bad_message{"too many recipients (" + std::to_string(env_.to.size()) + ", at most " +
                        std::to_string(limits().max_recipients) + ")"};
    env_.mail.set_size(sc.size());
    if (sc.eight_bit()) env_.mail.set_body(smtpkit::body_type::eight_bit_mime);
  }

  void add_recipient(sa::envelope& env, std::string a, const char* where) {
    if (!smtpkit::parse_mailbox(a, limits()))
      throw bad_message{"bad recipient address " + std::string(where) + "<" + printable(a) + ">"};
    for (const auto& t : env.to)
      if (t == a) return;
    env.to.push_back(std::move(a));
  }

  smtpkit::limits limits() const {
    smtpkit::limits l;
    l.max_recipients = 1000;
    return l;
  }

  sa::client_options client_options() {
    sa::client_options o;
    smtpkit::client_config& c = o.session;
    helo_ = opt_.helo;
    if (helo_.empty()) {
      char h[256] = {};
      if (::gethostname(h, sizeof h - 1) == 0 && smtpkit::parse_host(h)) helo_ = h;
      if (helo_.empty()) helo_ = "localhost";
    }
    c.helo_name = helo_;
    c.limits = limits();
    c.lmtp = opt_.lmtp;
    c.allow_plaintext_auth = opt_.allow_plaintext_auth;
    // Rule 5: no TLS engine, so "opportunistic" can only ever be "never".
    c.tls = opt_.starttls == smtpkit::tls_policy::require ? smtpkit::tls_policy::require
                                                          : smtpkit::tls_policy::never;
    if (opt_.timeout_s != 0) {
      const std::uint32_t ms = opt_.timeout_s * 1000u;
      c.timeouts = {ms, ms, ms, ms, ms, ms, ms};
      o.connect_timeout = std::chrono::milliseconds(ms);
    }
    if (opt_.trace) {
      o.trace = [](sa::trace_kind k, std::string_view line) {
        std::string l = k == sa::trace_kind::sent       ? "C: "
                        : k == sa::trace_kind::received ? "S: "
                                                        : "smtpkit-send: ";
        l += printable(line);
        l += '\n';
        std::fwrite(l.data(), 1, l.size(), stderr);
      };
    }
    return o;
  }

  // --- the sequence --------------------------------------------------------------------------

  void next() {
    while (index_ < items_.size()) {
      const slot& s = ready_slot(index_);
      if (s.bad) {
        report(ex_dataerr, *s.bad);
        ++refused_;
        status_ = worse(status_, ex_dataerr);
        ++index_;
        show_progress(false);
        continue;
      }
      if (!next_again_) attempts_ = 0;
      next_again_ = false;
      send_current();
      return;
    }
    quit();
  }

  void send_current() {
    ++attempts_;
    ensure_connected([this] {
      slot& s = slot_for(index_);
      client_->async_send(s.env, s.msg, [this](std::error_code ec, sa::send_result r) {
        on_sent(ec, std::move(r));
      });
      // Read the next message while the server answers this one (the driver has written
      // what it could; this slot is not in use).
      if (index_ + 1 < items_.size()) ready_slot(index_ + 1);
    });
  }

  void on_sent(const std::error_code& ec, const sa::send_result& r) {
    const bool dropped =
        ec == errc::timeout || ec == errc::connection_lost || ec == errc::session_closed;
    if (dropped || ec == errc::protocol_error) connected_ = false;
    if (dropped && opt_.batch && attempts_ < 2) {
      // Reconnect and try this message again (the server may not have it).
      if (opt_.trace) say("reconnecting: " + session_end_text(ec, r.reply));
      rewind_current();
      return;
    }
    const int code = outcome(ec, r);
    if (code == ex_ok)
      ++sent_;
    else if (code == ex_tempfail)
      ++deferred_;
    else
      ++refused_;
    status_ = worse(status_, code);
    ++index_;
    show_progress(false);
    if (ec == errc::protocol_error) {  // the session cannot go on: stop here
      stop_remaining(ex_protocol);
      return;
    }
    next();
  }

  /// Prepares the current message again (its source was partly read) and resends it.
  void rewind_current() {
    slot_for(index_).index = SIZE_MAX;
    next_again_ = true;
    next();
  }

  /// Returns the exit status of one message's transaction and reports refusals.
  int outcome(const std::error_code& ec, const sa::send_result& r) {
    const sa::envelope& env_ = slot_for(index_).env;
    if (ec) {
      if (is_address_error(ec)) return report(ex_dataerr, "bad address: " + ec.message());
      if (ec == errc::too_many_recipients) return report(ex_dataerr, "too many recipients");
      if (ec == errc::message_too_large)
        return report(ex_unavailable, "the message (" + std::to_string(*env_.mail.size()) +
                                          " octets) is larger than the server's SIZE limit");
      if (ec == errc::unknown_parameter)
        return report(ex_unavailable,
                      "the message has 8-bit octets and the server does not offer 8BITMIME");
      if (ec == errc::bad_utf8)
        return report(ex_unavailable,
                      "an address holds UTF-8 and the server does not offer SMTPUTF8");
      if (ec == errc::tls_required) return report(ex_unavailable, "TLS is required");
      if (ec.category() == std::generic_category())
        return report(ex_tempfail, "cannot read the message: " + ec.message());
      return report(session_end_status(ec), session_end_text(ec, r.reply));
    }
    int code = ex_ok;
    const bool lmtp = opt_.lmtp;
    bool all_temporary = true;
    bool any_refused = false;
    for (std::size_t i = 0; i < r.recipients.size() && i < env_.to.size(); ++i) {
      const sa::recipient_outcome& o = r.recipients[i];
      const sa::server_reply* why = nullptr;
      if (!o.accepted)
        why = &o.reply;
      else if (r.accepted && lmtp && !o.delivered)
        why = &o.delivery;
      if (!why) continue;
      any_refused = true;
      if (why->code < 400 || why->code >= 500) all_temporary = false;
      report(-1, "<" + printable(env_.to[i]) + ">: " + reply_text(*why));
    }
    if (!r.accepted) {
      const sa::server_reply& why = r.reply;
      if (r.stage == smtpkit::client_command::rcpt)
        return report(all_temporary ? ex_tempfail : ex_unavailable, "no recipient was accepted");
      code = by_reply(why);
      const char* stage = r.stage == smtpkit::client_command::mail   ? "the sender was refused"
                          : r.stage == smtpkit::client_command::data ? "DATA was refused"
                                                                     : "the message was refused";
      return report(code, std::string(stage) + ": " + reply_text(why));
    }
    if (any_refused) code = all_temporary ? ex_tempfail : ex_unavailable;
    return code;
  }

  /// Prints @p what on stderr (with the file's name in --batch); returns @p code.
  int report(int code, const std::string& what) {
    clear_progress();
    if (opt_.batch && index_ < items_.size())
      say(items_[index_].path + ": " + what);
    else
      say(what);
    return code;
  }

  // --- the connection ------------------------------------------------------------------------

  void ensure_connected(std::function<void()> then) {
    if (connected_) {
      then();
      return;
    }
    client_->async_connect(opt_.host, opt_.port,
                           [this, then](std::error_code ec, sa::server_reply rep) {
                             if (ec) {
                               connect_failed(ec, rep);
                               return;
                             }
                             if (!opt_.user) {
                               connected_ = true;
                               then();
                               return;
                             }
                             authenticate(then);
                           });
  }

  void connect_failed(const std::error_code& ec, const sa::server_reply& rep) {
    const std::string where = opt_.host + " port " + opt_.port;
    int code = ex_tempfail;
    std::string why;
    if (ec == ::asio::error::host_not_found) {
      code = ex_unavailable;
      why = "unknown host " + printable(opt_.host);
    } else if (ec == ::asio::error::host_not_found_try_again) {
      why = "cannot resolve " + printable(opt_.host) + " now: " + ec.message();
    } else if (ec == std::errc::protocol_not_supported) {
      code = ex_unavailable;
      why = where +
            " offers STARTTLS, but TLS is not available in this build (--starttls "
            "require; --starttls never sends in clear)";
    } else if (ec == errc::tls_required) {
      code = ex_unavailable;
      const smtpkit::client_session* s = client_->session();
      if (s && s->capabilities().has(smtpkit::ehlo_extension::starttls))
        why = where + " refused STARTTLS (--starttls require)";
      else
        why = where +
              " does not offer STARTTLS (--starttls require; use --starttls never for "
              "a server without TLS)";
    } else if (ec == errc::session_closed) {
      code = by_reply(rep);
      why = where + " refused the session: " + reply_text(rep);
    } else if (ec.category() == smtpkit::error_category()) {
      code = session_end_status(ec);
      why = where + ": " + session_end_text(ec, rep);
    } else {
      why = "cannot connect to " + where + ": " + ec.message();
    }
    clear_progress();
    say(why);
    stop_remaining(code);
  }

  void authenticate(std::function<void()> then) {
    const std::string& user = *opt_.user;
    const std::string& secret = password_;
    mechs_.clear();
    std::string_view m = opt_.auth;
    if (m.empty() || m == "PLAIN")
      mechs_.push_back(std::make_unique<smtpkit::sasl::plain_client>(user, secret));
    if (m.empty() || m == "LOGIN")
      mechs_.push_back(std::make_unique<smtpkit::sasl::login_client>(user, secret));
    if (m == "XOAUTH2")
      mechs_.push_back(std::make_unique<smtpkit::sasl::xoauth2_client>(user, secret));
    if (m == "OAUTHBEARER") {
      std::uint64_t port = 0;
      parse_uint(opt_.port, 65535, port);
      mechs_.push_back(std::make_unique<smtpkit::sasl::oauthbearer_client>(
          user, secret, opt_.host, static_cast<std::uint16_t>(port)));
    }
    const smtpkit::client_session* s = client_->session();
    if (s && !s->capabilities().has(smtpkit::ehlo_extension::auth)) {
      say(opt_.host + " offers no AUTH (--user needs it)");
      stop_remaining(ex_unavailable);
      return;
    }
    auto done = [this, then](std::error_code ec, sa::auth_result r) {
      if (!ec) {
        connected_ = true;
        then();
        return;
      }
      int code = ex_unavailable;
      std::string why;
      if (ec == errc::auth_failed) {
        const int c = r.reply.code;
        code = c >= 400 && c < 500      ? ex_tempfail
               : (c == 534 || c == 538) ? ex_unavailable
                                        : ex_noperm;
        why = "authentication (" + r.mechanism + ") refused: " + reply_text(r.reply);
        if (!r.server_message.empty()) why += " (" + printable(r.server_message) + ")";
      } else if (ec == errc::tls_required) {
        why = "AUTH over a connection without TLS needs --allow-plaintext-auth";
      } else if (ec == errc::auth_mechanism_unsupported) {
        why = opt_.auth.empty() ? "the server offers neither PLAIN nor LOGIN"
                                : "the server does not offer AUTH " + opt_.auth;
      } else if (ec == errc::invalid_argument || ec == errc::auth_line_too_long) {
        code = ex_usage;
        why = "the credentials cannot be sent with this mechanism (" + ec.message() + ")";
      } else if (ec == errc::auth_cancelled || ec == errc::bad_base64) {
        code = ex_protocol;
        why = "the AUTH exchange broke down (" + ec.message() + "): " + reply_text(r.reply);
      } else {
        code = session_end_status(ec);
        why = session_end_text(ec, r.reply);
      }
      clear_progress();
      say(why);
      stop_remaining(code);
    };
    if (!opt_.auth.empty())
      client_->async_auth(*mechs_.front(), done);
    else
      client_->async_auth({mechs_[0].get(), mechs_[1].get()}, done);
  }

  /// The session cannot go on: counts what is left as deferred (75) or refused, sets the
  /// status, and quits.
  void stop_remaining(int code) {
    const std::size_t left = items_.size() - index_;
    if (code == ex_tempfail)
      deferred_ += left;
    else
      refused_ += left;
    index_ = items_.size();
    status_ = worse(status_, code);
    connected_ = false;
    quit();
  }

  void quit() {
    if (quitting_) return;
    quitting_ = true;
    client_->async_quit([this](std::error_code) { client_->close(); });
  }

  // --- batch progress ------------------------------------------------------------------------

  void show_progress(bool force) {
    if (!progress_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_progress_ < std::chrono::milliseconds(100) && index_ < items_.size())
      return;
    last_progress_ = now;
    const std::size_t total = items_.size();
    const std::size_t done = index_;
    const int width = 30;
    const int fill =
        total ? static_cast<int>(static_cast<double>(done) * width / static_cast<double>(total))
              : width;
    std::string bar = "\r[";
    for (int i = 0; i < width; ++i) bar += i < fill ? '#' : '.';
    char tail[160];
    std::snprintf(tail, sizeof tail, "] %zu/%zu  sent %zu  refused %zu  deferred %zu ", done, total,
                  sent_, refused_, deferred_);
    bar += tail;
    std::fwrite(bar.data(), 1, bar.size(), stderr);
    progress_shown_ = true;
  }

  void clear_progress() {
    if (!progress_shown_) return;
    std::fputs("\r\033[K", stderr);
    progress_shown_ = false;
  }

  void finish_batch() {
    show_progress(true);
    if (progress_shown_) std::fputc('\n', stderr);
    progress_shown_ = false;
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    char line[256];
    std::snprintf(line, sizeof line,
                  "%zu message%s: %zu sent, %zu refused, %zu deferred (%.2f s, %.0f messages/s)",
                  items_.size(), items_.size() == 1 ? "" : "s", sent_, refused_, deferred_, s,
                  s > 0 ? static_cast<double>(sent_) / s : 0.0);
    say(line);
  }

  options opt_;
  std::string password_;
  std::string helo_;
  ::asio::io_context ioc_;
  std::unique_ptr<sa::client> client_;
  std::vector<std::unique_ptr<smtpkit::sasl::client_mechanism>> mechs_;
  std::vector<item> items_;
  std::size_t index_ = 0;
  slot slots_[2];
  int attempts_ = 0;
  bool next_again_ = false;  // next() resends the current message (after a reconnection)
  bool connected_ = false;
  bool quitting_ = false;
  int status_ = ex_ok;
  std::size_t sent_ = 0, refused_ = 0, deferred_ = 0;
  bool progress_ = false;
  bool progress_shown_ = false;
  std::chrono::steady_clock::time_point started_{}, last_progress_{};
};

/// Reads the password: the first line of --password-file, or SMTPKIT_PASSWORD.
std::string read_password(const options& o) {
  if (!o.user) return {};
  std::string p;
  if (o.password_file) {
    std::ifstream in(*o.password_file, std::ios::binary);
    if (!in)
      throw usage_error{"cannot read --password-file " + *o.password_file + ": " +
                        std::strerror(errno)};
    std::getline(in, p);
    if (!p.empty() && p.back() == '\r') p.pop_back();
  } else if (const char* env = std::getenv("SMTPKIT_PASSWORD")) {
    p = env;
  } else {
    throw usage_error{"--user needs a password: --password-file FILE or SMTPKIT_PASSWORD"};
  }
  if (p.empty()) throw usage_error{"the password is empty"};
  return p;
}

/// Checks the addresses given on the command line (exit 65 for a bad one).
void check_addresses(const options& o) {
  smtpkit::limits l;
  auto check = [&](const std::string& a, const char* what) {
    const std::string s = smtpkit_send::strip_angle(a);
    if (s.empty() && std::string_view(what) == "sender") return;
    if (!smtpkit::parse_mailbox(s, l))
      throw fatal{ex_dataerr, std::string("bad ") + what + " address <" + printable(a) + ">"};
  };
  if (o.from) check(*o.from, "sender");
  for (const auto& t : o.to) check(t, "recipient");
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  options opt;
  std::string password;
  try {
    if (parse_command_line(argc, argv, opt) != 0) return ex_ok;
    password = read_password(opt);
  } catch (const usage_error& e) {
    std::fprintf(stderr, "smtpkit-send: %s\n%s", e.what.c_str(), usage_text);
    return ex_usage;
  }
  try {
    check_addresses(opt);
    sender s(std::move(opt), std::move(password));
    return s.run();
  } catch (const fatal& f) {
    say(f.what);
    return f.code;
  } catch (const std::exception& e) {
    say(std::string("fatal: ") + e.what());
    return ex_tempfail;
  }
}
