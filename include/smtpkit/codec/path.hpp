// smtpkit codec: mailboxes, domains, address literals and the reverse- and forward-paths of
// MAIL and RCPT. RFC 5321 4.1.2 (Path, Mailbox, Local-part, Domain), 4.1.3 (address
// literals), 4.5.3.1.1-3 (size limits); RFC 6531 3.3 (UTF-8 in local-parts and domains).
//
// Rules:
//  1. Parsed values are views into the caller's input: nothing is copied, nothing allocates.
//     host, mailbox, reverse_path and forward_path can only be made by a parser or a checked
//     factory, so each holds text the parser accepts and a writer can emit it unchecked.
//  2. Strict RFC 5321 grammar. A local-part is a Dot-string or a Quoted-string; a domain is
//     sub-domains of Let-dig [Ldh-str] (at most 63 octets each, RFC 1035 2.3.4), or an address
//     literal: IPv4, IPv6 in the four forms of 4.1.3, or a tagged General-address-literal.
//  3. UTF-8 (RFC 6531) is accepted in atoms, quoted-strings and domain labels when it is well
//     formed (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). The value
//     says so (utf8()), so that a server can require the SMTPUTF8 parameter.
//  4. Lengths are checked against limits: local-part (errc::local_part_too_long), domain
//     (errc::domain_too_long) and path, angle brackets included (errc::path_too_long). A
//     local-part is measured as sent (quotes and backslashes included).
//  5. A source route (A-d-l, "<@a,@b:user@c>") is checked (ASCII domains only) and dropped,
//     as RFC 5321 4.1.2 and appendix C ask; it counts towards the path limit.
//  6. Values compare equal when their wire forms are byte-for-byte equal.
//  7. Speed: common input is accepted by fast paths that classify up to 64 octets at once
//     (SSE2 where the target has it; SMTPKIT_NO_SIMD selects the portable code). A fast path
//     only accepts; everything else goes to the scalar scanners, which are the grammar. The
//     tests run both on random input and require the same answer.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                              // size_t
#include <cstdint>                              // uint16_t, uint32_t, uint64_t
#include <cstring>                              // memcpy
#include <smtpkit/codec/detail/char_class.hpp>  // cls, cc_*, no_error
#include <smtpkit/codec/detail/ip_literal.hpp>  // is_ipv4_literal, is_ipv6_addr
#include <smtpkit/codec/detail/load.hpp>        // load_le32, tag32, lower32
#include <smtpkit/codec/detail/utf8.hpp>        // utf8_length
#include <smtpkit/codec/detail/window.hpp>      // make_window, window_run
#include <smtpkit/core/buffer.hpp>              // byte_writer
#include <smtpkit/core/bytes.hpp>               // ascii::iequals
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>   // errc, make_error_code
#include <smtpkit/core/limits.hpp>  // limits
#include <smtpkit/core/result.hpp>  // result
#include <string_view>              // string_view
#include <system_error>             // error_code

SMTPKIT_NAMESPACE_BEGIN

/// What the domain part of a mailbox (or a HELO/EHLO argument) is.
enum class host_kind : unsigned char {
  domain = 0,   ///< a Domain: "mail.example.com" (U-labels allowed, see host::utf8())
  ipv4 = 1,     ///< "[192.0.2.1]"
  ipv6 = 2,     ///< "[IPv6:2001:db8::1]"
  general = 3,  ///< "[tag:content]", a General-address-literal
};

