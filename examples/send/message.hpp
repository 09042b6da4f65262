// smtpkit-send: the message side of the tool. Reads a message (a file, standard input spooled to
// a temporary file, or one composed from --subject and --body), checks it and measures it before
// anything is sent, takes recipients from its header fields for -t, and streams it to the driver
// with the Bcc fields left out.
// RFC 5322 (2.1.1 line length, 2.2 header fields and folding, 3.3 date, 3.4 address lists, 3.6
// the fields composed), RFC 1870 (SIZE: the size counted with CRLF line ends), RFC 6152
// (8BITMIME), RFC 2047 (an encoded Subject), RFC 5321 2.3.8 (CRLF line ends).
//
// Rules:
//  1. A message is measured in one pass before MAIL: its size once every line end is CRLF (a
//     bare LF or CR counts as CRLF; an unterminated last line gets one), whether it has 8-bit
//     octets, and whether every line fits RFC 5322's 998 octets and holds no NUL.
//  2. A message of up to 64 KiB is read once and kept in a reused buffer; a larger one is read
//     twice (measured, then sent), never held whole. Standard input is spooled to an unlinked
//     temporary file when it does not fit the buffer.
//  3. The header section ends at the first empty line, or at the first line that is neither a
//     field nor a continuation. Bcc fields (with their continuation lines) are left out when
//     asked (-t), and the size counts what is sent.
//  4. Address lists are parsed as RFC 5322 3.4 says: display names, comments, quoted strings,
//     angle addresses (with an obsolete route dropped) and groups; what is left of each address
//     is an addr-spec that the SMTP path parser must accept.
// SPDX-License-Identifier: MIT
#pragma once

#include <fcntl.h>     // open, O_RDONLY
#include <sys/stat.h>  // fstat
#include <unistd.h>    // read, write, close, lseek, unlink, getpid

#include <cerrno>   // errno
#include <cstdint>  // uint64_t
#include <cstdio>   // snprintf
#include <cstdlib>  // getenv, mkstemp
#include <cstring>  // strerror, memcpy
#include <ctime>    // time, localtime_r, strftime
#include <random>   // random_device
#include <smtpkit/asio/client.hpp>
#include <smtpkit/codec/base64.hpp>
#include <smtpkit/codec/path.hpp>
#include <string>       // string
#include <string_view>  // string_view
#include <utility>      // pair
#include <vector>       // vector

namespace smtpkit_send {

/// A message that cannot be sent as it is (exit 65), with the reason.
struct bad_message {
  std::string why;
};

/// What the measuring pass found (rule 1).
class scanner {
 public:
  static constexpr std::size_t max_line = 998;           // RFC 5322 2.1.1, without CRLF
  static constexpr std::size_t max_field = 1024 * 1024;  // a kept field's unfolded value

  /// @param strip_bcc leave the Bcc fields out (their octets are not counted).
  explicit scanner(bool strip_bcc) : strip_bcc_(strip_bcc) {}

  /// Measures the next @p n octets of the message.
  void feed(const char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      const char c = p[i];
      if (pending_cr_) {
        pending_cr_ = false;
        if (c == '\n') {
          ++offset_;
          end_line();
          continue;
        }
        end_line();  // a bare CR ends the line (it becomes CRLF)
      }
      if (c == '\r') {
        pending_cr_ = true;
        ++offset_;
        continue;
      }
      if (c == '\n') {
        ++offset_;
        end_line();
        continue;
      }
      ++offset_;
      ++line_len_;
      if (static_cast<unsigned char>(c) >= 0x80) eight_bit_ = true;
      if (c == '\0') nul_ = true;
      if (in_header_ && line_.size() <= max_line) line_.push_back(c);
    }
  }

  /// Ends the message (an unterminated last line counts with CRLF).
  void finish() {
    if (pending_cr_) {
      pending_cr_ = false;
      end_line();
    } else if (line_len_ != 0) {
      end_line();
    }
    close_field();
  }