namespace detail {

/// Returns true when the "." bits @p dots (of a run of @p n > 0 octets) make atoms or labels:
/// no "." first, last, or next to another "."; nor, with the "-" bits @p hyphens, a "-" at
/// the start or end of a label.
constexpr bool well_dotted(std::uint64_t dots, std::uint64_t hyphens, unsigned n) noexcept {
  const std::uint64_t edges = dots | hyphens;
  return ((edges & 1u) | ((edges >> (n - 1)) & 1u) | (dots & (dots >> 1)) |
          (hyphens & (dots << 1)) | (hyphens & (dots >> 1))) == 0;
}

/// Scans a Dot-string local-part (atoms of atext or UTF-8 separated by single dots).
/// On success @p p is past it. Stops at the first octet that cannot continue it.
inline errc scan_dot_string(const char*& p, const char* begin, const char* end, bool& utf8,
                            bool fast = true) noexcept {
  if (fast && p < end) {
    // Fast path: a Dot-string of ALPHA / DIGIT / . - _ + followed by "@".
    const window w = make_window<window_kind::local>(p, begin, end);
    const int run = window_run(w.m0, w.size, p, end);
    if (run > 0 && p + run < end && p[run] == '@' &&
        well_dotted(w.m1 & low_bits(static_cast<unsigned>(run)), 0, static_cast<unsigned>(run))) {
      p += run;
      return no_error;
    }
  }
  const char* q = p;  // a local copy stays in a register
  for (;;) {
    const char* const atom = q;
    for (;;) {
      while (q < end && (cls(*q) & cc_atext)) ++q;
      if (q == end || !(cls(*q) & cc_high)) break;
      const std::size_t n = utf8_length(q, end);
      if (n == 0) {
        p = q;
        return errc::bad_utf8;
      }
      q += n;
      utf8 = true;
    }
    if (q == atom) {
      p = q;
      return errc::bad_local_part;
    }
    if (q == end || *q != '.') {
      p = q;
      return no_error;
    }
    ++q;
  }
}

/// Scans a Quoted-string at @p p (which is at its DQUOTE). On success @p p is past the closing
/// DQUOTE.
inline errc scan_quoted_string(const char*& p, const char* end, bool& utf8) noexcept {
  const char* q = p + 1;
  errc e = errc::bad_local_part;
  while (q < end) {
    const char c = *q;
    const std::uint16_t k = cls(c);
    if (k & cc_qtext) {
      ++q;
    } else if (c == '"') {
      ++q;
      e = no_error;
      break;
    } else if (c == '\\') {
      if (end - q < 2 || !(cls(q[1]) & cc_pair)) break;
      q += 2;
    } else if (k & cc_high) {
      const std::size_t n = utf8_length(q, end);
      if (n == 0) {
        e = errc::bad_utf8;
        break;
      }
      q += n;
      utf8 = true;
    } else {
      break;
    }
  }
  p = q;
  return e;
}

/// Scans a Local-part (Dot-string / Quoted-string).
inline errc scan_local_part(const char*& p, const char* begin, const char* end, bool& quoted,
                            bool& utf8, bool fast = true) noexcept {
  if (p < end && *p == '"') {
    quoted = true;
    return scan_quoted_string(p, end, utf8);
  }
  quoted = false;
  return scan_dot_string(p, begin, end, utf8, fast);
}

/// Scans a Domain: sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str] or, when
/// @p allow_utf8, a label with UTF-8 (RFC 6531 U-label; hyphen rules as for ASCII). ASCII
/// labels are at most 63 octets. Stops at the first octet that cannot continue it.
inline errc scan_domain_name(const char*& p, const char* begin, const char* end, bool allow_utf8,
                             bool& utf8, bool fast = true) noexcept {
  if (fast && p < end) {
    // Fast path: ASCII labels, not followed by UTF-8, checked with the window's bits.
    const window w = make_window<window_kind::domain>(p, begin, end);
    const int run = window_run(w.m0, w.size, p, end);
    if (run > 0 && (p + run == end || !(cls(p[run]) & cc_high))) {
      const auto n = static_cast<unsigned>(run);
      if (well_dotted(w.m1 & low_bits(n), w.m2 & low_bits(n), n)) {
        p += run;
        return no_error;
      }
    }
  }
  const char* q = p;  // a local copy stays in a register
  errc e = errc::bad_domain;
  for (;;) {
    const char* const label = q;
    bool ascii = true;
    if (q == end || *q == '-') break;
    for (;;) {
      while (q < end && (cls(*q) & cc_ldh)) ++q;
      if (q == end || !allow_utf8 || !(cls(*q) & cc_high)) break;
      const std::size_t n = utf8_length(q, end);
      if (n == 0) {
        p = q;
        return errc::bad_utf8;
      }
      q += n;
      ascii = false;
    }
    if (q == label || q[-1] == '-') break;
    if (!ascii) {
      utf8 = true;
    } else if (q - label > 63) {
      break;
    }
    if (q == end || *q != '.') {
      e = no_error;
      break;
    }
    ++q;
  }
  p = q;
  return e;
}

/// Returns true when @p s is an Ldh-str: *( ALPHA / DIGIT / "-" ) Let-dig.
constexpr bool is_ldh_str(std::string_view s) noexcept {
  if (s.empty() || !(cls(s.back()) & cc_let_dig)) return false;
  for (char c : s)
    if (!(cls(c) & cc_ldh)) return false;
  return true;
}

/// Scans an address-literal at @p p (which is at its "["). On success @p p is past the "]".
inline errc scan_address_literal(const char*& p, const char* end, host_kind& kind) noexcept {
  const char* const s = p + 1;
  const char* q = s;
  while (q < end && (cls(*q) & cc_dcontent)) ++q;
  if (q == end || *q != ']' || q == s) return errc::bad_address_literal;
  const std::string_view content(s, static_cast<std::size_t>(q - s));
  const std::size_t colon = content.find(':');
  if (colon == std::string_view::npos) {
    if (!is_ipv4_literal(content)) return errc::bad_address_literal;
    kind = host_kind::ipv4;
  } else {
    const std::string_view tag = content.substr(0, colon);
    if (ascii::iequals(tag, "IPv6")) {
      if (!is_ipv6_addr(content.substr(colon + 1))) return errc::bad_address_literal;
      kind = host_kind::ipv6;
    } else {
      // General-address-literal = Standardized-tag ":" 1*dcontent; the content was scanned.
      if (!is_ldh_str(tag) || colon + 1 == content.size()) return errc::bad_address_literal;
      kind = host_kind::general;
    }
  }
  p = q + 1;
  return no_error;
}

/// Scans a Domain or an address-literal.
inline errc scan_host(const char*& p, const char* begin, const char* end, host_kind& kind,
                      bool& utf8, bool fast = true) noexcept {
  if (p < end && *p == '[') return scan_address_literal(p, end, kind);
  kind = host_kind::domain;
  return scan_domain_name(p, begin, end, true, utf8, fast);
}

struct path_access;

/// The largest size a view in a parsed value can have (sizes are stored in 16 bits, which
/// keeps a parsed command small enough to be returned without a block copy).
inline constexpr std::size_t max_view_size = 0xFFFF;

}  // namespace detail

/// A validated Domain or address literal: the argument of HELO/EHLO/LHLO and the part of a
/// mailbox after "@". Made by parse_host() or a path parser only.
/// @warning Holds a view: valid while the parsed text lives.
class host {
 public:
  /// Makes an empty host (which no writer accepts).
  constexpr host() noexcept = default;

  /// Returns the host as sent: "mail.example.com", "[192.0.2.1]", "[IPv6:::1]".
  constexpr std::string_view text() const noexcept { return {data_, size_}; }
  /// Returns which grammar the host matched.
  constexpr host_kind kind() const noexcept { return kind_; }
  /// Returns true when a label holds UTF-8 (a U-label; needs SMTPUTF8).
  constexpr bool utf8() const noexcept { return utf8_; }
  /// Returns true for "[...]" address literals.
  constexpr bool is_address_literal() const noexcept { return kind_ != host_kind::domain; }
  /// Returns true for a default-constructed host.
  constexpr bool empty() const noexcept { return size_ == 0; }
  /// Returns the address inside an address literal without the brackets, and without the
  /// "IPv6:" tag: "192.0.2.1", "2001:db8::1", "x-tag:content". Returns text() for a domain.
  constexpr std::string_view address() const noexcept {
    switch (kind_) {
      case host_kind::domain:
        return text();
      case host_kind::ipv6:
        return text().substr(6, size_ - 7u);
      case host_kind::ipv4:
      case host_kind::general:
        break;
    }
    return text().substr(1, size_ - 2u);
  }

  friend constexpr bool operator==(const host& a, const host& b) noexcept {
    return a.text() == b.text();
  }
  friend constexpr bool operator!=(const host& a, const host& b) noexcept { return !(a == b); }

 private:
  friend struct detail::path_access;
  friend class mailbox;

  const char* data_ = nullptr;
  std::uint16_t size_ = 0;
  host_kind kind_ = host_kind::domain;
  bool utf8_ = false;
};