  /// Returns the size once every line end is CRLF, without the stripped fields.
  std::uint64_t size() const noexcept { return size_; }
  bool eight_bit() const noexcept { return eight_bit_; }
  /// Throws bad_message when a line is too long or holds NUL.
  void check() const {
    if (nul_) throw bad_message{"the message holds a NUL octet"};
    if (long_line_)
      throw bad_message{"line " + std::to_string(long_line_no_) + " is longer than 998 octets " +
                        "(RFC 5322 2.1.1)"};
    if (field_too_long_) throw bad_message{"a header field is longer than 1 MiB"};
  }
  /// The byte ranges [first, second) of the stripped fields, in order.
  const std::vector<std::pair<std::uint64_t, std::uint64_t>>& skipped() const noexcept {
    return skip_;
  }
  /// The unfolded values of the From, To, Cc and Bcc fields (each field in the message adds
  /// one entry).
  const std::vector<std::string>& from() const noexcept { return from_; }
  const std::vector<std::string>& to() const noexcept { return to_; }
  const std::vector<std::string>& cc() const noexcept { return cc_; }
  const std::vector<std::string>& bcc() const noexcept { return bcc_; }

 private:
  enum class field { none, from, to, cc, bcc, other };

  void end_line() {
    const std::uint64_t start = line_start_;
    line_start_ = offset_;
    ++line_no_;
    const std::size_t len = line_len_;
    line_len_ = 0;
    if (len > max_line && !long_line_) {
      long_line_ = true;
      long_line_no_ = line_no_;
    }
    bool stripped = false;
    if (in_header_) {
      stripped = header_line(len);
      line_.clear();
    }
    if (stripped) {
      if (!skip_.empty() && skip_.back().second == start)
        skip_.back().second = offset_;
      else
        skip_.emplace_back(start, offset_);
    } else {
      size_ += len + 2;
    }
  }

  /// Takes one line of the header section; returns true when it is left out (rule 3).
  bool header_line(std::size_t len) {
    if (len == 0) {  // the empty line that ends the header section
      close_field();
      in_header_ = false;
      return false;
    }
    const std::string_view l(line_);
    if (l[0] == ' ' || l[0] == '\t') {
      if (current_ == field::none) {  // a continuation of nothing: the body has begun
        in_header_ = false;
        return false;
      }
      append_value(l);
      return current_ == field::bcc && strip_bcc_;
    }
    const std::size_t colon = l.find(':');
    bool name_ok = colon != std::string_view::npos && colon != 0;
    for (std::size_t i = 0; name_ok && i < colon; ++i)
      name_ok = l[i] > ' ' && l[i] < 0x7F;  // RFC 5322 ftext
    close_field();
    if (!name_ok) {
      in_header_ = false;
      return false;
    }
    const std::string_view name = l.substr(0, colon);
    if (smtpkit::ascii::iequals(name, "from"))
      current_ = field::from;
    else if (smtpkit::ascii::iequals(name, "to"))
      current_ = field::to;
    else if (smtpkit::ascii::iequals(name, "cc"))
      current_ = field::cc;
    else if (smtpkit::ascii::iequals(name, "bcc"))
      current_ = field::bcc;
    else
      current_ = field::other;
    value_.clear();
    append_value(l.substr(colon + 1));
    return current_ == field::bcc && strip_bcc_;
  }

  void append_value(std::string_view v) {
    if (current_ == field::other) return;
    if (value_.size() + v.size() > max_field) {
      field_too_long_ = true;
      return;
    }
    value_.append(v);
  }

  void close_field() {
    switch (current_) {
      case field::from:
        from_.push_back(value_);
        break;
      case field::to:
        to_.push_back(value_);
        break;
      case field::cc:
        cc_.push_back(value_);
        break;
      case field::bcc:
        bcc_.push_back(value_);
        break;
      default:
        break;
    }
    current_ = field::none;
    value_.clear();
  }

  bool strip_bcc_;
  std::uint64_t offset_ = 0;
  std::uint64_t line_start_ = 0;
  std::uint64_t line_no_ = 0;
  std::uint64_t long_line_no_ = 0;
  std::uint64_t size_ = 0;
  std::size_t line_len_ = 0;
  bool pending_cr_ = false;
  bool eight_bit_ = false;
  bool nul_ = false;
  bool long_line_ = false;
  bool field_too_long_ = false;
  bool in_header_ = true;
  std::string line_;  // the current header line
  field current_ = field::none;
  std::string value_;
  std::vector<std::string> from_, to_, cc_, bcc_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> skip_;
};

// --- address lists (rule 4) ----------------------------------------------------------------------