/// A validated Mailbox (RFC 5321 4.1.2): Local-part "@" ( Domain / address-literal ). Made by
/// parse_mailbox(), make_mailbox() or a path parser only.
/// @warning Holds views: valid while the parsed text lives.
class mailbox {
 public:
  /// Makes an empty mailbox (the one inside a null reverse-path).
  constexpr mailbox() noexcept = default;

  /// Returns the local-part as sent: a Dot-string, or a Quoted-string with its quotes and
  /// backslashes (see quoted(); unquote_local_part() gives its content). Case-sensitive.
  constexpr std::string_view local_part() const noexcept { return {local_, local_size_}; }
  /// Returns the domain or address literal as sent ("example.com", "[192.0.2.1]").
  constexpr std::string_view domain() const noexcept { return {domain_, domain_size_}; }
  /// Returns the domain as a host (kind(), address()).
  constexpr host domain_host() const noexcept {
    host h;
    h.data_ = domain_;
    h.size_ = domain_size_;
    h.kind_ = kind_;
    h.utf8_ = (flags_ & domain_utf8_flag) != 0;
    return h;
  }
  /// Returns which grammar the domain matched.
  constexpr host_kind domain_kind() const noexcept { return kind_; }
  /// Returns true when the local-part is a Quoted-string.
  constexpr bool quoted() const noexcept { return (flags_ & quoted_flag) != 0; }
  /// Returns true when the local-part or the domain holds UTF-8 (RFC 6531; needs SMTPUTF8).
  constexpr bool utf8() const noexcept {
    return (flags_ & (local_utf8_flag | domain_utf8_flag)) != 0;
  }
  /// Returns true for a default-constructed mailbox.
  constexpr bool empty() const noexcept { return local_size_ == 0; }
  /// Returns the octets local-part "@" domain takes on the wire.
  constexpr std::size_t size() const noexcept {
    return std::size_t{local_size_} + (domain_size_ == 0 ? 0u : 1u + domain_size_);
  }

  friend constexpr bool operator==(const mailbox& a, const mailbox& b) noexcept {
    return a.local_part() == b.local_part() && a.domain() == b.domain();
  }
  friend constexpr bool operator!=(const mailbox& a, const mailbox& b) noexcept {
    return !(a == b);
  }

 private:
  friend struct detail::path_access;
  friend class forward_path;
  static constexpr std::uint8_t quoted_flag = 1;
  static constexpr std::uint8_t local_utf8_flag = 2;
  static constexpr std::uint8_t domain_utf8_flag = 4;
  static constexpr std::uint8_t postmaster_flag = 8;  // used by forward_path only

  const char* local_ = nullptr;
  const char* domain_ = nullptr;
  std::uint16_t local_size_ = 0;
  std::uint16_t domain_size_ = 0;
  host_kind kind_ = host_kind::domain;
  std::uint8_t flags_ = 0;
};

/// A reverse-path (RFC 5321 4.1.2): "<" Mailbox ">" or the null path "<>".
/// @warning Holds views: valid while the parsed text lives.
class reverse_path {
 public:
  /// Makes the null reverse-path "<>".
  constexpr reverse_path() noexcept = default;
  /// Makes the path "<m>"; an empty @p m makes the null path.
  constexpr explicit reverse_path(const mailbox& m) noexcept : box_(m) {}

  /// Returns true for the null reverse-path "<>" (bounces, RFC 5321 4.5.5).
  constexpr bool is_null() const noexcept { return box_.empty(); }
  /// Returns the mailbox; empty for the null path.
  constexpr const mailbox& address() const noexcept { return box_; }

  friend constexpr bool operator==(const reverse_path& a, const reverse_path& b) noexcept {
    return a.box_ == b.box_;
  }
  friend constexpr bool operator!=(const reverse_path& a, const reverse_path& b) noexcept {
    return !(a == b);
  }

 private:
  friend struct detail::path_access;
  mailbox box_;
};

/// A forward-path (RFC 5321 4.1.2): "<" Mailbox ">", or "<Postmaster>" (any case), which RCPT
/// accepts without a domain (RFC 5321 4.1.1.3, 4.5.1).
/// @warning Holds views: valid while the parsed text lives.
class forward_path {
 public:
  /// Makes an empty forward-path (which no writer accepts).
  constexpr forward_path() noexcept = default;
  /// Makes the path "<m>".
  constexpr explicit forward_path(const mailbox& m) noexcept : box_(m) {
    box_.flags_ = static_cast<std::uint8_t>(box_.flags_ & ~mailbox::postmaster_flag);
  }

  /// Returns the path "<Postmaster>".
  static constexpr forward_path postmaster() noexcept {
    forward_path f;
    f.box_.local_ = "Postmaster";
    f.box_.local_size_ = 10;
    f.box_.flags_ = mailbox::postmaster_flag;
    return f;
  }

  /// Returns true for "<Postmaster>" without a domain. "<Postmaster@domain>" is an ordinary
  /// mailbox (compare its local-part to see it).
  constexpr bool is_postmaster() const noexcept {
    return (box_.flags_ & mailbox::postmaster_flag) != 0;
  }
  /// Returns the mailbox. For "<Postmaster>", local_part() is the word as sent and domain()
  /// is empty.
  constexpr const mailbox& address() const noexcept { return box_; }
  /// Returns true for a default-constructed path.
  constexpr bool empty() const noexcept { return box_.empty(); }

  friend constexpr bool operator==(const forward_path& a, const forward_path& b) noexcept {
    return a.box_ == b.box_ && a.is_postmaster() == b.is_postmaster();
  }
  friend constexpr bool operator!=(const forward_path& a, const forward_path& b) noexcept {
    return !(a == b);
  }

 private:
  friend struct detail::path_access;
  mailbox box_;
};

namespace detail {

/// Which special forms a path may take.
enum class path_mode : unsigned char {
  reverse,  ///< "<>" allowed
  forward,  ///< "<Postmaster>" allowed
  plain,    ///< neither
};

/// Builds the validated types; the only way besides their public constructors.
struct path_access {
  static constexpr host make_host(const char* data, std::size_t size, host_kind kind,
                                  bool utf8) noexcept {
    host h;
    h.data_ = data;
    h.size_ = static_cast<std::uint16_t>(size);
    h.kind_ = kind;
    h.utf8_ = utf8;
    return h;
  }
  static constexpr void set_local(mailbox& m, const char* data, std::size_t size, bool quoted,
                                  bool utf8) noexcept {
    m.local_ = data;
    m.local_size_ = static_cast<std::uint16_t>(size);
    m.flags_ = static_cast<std::uint8_t>((quoted ? mailbox::quoted_flag : 0u) |
                                         (utf8 ? mailbox::local_utf8_flag : 0u));
  }
  static constexpr void set_domain(mailbox& m, const char* data, std::size_t size, host_kind kind,
                                   bool utf8) noexcept {
    m.domain_ = data;
    m.domain_size_ = static_cast<std::uint16_t>(size);
    m.kind_ = kind;
    if (utf8) m.flags_ = static_cast<std::uint8_t>(m.flags_ | mailbox::domain_utf8_flag);
  }
  static constexpr void set_domain(mailbox& m, const host& h) noexcept {
    set_domain(m, h.data_, h.size_, h.kind_, h.utf8_);
  }
  static constexpr void set_postmaster(mailbox& m) noexcept {
    m.flags_ = static_cast<std::uint8_t>(m.flags_ | mailbox::postmaster_flag);
  }
  static inline errc parse_host(std::string_view text, const limits& lim, host& out) noexcept;
  static inline errc parse_path(std::string_view text, const limits& lim, path_mode mode,
                                mailbox& out) noexcept;
  static constexpr mailbox& box(reverse_path& r) noexcept { return r.box_; }
  static constexpr mailbox& box(forward_path& f) noexcept { return f.box_; }
  static constexpr forward_path make_forward(const mailbox& m) noexcept {
    forward_path f;
    f.box_ = m;
    return f;
  }
};

/// Scans local-part "@" host at @p p and checks the local-part and domain limits. On success
/// @p p is past the host. Error precedence: grammar first, then local-part, then domain size.
inline errc scan_mailbox(const char*& p, const char* begin, const char* end, const limits& lim,
                         mailbox& out, bool fast = true) noexcept {
  const char* const local = p;
  bool quoted = false;
  bool local_utf8 = false;
  errc e = scan_local_part(p, begin, end, quoted, local_utf8, fast);
  if (e != no_error) return e;
  const auto local_size = static_cast<std::size_t>(p - local);
  if (p == end || *p != '@') return (p == end || *p == '>') ? errc::bad_path : errc::bad_local_part;
  if (local_size > lim.local_part || local_size > max_view_size) return errc::local_part_too_long;
  ++p;
  const char* const dom = p;
  host_kind kind = host_kind::domain;
  bool dom_utf8 = false;
  e = scan_host(p, begin, end, kind, dom_utf8, fast);
  if (e != no_error) return e;
  const auto dom_size = static_cast<std::size_t>(p - dom);
  if (dom_size > lim.domain || dom_size > max_view_size) return errc::domain_too_long;
  path_access::set_local(out, local, local_size, quoted, local_utf8);
  path_access::set_domain(out, dom, dom_size, kind, dom_utf8);
  return no_error;
}

/// Scans a Path (or "<>" / "<Postmaster>" as @p mode allows) at @p p and checks every limit.
/// On success @p p is past the ">" and @p out holds the mailbox (empty for "<>"; with the
/// postmaster flag for "<Postmaster>").
inline errc scan_path(const char*& p, const char* begin, const char* end, const limits& lim,
                      path_mode mode, mailbox& out, bool fast = true) noexcept {
  const char* const start = p;
  if (p == end || *p != '<') return errc::bad_path;
  ++p;
  if (p == end) return errc::bad_path;
  if (*p == '>') {
    if (mode != path_mode::reverse) return errc::bad_path;
    ++p;
    return no_error;
  }
  if (mode == path_mode::forward && end - p >= 11 && p[10] == '>' &&
      ascii::iequals(std::string_view(p, 10), "postmaster")) {
    path_access::set_local(out, p, 10, false, false);
    path_access::set_postmaster(out);
    p += 11;
    return no_error;
  }
  if (fast && *p != '@') {
    // Fast path: "<" local "@" domain ">" of the usual octets, checked from one window.
    const window w = make_window<window_kind::path>(p, begin, end);
    const unsigned gt = ctz64(w.m5);  // the ">" (64 when none in the window)
    const unsigned at = ctz64(w.m4);  // the first "@"
    if (gt < 64 && at != 0 && at + 1 < gt) {
      const std::uint64_t alnum = w.m0;
      const std::uint64_t dots = w.m1;
      const std::uint64_t hyphens = w.m2;
      const std::uint64_t local = low_bits(at);
      const std::uint64_t domain = low_bits(gt) & ~low_bits(at + 1);
      const unsigned dom_size = gt - at - 1;
      if (((alnum | dots | hyphens | w.m3) & local) == local &&
          ((alnum | dots | hyphens) & domain) == domain && well_dotted(dots & local, 0, at) &&
          well_dotted((dots & domain) >> (at + 1), (hyphens & domain) >> (at + 1), dom_size) &&
          at <= lim.local_part && dom_size <= lim.domain && gt + 2 <= lim.path) {
        path_access::set_local(out, p, at, false, false);
        path_access::set_domain(out, p + at + 1, dom_size, host_kind::domain, false);
        p += gt + 1;
        return no_error;
      }
    }
  } else if (*p == '@') {
    // A-d-l = At-domain *( "," At-domain ); At-domain = "@" Domain. Checked, then dropped.
    for (;;) {
      ++p;
      bool ignored = false;
      const errc e = scan_domain_name(p, begin, end, false, ignored, fast);
      if (e != no_error) return e;
      if (p == end) return errc::bad_path;
      if (*p == ',') {
        ++p;
        if (p == end || *p != '@') return errc::bad_path;
        continue;
      }
      if (*p != ':') return errc::bad_path;
      ++p;
      break;
    }
  }
  const errc e = scan_mailbox(p, begin, end, lim, out, fast);
  if (e != no_error) return e;
  if (p == end || *p != '>') return p == end ? errc::bad_path : errc::bad_domain;
  ++p;
  if (static_cast<std::size_t>(p - start) > lim.path) return errc::path_too_long;
  return no_error;
}

/// Makes the error of a whole-string parse that stopped early.
constexpr errc trailing_error(host_kind kind) noexcept {
  return kind == host_kind::domain ? errc::bad_domain : errc::bad_address_literal;
}

/// Parses the whole of @p text as a host into @p out.
inline errc path_access::parse_host(std::string_view text, const limits& lim, host& out) noexcept {
  const char* p = text.data();
  const char* const end = p + text.size();
  bool utf8 = false;
  const errc e = scan_host(p, text.data(), end, out.kind_, utf8);
  if (e != no_error) return e;
  if (p != end) return trailing_error(out.kind_);
  if (text.size() > lim.domain || text.size() > max_view_size) return errc::domain_too_long;
  out.data_ = text.data();
  out.size_ = static_cast<std::uint16_t>(text.size());
  out.utf8_ = utf8;
  return no_error;
}

/// Parses the whole of @p text as a path into @p out.
inline errc path_access::parse_path(std::string_view text, const limits& lim, path_mode mode,
                                    mailbox& out) noexcept {
  const char* p = text.data();
  const char* const end = p + text.size();
  const errc e = scan_path(p, text.data(), end, lim, mode, out);
  if (e != no_error) return e;
  return p == end ? no_error : errc::bad_path;
}

}  // namespace detail