namespace detail {

/// Skips a comment at @p i (which is at its "("), nested comments and quoted pairs included.
inline std::size_t skip_comment(std::string_view s, std::size_t i) {
  int depth = 0;
  for (; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '(') {
      ++depth;
    } else if (s[i] == ')') {
      if (--depth == 0) return i + 1;
    }
  }
  return s.size();
}

/// Returns the end of the quoted string at @p i (which is at its DQUOTE), past the closing one.
inline std::size_t skip_quoted(std::string_view s, std::size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\')
      ++i;
    else if (s[i] == '"')
      return i + 1;
  }
  return s.size();
}

/// Turns the text of one address (between separators) into its addr-spec: what is inside
/// angle brackets (after an obsolete route), or the text without comments and whitespace.
inline std::string addr_spec_of(std::string_view unit) {
  std::string out;
  std::size_t lt = std::string_view::npos;
  for (std::size_t i = 0; i < unit.size();) {
    const char c = unit[i];
    if (c == '"') {
      const std::size_t e = skip_quoted(unit, i);
      if (lt == std::string_view::npos) out.append(unit.substr(i, e - i));
      i = e;
    } else if (c == '(') {
      i = skip_comment(unit, i);
    } else if (c == '<') {
      lt = i;
      break;
    } else {
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') out.push_back(c);
      ++i;
    }
  }
  if (lt == std::string_view::npos) return out;
  // name-addr: the addr-spec inside "<" ... ">".
  out.clear();
  for (std::size_t i = lt + 1; i < unit.size();) {
    const char c = unit[i];
    if (c == '"') {
      const std::size_t e = skip_quoted(unit, i);
      out.append(unit.substr(i, e - i));
      i = e;
    } else if (c == '(') {
      i = skip_comment(unit, i);
    } else if (c == '>') {
      break;
    } else if (c == ':') {  // obs-route "@a,@b:" before the address
      out.clear();
      ++i;
    } else {
      if (c != ' ' && c != '\t') out.push_back(c);
      ++i;
    }
  }
  return out;
}

}  // namespace detail

/// Returns the addr-specs of an RFC 5322 address-list (group names and display names dropped).
inline std::vector<std::string> parse_address_list(std::string_view s) {
  std::vector<std::string> out;
  std::size_t unit_start = 0;
  bool in_angle = false;
  auto take = [&](std::size_t end) {
    std::string a = detail::addr_spec_of(s.substr(unit_start, end - unit_start));
    if (!a.empty()) out.push_back(std::move(a));
    unit_start = end + 1;
  };
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '"') {
      i = detail::skip_quoted(s, i);
      continue;
    }
    if (c == '(') {
      i = detail::skip_comment(s, i);
      continue;
    }
    if (c == '[') {  // a domain literal may hold ":" or ","
      const std::size_t e = s.find(']', i);
      i = e == std::string_view::npos ? s.size() : e + 1;
      continue;
    }
    if (c == '<') in_angle = true;
    if (c == '>') in_angle = false;
    if (!in_angle) {
      if (c == ',' || c == ';') {
        take(i);
      } else if (c == ':') {
        unit_start = i + 1;  // "group-name:" starts a group: the name is no address
      }
    }
    ++i;
  }
  if (unit_start < s.size()) take(s.size());
  return out;
}

/// Returns the address of @p text given on the command line: "a@b", "<a@b>", or "" / "<>" for
/// the null path.
inline std::string strip_angle(std::string_view text) {
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>')
    text = text.substr(1, text.size() - 2);
  return std::string(text);
}

// --- sources (rule 2) ----------------------------------------------------------------------------

/// The 64 KiB a message fits in to be read only once.
inline constexpr std::size_t small_message = 64 * 1024;

/// A message ready to send: measured, its recipients known, its octets streamable.
class prepared_message final : public smtpkit::asio::message_source {
 public:
  prepared_message() = default;
  prepared_message(const prepared_message&) = delete;
  prepared_message& operator=(const prepared_message&) = delete;
  ~prepared_message() override { close_fd(); }

  /// Loads the file at @p path (rule 2); @p buffer is reused between messages. For a
  /// @p regular file a short read is its end (Linux reads a regular file in full), which
  /// saves a read per message in --batch.
  /// Throws bad_message when it cannot be read or fails the checks.
  void load_file(const std::string& path, bool strip_bcc, std::vector<char>& buffer,
                 bool regular = false) {
    reset(strip_bcc);
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw bad_message{"cannot read " + path + ": " + std::strerror(errno)};
    load_fd(path, buffer, regular);
  }