/// Parses @p text, the whole of it, as a Domain or an address-literal (RFC 5321 4.1.2, 4.1.3):
/// a HELO/EHLO argument or the part of a mailbox after "@".
/// @param text the host as sent, e.g. "mail.example.com" or "[IPv6:2001:db8::1]".
/// @param lim limits.domain bounds its size.
/// @return the host, or errc::bad_domain, errc::bad_address_literal, errc::bad_utf8,
///         errc::domain_too_long (501 in a command).
/// @warning The result views @p text.
inline result<host> parse_host(std::string_view text, const limits& lim = limits{}) noexcept {
  // Built in place (one named result): copying a value assembled from narrow stores stalls
  // store forwarding.
  result<host> r{host()};
  const errc e = detail::path_access::parse_host(text, lim, r.value());
  if (e != detail::no_error) r = e;
  return r;
}

/// Parses @p text, the whole of it, as a Mailbox: Local-part "@" ( Domain / address-literal ),
/// without angle brackets.
/// @param lim bounds the local-part, the domain, and the path "<" mailbox ">" it would make.
/// @return the mailbox, or errc::bad_path (no "@"), errc::bad_local_part, errc::bad_domain,
///         errc::bad_address_literal, errc::bad_utf8, errc::local_part_too_long,
///         errc::domain_too_long, errc::path_too_long.
/// @warning The result views @p text.
inline result<mailbox> parse_mailbox(std::string_view text, const limits& lim = limits{}) noexcept {
  result<mailbox> r{mailbox()};
  const char* p = text.data();
  const char* const end = p + text.size();
  errc e = detail::scan_mailbox(p, text.data(), end, lim, r.value());
  if (e == detail::no_error && p != end) e = detail::trailing_error(r.value().domain_kind());
  if (e == detail::no_error && text.size() + 2 > lim.path) e = errc::path_too_long;
  if (e != detail::no_error) r = e;
  return r;
}