  /// Loads standard input, spooled to an unlinked temporary file when larger than the buffer.
  void load_stdin(bool strip_bcc, std::vector<char>& buffer) {
    reset(strip_bcc);
    struct stat st {};
    if (::fstat(0, &st) == 0 && S_ISREG(st.st_mode) && ::lseek(0, 0, SEEK_CUR) == 0) {
      fd_ = ::dup(0);  // a redirected file: read it twice like any other
      if (fd_ < 0)
        throw bad_message{std::string("cannot read standard input: ") + std::strerror(errno)};
      load_fd("standard input", buffer, false);
      return;
    }
    if (buffer.size() < small_message) buffer.resize(small_message);
    std::size_t len = 0;
    bool eof = false;
    while (!eof && len < buffer.size()) {
      const ssize_t n = ::read(0, buffer.data() + len, buffer.size() - len);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw bad_message{std::string("cannot read standard input: ") + std::strerror(errno)};
      }
      if (n == 0) eof = true;
      len += static_cast<std::size_t>(n);
    }
    if (eof) {
      memory_ = std::string_view(buffer.data(), len);
      scan_.feed(buffer.data(), len);
      scan_.finish();
      scan_.check();
      return;
    }
    // Larger than the buffer: spool it (measured on the way), then send from the spool.
    const char* dir = std::getenv("TMPDIR");
    std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/smtpkit-send.XXXXXX";
    fd_ = ::mkstemp(tmpl.data());
    if (fd_ < 0)
      throw spool_error{"cannot create a temporary file in " + tmpl + ": " + std::strerror(errno)};
    ::unlink(tmpl.c_str());
    for (;;) {
      scan_.feed(buffer.data(), len);
      if (!write_all(fd_, buffer.data(), len))
        throw spool_error{std::string("cannot spool standard input: ") + std::strerror(errno)};
      if (eof) break;
      len = 0;
      const ssize_t n = ::read(0, buffer.data(), buffer.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        throw bad_message{std::string("cannot read standard input: ") + std::strerror(errno)};
      }
      if (n == 0) eof = true;
      len = static_cast<std::size_t>(n);
    }
    scan_.finish();
    scan_.check();
    if (::lseek(fd_, 0, SEEK_SET) != 0)
      throw spool_error{std::string("cannot read the spool: ") + std::strerror(errno)};
  }

  /// Uses @p text, held by the caller until the message is sent.
  void load_memory(std::string_view text, bool strip_bcc) {
    reset(strip_bcc);
    memory_ = text;
    scan_.feed(text.data(), text.size());
    scan_.finish();
    scan_.check();
  }

  const scanner& scan() const noexcept { return scan_; }

  /// Streams the message from its start, leaving out the stripped fields.
  std::size_t read(char* buf, std::size_t n, std::error_code& ec) override {
    const auto& skip = scan_.skipped();
    for (;;) {
      while (skip_i_ < skip.size() && pos_ >= skip[skip_i_].second) ++skip_i_;
      std::uint64_t limit = UINT64_MAX;
      if (skip_i_ < skip.size()) {
        if (pos_ >= skip[skip_i_].first) {
          if (!seek(skip[skip_i_].second, ec)) return 0;
          continue;
        }
        limit = skip[skip_i_].first - pos_;
      }
      if (limit < n) n = static_cast<std::size_t>(limit);
      std::size_t got = 0;
      if (fd_ < 0) {
        const std::uint64_t left = memory_.size() - pos_;
        got = left < n ? static_cast<std::size_t>(left) : n;
        std::memcpy(buf, memory_.data() + pos_, got);
      } else {
        for (;;) {
          const ssize_t r = ::read(fd_, buf, n);
          if (r < 0 && errno == EINTR) continue;
          if (r < 0) {
            ec = std::error_code(errno, std::generic_category());
            return 0;
          }
          got = static_cast<std::size_t>(r);
          break;
        }
      }
      pos_ += got;
      return got;
    }
  }

  /// Standard input could not be spooled (exit 75: a temporary local failure).
  struct spool_error {
    std::string why;
  };

 private:
  void reset(bool strip_bcc) {
    close_fd();
    scan_ = scanner(strip_bcc);
    memory_ = {};
    pos_ = 0;
    skip_i_ = 0;
  }
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  /// Reads fd_ into @p buffer; keeps it there when it all fits, else measures it all and
  /// rewinds (rule 2).
  void load_fd(const std::string& name, std::vector<char>& buffer, bool regular) {
    if (buffer.size() < small_message) buffer.resize(small_message);
    std::size_t len = 0;
    bool eof = false;
    while (!eof && len < buffer.size()) {
      const ssize_t n = ::read(fd_, buffer.data() + len, buffer.size() - len);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw bad_message{"cannot read " + name + ": " + std::strerror(errno)};
      }
      if (n == 0 || (regular && static_cast<std::size_t>(n) < buffer.size() - len)) eof = true;
      len += static_cast<std::size_t>(n);
    }
    scan_.feed(buffer.data(), len);
    if (eof) {
      close_fd();
      memory_ = std::string_view(buffer.data(), len);
    } else {
      for (;;) {
        const ssize_t n = ::read(fd_, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw bad_message{"cannot read " + name + ": " + std::strerror(errno)};
        if (n == 0) break;
        scan_.feed(buffer.data(), static_cast<std::size_t>(n));
      }
      if (::lseek(fd_, 0, SEEK_SET) != 0)
        throw bad_message{"cannot read " + name + " again: " + std::strerror(errno)};
    }
    scan_.finish();
    scan_.check();
  }

  bool seek(std::uint64_t to, std::error_code& ec) {
    if (fd_ >= 0 && ::lseek(fd_, static_cast<off_t>(to), SEEK_SET) < 0) {
      ec = std::error_code(errno, std::generic_category());
      return false;
    }
    pos_ = to;
    return true;
  }

  static bool write_all(int fd, const char* p, std::size_t n) {
    while (n != 0) {
      const ssize_t w = ::write(fd, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }

  scanner scan_{false};
  int fd_ = -1;
  std::string_view memory_;
  std::uint64_t pos_ = 0;
  std::size_t skip_i_ = 0;
};

// --- composing (--subject, --body) ---------------------------------------------------------------

/// Returns @p s as a Subject value: as it is when printable ASCII, else RFC 2047 encoded words
/// (UTF-8, base64) folded so that no line passes 78 octets.
inline std::string encode_subject(std::string_view s) {
  bool ascii = true;
  for (char c : s) ascii &= c >= ' ' && c < 0x7F;
  if (ascii) return std::string(s);
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    // 45 octets make 60 base64 characters: "=?UTF-8?B?" + 60 + "?=" is 72.
    std::size_t n = s.size() - i < 45 ? s.size() - i : 45;
    while (n > 1 && i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80)
      --n;  // never split a UTF-8 sequence
    char b64[64];
    const auto enc = smtpkit::encode_base64(s.substr(i, n), b64, sizeof b64);
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?";
    out += *enc;
    out += "?=";
    i += n;
  }
  return out;
}

/// Composes a message (From, To, Subject, Date, Message-ID, and MIME fields for an 8-bit body).
/// Throws bad_message when the subject holds a line break.
inline std::string compose(const std::string& from, const std::vector<std::string>& to,
                           std::string_view subject, std::string_view body,
                           std::string_view id_domain) {
  for (char c : subject)
    if (c == '\r' || c == '\n' || c == '\0')
      throw bad_message{"--subject holds a line break or NUL"};
  std::string m;
  m += "From: " + (from.empty() ? std::string("<>") : from) + "\r\n";
  m += "To: ";
  for (std::size_t i = 0; i < to.size(); ++i) {
    if (i != 0) m += ",\r\n ";
    m += to[i];
  }
  m += "\r\nSubject: " + encode_subject(subject) + "\r\n";
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
  m += "Date: ";
  m += date;
  m += "\r\n";
  std::random_device rd;
  char id[128];
  std::snprintf(id, sizeof id, "<%lld.%ld.%08x%08x@", static_cast<long long>(now),
                static_cast<long>(::getpid()), rd(), rd());
  m += "Message-ID: ";
  m += id;
  m += id_domain;
  m += ">\r\n";
  bool eight_bit = false;
  for (char c : body) eight_bit |= static_cast<unsigned char>(c) >= 0x80;
  if (eight_bit)
    m += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
         "Content-Transfer-Encoding: 8bit\r\n";
  m += "\r\n";
  m += body;
  if (!body.empty() && body.back() != '\n') m += "\r\n";
  return m;
}

}  // namespace smtpkit_send