/// Makes a mailbox from a local-part in its wire form (a Dot-string, or a Quoted-string with
/// its quotes; quote_local_part() makes one from any text) and a domain or address literal.
/// @return the mailbox, or the errors of parse_local_part/parse_host: errc::bad_local_part,
///         errc::bad_utf8, errc::bad_domain, errc::bad_address_literal,
///         errc::local_part_too_long, errc::domain_too_long, errc::path_too_long.
/// @warning The result views @p local_part and @p domain.
inline result<mailbox> make_mailbox(std::string_view local_part, std::string_view domain,
                                    const limits& lim = limits{}) noexcept {
  const char* p = local_part.data();
  const char* const end = p + local_part.size();
  bool quoted = false;
  bool utf8 = false;
  const errc e = detail::scan_local_part(p, local_part.data(), end, quoted, utf8);
  if (e != detail::no_error) return e;
  if (p != end) return errc::bad_local_part;
  if (local_part.size() > lim.local_part || local_part.size() > detail::max_view_size)
    return errc::local_part_too_long;
  host h;
  const errc d = detail::path_access::parse_host(domain, lim, h);
  if (d != detail::no_error) return d;
  if (local_part.size() + domain.size() + 3 > lim.path) return errc::path_too_long;
  result<mailbox> r{mailbox()};
  detail::path_access::set_local(r.value(), local_part.data(), local_part.size(), quoted, utf8);
  detail::path_access::set_domain(r.value(), h);
  return r;
}

/// Parses @p text, the whole of it, as a Reverse-path: Path / "<>" (RFC 5321 4.1.2). A source
/// route is checked and dropped.
/// @return the path, or errc::bad_path, errc::bad_local_part, errc::bad_domain,
///         errc::bad_address_literal, errc::bad_utf8, errc::local_part_too_long,
///         errc::domain_too_long, errc::path_too_long (all 501 in MAIL).
/// @warning The result views @p text.
inline result<reverse_path> parse_reverse_path(std::string_view text,
                                               const limits& lim = limits{}) noexcept {
  result<reverse_path> r{reverse_path()};
  const errc e = detail::path_access::parse_path(text, lim, detail::path_mode::reverse,
                                                 detail::path_access::box(r.value()));
  if (e != detail::no_error) r = e;
  return r;
}

/// Parses @p text, the whole of it, as a Forward-path, or "<Postmaster>" in any case
/// (RFC 5321 4.1.1.3). A source route is checked and dropped.
/// @return the path, or the errors of parse_reverse_path() ("<>" is errc::bad_path).
/// @warning The result views @p text.
inline result<forward_path> parse_forward_path(std::string_view text,
                                               const limits& lim = limits{}) noexcept {
  result<forward_path> r{forward_path()};
  const errc e = detail::path_access::parse_path(text, lim, detail::path_mode::forward,
                                                 detail::path_access::box(r.value()));
  if (e != detail::no_error) r = e;
  return r;
}

/// Appends the content of a local-part: a Dot-string as it is, a Quoted-string without its
/// quotes and with each quoted-pair replaced by its octet ("\"a\\\"b\"" gives a"b).
/// @return an empty error_code, errc::invalid_argument (@p local_part is not a Local-part) or
///         errc::output_full. On error nothing is appended.
inline std::error_code unquote_local_part(std::string_view local_part, byte_writer& out) noexcept {
  const char* p = local_part.data();
  const char* const end = p + local_part.size();
  bool quoted = false;
  bool utf8 = false;
  if (detail::scan_local_part(p, local_part.data(), end, quoted, utf8) != detail::no_error ||
      p != end)
    return make_error_code(errc::invalid_argument);
  if (!quoted) {
    if (!out.append(local_part)) return make_error_code(errc::output_full);
    return {};
  }
  const std::size_t mark = out.mark();
  for (std::size_t i = 1; i + 1 < local_part.size(); ++i) {
    if (local_part[i] == '\\') ++i;
    if (!out.push(local_part[i])) {
      out.rollback(mark);
      return make_error_code(errc::output_full);
    }
  }
  return {};
}

/// Appends the wire form of a local-part whose content is @p text: @p text itself when it is
/// a Dot-string, otherwise a Quoted-string with "\"" and "\\" escaped (RFC 5321 4.1.2 asks
/// for the unquoted form whenever it is possible).
/// @return an empty error_code, errc::invalid_argument (@p text holds a control character,
///         DEL, or ill-formed UTF-8, which no local-part can carry) or errc::output_full. On
///         error nothing is appended.
inline std::error_code quote_local_part(std::string_view text, byte_writer& out) noexcept {
  const char* p = text.data();
  const char* const end = p + text.size();
  bool utf8 = false;
  if (!text.empty() && detail::scan_dot_string(p, text.data(), end, utf8) == detail::no_error &&
      p == end) {
    if (!out.append(text)) return make_error_code(errc::output_full);
    return {};
  }
  for (p = text.data(); p < end;) {
    const std::uint16_t k = detail::cls(*p);
    if (k & detail::cc_pair) {
      ++p;
    } else if (k & detail::cc_high) {
      const std::size_t n = detail::utf8_length(p, end);
      if (n == 0) return make_error_code(errc::invalid_argument);
      p += n;
    } else {
      return make_error_code(errc::invalid_argument);
    }
  }
  const std::size_t mark = out.mark();
  bool ok = out.push('"');
  for (char c : text) {
    if (c == '"' || c == '\\') ok = ok && out.push('\\');
    ok = ok && out.push(c);
  }
  ok = ok && out.push('"');
  if (!ok) {
    out.rollback(mark);
    return make_error_code(errc::output_full);
  }
  return {};
}

SMTPKIT_NAMESPACE_END
