// smtpkit codec: the ESMTP parameters of MAIL and RCPT. RFC 5321 4.1.2 (Mail-parameters,
// esmtp-param), RFC 1870 (SIZE), RFC 6152 and RFC 3030 (BODY=7BIT/8BITMIME/BINARYMIME),
// RFC 6531 3.4 (SMTPUTF8; UTF-8 in esmtp-value), RFC 3461 4.1-4.4 (NOTIFY, ORCPT, RET,
// ENVID), RFC 6533 (ORCPT utf-8 address type), RFC 4954 5 (AUTH=), RFC 8689 (REQUIRETLS).
//
//   Mail-parameters = esmtp-param *(SP esmtp-param)
//   esmtp-param     = esmtp-keyword ["=" esmtp-value]
//   esmtp-keyword   = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//   esmtp-value     = 1*(%d33-60 / %d62-126)      ; RFC 6531: =/ UTF8-non-ascii
//
// Rules:
//  1. Keywords are case-insensitive; so are the enumerated values (BODY, RET, NOTIFY).
//  2. A keyword given twice is errc::duplicate_parameter, known or not.
//  3. The parameters smtpkit knows for the verb are checked and land in typed fields; a bad
//     value is errc::bad_parameter (or errc::bad_xtext / errc::bad_utf8 where that is what is
//     wrong). Any other parameter is an "extension": kept, in order, reachable through
//     extensions(), and counted as unknown (no RFC smtpkit implements defines it) or
//     misplaced (the other verb's parameter, e.g. NOTIFY on MAIL). The application decides;
//     RFC 5321 4.1.1.11 and RFC 1869 answer both with 555.
//  4. The typed fields are authoritative: a writer emits them, then the extensions.
//  5. Values compare equal when their typed fields and their extension parameters are equal.
//  6. ORCPT's address is checked beyond its syntax: for an addr-type other than "utf-8" every
//     hexchar decodes to printable US-ASCII, %x20-7E (RFC 3461 4.2); for "utf-8" each
//     "\x{...}" is an RFC 6533 HEXPOINT (no U+0000, no surrogate, nothing above U+10FFFF,
//     no leading zero, no ASCII that QCHAR carries). See detail/esmtp_values.hpp.
//  7. Parsed values are views (16-bit sizes: a parameter string is at most 65535 octets);
//     nothing allocates. One window (path.hpp rule 7) classifies the parameters of a line at
//     once; what it cannot decide goes to the scalar parser, which is the grammar.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                                // size_t, ptrdiff_t
#include <cstdint>                                // uint8_t, uint32_t, uint64_t
#include <iterator>                               // forward_iterator_tag
#include <optional>                               // optional
#include <smtpkit/codec/detail/digits.hpp>        // parse_digits
#include <smtpkit/codec/detail/esmtp_values.hpp>  // scan_xtext, scan_orcpt, scan_auth
#include <smtpkit/codec/path.hpp>                 // parse_mailbox, detail::cls
#include <smtpkit/codec/xtext.hpp>                // is_xtext, xtext_decode
#include <smtpkit/core/bytes.hpp>                 // ascii::parse_uint, ascii::iequals
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>   // errc
#include <smtpkit/core/limits.hpp>  // limits
#include <smtpkit/core/result.hpp>  // result
#include <string_view>              // string_view
#include <system_error>             // error_code

SMTPKIT_NAMESPACE_BEGIN

/// The parameter keywords smtpkit knows.
enum class param_keyword : unsigned char {
  unknown = 0,     ///< none of the below
  size = 1,        ///< SIZE=n (RFC 1870), MAIL
  body = 2,        ///< BODY=7BIT/8BITMIME/BINARYMIME (RFC 6152, RFC 3030), MAIL
  smtputf8 = 3,    ///< SMTPUTF8 (RFC 6531), MAIL
  ret = 4,         ///< RET=FULL/HDRS (RFC 3461), MAIL
  envid = 5,       ///< ENVID=xtext (RFC 3461), MAIL
  auth = 6,        ///< AUTH=xtext mailbox or <> (RFC 4954), MAIL
  requiretls = 7,  ///< REQUIRETLS (RFC 8689), MAIL
  notify = 8,      ///< NOTIFY=NEVER or SUCCESS,FAILURE,DELAY (RFC 3461), RCPT
  orcpt = 9,       ///< ORCPT=addr-type;xtext (RFC 3461), RCPT
};

/// Returns true for the keywords MAIL takes.
constexpr bool is_mail_param(param_keyword k) noexcept {
  return k >= param_keyword::size && k <= param_keyword::requiretls;
}
/// Returns true for the keywords RCPT takes.
constexpr bool is_rcpt_param(param_keyword k) noexcept {
  return k == param_keyword::notify || k == param_keyword::orcpt;
}

namespace detail {
struct param_access;
}  // namespace detail

/// Returns the canonical (upper-case) name of a keyword, or "" for unknown.
constexpr std::string_view to_string(param_keyword k) noexcept {
  switch (k) {
    case param_keyword::size:
      return "SIZE";
    case param_keyword::body:
      return "BODY";
    case param_keyword::smtputf8:
      return "SMTPUTF8";
    case param_keyword::ret:
      return "RET";
    case param_keyword::envid:
      return "ENVID";
    case param_keyword::auth:
      return "AUTH";
    case param_keyword::requiretls:
      return "REQUIRETLS";
    case param_keyword::notify:
      return "NOTIFY";
    case param_keyword::orcpt:
      return "ORCPT";
    case param_keyword::unknown:
      break;
  }
  return "";
}

/// BODY= (RFC 6152, RFC 3030).
enum class body_type : unsigned char {
  none = 0,            ///< no BODY parameter
  seven_bit = 1,       ///< BODY=7BIT
  eight_bit_mime = 2,  ///< BODY=8BITMIME
  binary_mime = 3,     ///< BODY=BINARYMIME (needs BDAT)
};

/// RET= (RFC 3461 4.3).
enum class dsn_ret : unsigned char {
  none = 0,  ///< no RET parameter
  full = 1,  ///< RET=FULL
  hdrs = 2,  ///< RET=HDRS
};

/// NOTIFY= (RFC 3461 4.1), a set of flags: never alone, or any of success, failure, delay.
enum class dsn_notify : unsigned char {
  none = 0,     ///< no NOTIFY parameter
  never = 1,    ///< NOTIFY=NEVER
  success = 2,  ///< SUCCESS
  failure = 4,  ///< FAILURE
  delay = 8,    ///< DELAY
};
constexpr dsn_notify operator|(dsn_notify a, dsn_notify b) noexcept {
  return static_cast<dsn_notify>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr dsn_notify operator&(dsn_notify a, dsn_notify b) noexcept {
  return static_cast<dsn_notify>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
/// Returns true when @p set holds @p flag.
constexpr bool has(dsn_notify set, dsn_notify flag) noexcept {
  return (set & flag) == flag && flag != dsn_notify::none;
}
/// Returns true when @p n is none, never alone, or a non-empty set of success/failure/delay.
constexpr bool is_valid(dsn_notify n) noexcept {
  const auto v = static_cast<unsigned>(n);
  return v == 1 || (v & ~14u) == 0;
}

/// One esmtp-param as sent.
/// @warning Holds views into the parsed text.
struct esmtp_param {
  std::string_view keyword;  ///< esmtp-keyword, as sent (case kept)
  std::string_view value;    ///< esmtp-value; empty when has_value is false
  bool has_value = false;    ///< true when "=" esmtp-value was given

  friend constexpr bool operator==(const esmtp_param& a, const esmtp_param& b) noexcept {
    return a.keyword == b.keyword && a.value == b.value && a.has_value == b.has_value;
  }
  friend constexpr bool operator!=(const esmtp_param& a, const esmtp_param& b) noexcept {
    return !(a == b);
  }
};

namespace detail {

/// Returns which keyword @p n octets at @p p are (ALPHA / DIGIT / "-" octets only).
SMTPKIT_CODEC_INLINE param_keyword classify_keyword(const char* p, std::size_t n) noexcept {
  switch (n) {
    case 3:
      return ((load_le16(p) | lower16) == tag16("re") && (p[2] | 0x20) == 't')
                 ? param_keyword::ret
                 : param_keyword::unknown;
    case 4: {
      const std::uint32_t k = load_le32(p) | lower32;
      if (k == tag32("size")) return param_keyword::size;
      if (k == tag32("body")) return param_keyword::body;
      if (k == tag32("auth")) return param_keyword::auth;
      return param_keyword::unknown;
    }
    case 5: {
      const std::uint32_t k = load_le32(p) | lower32;
      const char c = static_cast<char>(p[4] | 0x20);
      if (k == tag32("envi") && c == 'd') return param_keyword::envid;
      if (k == tag32("orcp") && c == 't') return param_keyword::orcpt;
      return param_keyword::unknown;
    }
    case 6:
      return ((load_le32(p) | lower32) == tag32("noti") &&
              (load_le16(p + 4) | lower16) == tag16("fy"))
                 ? param_keyword::notify
                 : param_keyword::unknown;
    case 8:
      return (load_le64(p) | lower64) == tag64("smtputf8") ? param_keyword::smtputf8
                                                           : param_keyword::unknown;
    case 10:
      return ((load_le64(p) | lower64) == tag64("requiret") &&
              (load_le16(p + 8) | lower16) == tag16("ls"))
                 ? param_keyword::requiretls
                 : param_keyword::unknown;
    default:
      return param_keyword::unknown;
  }
}

/// Bit of a keyword in a keyword mask.
constexpr unsigned keyword_bit(param_keyword k) noexcept {
  return 1u << static_cast<unsigned>(k);
}
inline constexpr unsigned mail_keywords = 0xFEu;   // size .. requiretls
inline constexpr unsigned rcpt_keywords = 0x300u;  // notify, orcpt

/// Scans one esmtp-param at @p p; on success @p p is at the SP after it or at the end.
inline errc scan_param(const char*& p, const char* end, esmtp_param& out) noexcept {
  const char* const kw = p;
  if (p == end || !(cls(*p) & cc_let_dig)) return errc::bad_parameter;
  ++p;
  while (p < end && (cls(*p) & cc_ldh)) ++p;
  out.keyword = std::string_view(kw, static_cast<std::size_t>(p - kw));
  out.has_value = false;
  out.value = std::string_view();
  if (p < end && *p == '=') {
    const char* const v = ++p;
    while (p < end) {
      const std::uint16_t k = cls(*p);
      if (k & cc_value) {
        ++p;
      } else if (k & cc_high) {
        const std::size_t n = utf8_length(p, end);
        if (n == 0) return errc::bad_utf8;
        p += n;
      } else {
        break;
      }
    }
    if (p == v) return errc::bad_parameter;
    out.value = std::string_view(v, static_cast<std::size_t>(p - v));
    out.has_value = true;
  }
  if (p < end && *p != ' ') return errc::bad_parameter;
  return no_error;
}

/// Splits the next parameter off validated text (no checks).
inline void next_param(const char*& p, const char* end, esmtp_param& out) noexcept {
  const char* const kw = p;
  while (p < end && *p != '=' && *p != ' ') ++p;
  out.keyword = std::string_view(kw, static_cast<std::size_t>(p - kw));
  out.has_value = p < end && *p == '=';
  out.value = std::string_view();
  if (out.has_value) {
    const char* const v = ++p;
    while (p < end && *p != ' ') ++p;
    out.value = std::string_view(v, static_cast<std::size_t>(p - v));
  }
}

}  // namespace detail

/// Returns which keyword @p keyword is, ignoring case; param_keyword::unknown when it is not an
/// esmtp-keyword smtpkit knows.
inline param_keyword classify_param(std::string_view keyword) noexcept {
  for (char c : keyword)
    if (!(detail::cls(c) & detail::cc_ldh)) return param_keyword::unknown;
  return detail::classify_keyword(keyword.data(), keyword.size());
}

/// A forward range over validated esmtp-params (SP-separated), optionally skipping the
/// keywords in a mask. Made by the parsers below.
/// @warning Holds a view into the parsed text.
class param_list {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = esmtp_param;
    using difference_type = std::ptrdiff_t;
    using pointer = const esmtp_param*;
    using reference = const esmtp_param&;

    constexpr iterator() noexcept = default;
    reference operator*() const noexcept { return cur_; }
    pointer operator->() const noexcept { return &cur_; }
    iterator& operator++() noexcept {
      advance();
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator t = *this;
      advance();
      return t;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.at_ == b.at_; }
    friend bool operator!=(const iterator& a, const iterator& b) noexcept { return !(a == b); }

   private:
    friend class param_list;
    iterator(const char* p, const char* end, unsigned skip) noexcept
        : next_(p), end_(end), skip_(skip) {
      advance();
    }
    void advance() noexcept {
      for (;;) {
        if (next_ == nullptr || next_ >= end_) {
          at_ = nullptr;
          next_ = nullptr;
          return;
        }
        at_ = next_;
        detail::next_param(next_, end_, cur_);
        if (next_ < end_) ++next_;  // the SP
        if (skip_ == 0 || !(skip_ & detail::keyword_bit(detail::classify_keyword(
                                        cur_.keyword.data(), cur_.keyword.size()))))
          return;
      }
    }

    const char* at_ = nullptr;
    const char* next_ = nullptr;
    const char* end_ = nullptr;
    unsigned skip_ = 0;
    esmtp_param cur_;
  };

  /// Makes an empty list.
  constexpr param_list() noexcept = default;

  iterator begin() const noexcept {
    return iterator(raw_.data(), raw_.data() + raw_.size(), skip_);
  }
  iterator end() const noexcept { return iterator(); }
  /// Returns true when the range holds no parameter.
  bool empty() const noexcept { return begin() == end(); }
  /// Returns the number of parameters in the range.
  std::size_t size() const noexcept {
    std::size_t n = 0;
    for (auto it = begin(); it != end(); ++it) ++n;
    return n;
  }

  /// Returns true when both ranges hold equal parameters in the same order.
  friend bool operator==(const param_list& a, const param_list& b) noexcept {
    auto i = a.begin();
    auto j = b.begin();
    for (; i != a.end() && j != b.end(); ++i, ++j)
      if (*i != *j) return false;
    return i == a.end() && j == b.end();
  }
  friend bool operator!=(const param_list& a, const param_list& b) noexcept { return !(a == b); }

 private:
  friend struct detail::param_access;
  constexpr param_list(std::string_view raw, unsigned skip) noexcept : raw_(raw), skip_(skip) {}

  std::string_view raw_;
  unsigned skip_ = 0;
};

namespace detail {

/// Checks a NOTIFY value at @p p: "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ), each at
/// most once. On success @p p is past it.
inline errc scan_notify(const char*& p, const char* end, dsn_notify& out) noexcept {
  unsigned flags = 0;
  const char* q = p;
  for (;;) {
    // Each word is compared with one or two loads, case folded; the octet after it must be
    // "," or the end of the parameter.
    const auto avail = static_cast<std::size_t>(end - q);
    unsigned f = 0;
    std::size_t n = 0;
    if (avail >= 7) {
      const std::uint32_t w4 = load_le32(q) | lower32;
      const std::uint32_t w3 = (load_le32(q + 3) | lower32);  // octets 3..6
      if (w4 == tag32("succ") && w3 == tag32("cess")) {
        f = 2;
        n = 7;
      } else if (w4 == tag32("fail") && w3 == tag32("lure")) {
        f = 4;
        n = 7;
      }
    }
    if (f == 0 && avail >= 5) {
      const std::uint32_t w4 = load_le32(q) | lower32;
      const char c4 = static_cast<char>(q[4] | 0x20);
      if (w4 == tag32("dela") && c4 == 'y') {
        f = 8;
        n = 5;
      } else if (w4 == tag32("neve") && c4 == 'r') {
        f = 1;
        n = 5;
      }
    }
    if (f == 0 || (flags & f)) return errc::bad_parameter;
    flags |= f;
    q += n;
    if (q == end || *q != ',') break;
    ++q;
  }
  if (!at_param_end(q, end) || ((flags & 1u) && flags != 1u)) return errc::bad_parameter;
  out = static_cast<dsn_notify>(flags);
  p = q;
  return no_error;
}

/// Runs a scan_* checker over the whole of @p v (for the setters and the writer).
template <class F>
inline bool whole(std::string_view v, F&& scan) noexcept {
  const char* p = v.data();
  const char* const end = p + v.size();
  return !v.empty() && scan(p, end) == no_error && p == end;
}

/// Returns true when a keyword equal (ignoring case) to @p kw occurs in the validated
/// parameters before it, in [@p begin, @p kw).
inline bool keyword_seen_before(const char* begin, std::string_view kw) noexcept {
  const char* p = begin;
  const char* const end = kw.data();
  while (p < end) {
    esmtp_param q;
    next_param(p, end, q);
    if (p < end) ++p;
    if (ascii::iequals(q.keyword, kw)) return true;
  }
  return false;
}

/// Makes a view from a pointer and a 16-bit size.
constexpr std::string_view view16(const char* p, std::uint16_t n) noexcept {
  return {p, n};
}

}  // namespace detail

/// Parses @p text, the whole of it, as esmtp-param *(SP esmtp-param); "" is an empty list.
/// Only the generic grammar is checked (known keywords' values are not).
/// @return the list, or errc::bad_parameter (grammar), errc::bad_utf8 (a value holds
///         ill-formed UTF-8), errc::duplicate_parameter (a keyword twice, in any case).
/// @warning The result views @p text.
inline result<param_list> parse_esmtp_params(std::string_view text) noexcept;

/// The parameters of MAIL (RFC 5321 Mail-parameters): typed accessors for those smtpkit
/// knows, and the others as extensions(). Made by parse_mail_parameters() or parse_command(),
/// or built with the setters, which check what they are given.
/// @warning Holds views into the parsed text (or into what the setters were given).
class mail_parameters {
 public:
  constexpr mail_parameters() noexcept = default;

  /// Returns SIZE= (RFC 1870), the message size the client declares, if given.
  constexpr std::optional<std::uint64_t> size() const noexcept {
    return (bits_ & has_size_bit) ? std::optional<std::uint64_t>(size_) : std::nullopt;
  }
  /// Sets or (with std::nullopt) clears SIZE=.
  constexpr void set_size(std::optional<std::uint64_t> n) noexcept {
    set_bit(has_size_bit, n.has_value());
    size_ = n.value_or(0);
  }

  /// Returns BODY= (RFC 6152, RFC 3030); body_type::none when absent.
  constexpr body_type body() const noexcept { return static_cast<body_type>(bits_ & body_mask); }
  /// Sets BODY=. @return errc::invalid_argument for a value outside the enumeration.
  std::error_code set_body(body_type b) noexcept {
    if (static_cast<unsigned>(b) > 3) return make_error_code(errc::invalid_argument);
    bits_ = static_cast<std::uint8_t>((bits_ & ~body_mask) | static_cast<unsigned>(b));
    return {};
  }

  /// Returns true when SMTPUTF8 (RFC 6531) was given.
  constexpr bool smtputf8() const noexcept { return (bits_ & smtputf8_bit) != 0; }
  /// Sets or clears SMTPUTF8.
  constexpr void set_smtputf8(bool on) noexcept { set_bit(smtputf8_bit, on); }

  /// Returns RET= (RFC 3461 4.3); dsn_ret::none when absent.
  constexpr dsn_ret ret() const noexcept {
    return static_cast<dsn_ret>((bits_ & ret_mask) >> ret_shift);
  }
  /// Sets RET=. @return errc::invalid_argument for a value outside the enumeration.
  std::error_code set_ret(dsn_ret r) noexcept {
    if (static_cast<unsigned>(r) > 2) return make_error_code(errc::invalid_argument);
    bits_ =
        static_cast<std::uint8_t>((bits_ & ~ret_mask) | (static_cast<unsigned>(r) << ret_shift));
    return {};
  }

  /// Returns ENVID= (RFC 3461 4.4) as sent, still xtext-encoded; empty when absent.
  constexpr std::string_view envid() const noexcept { return detail::view16(envid_, envid_size_); }
  /// Sets ENVID= to the xtext @p xtext (xtext_encode() makes one), or clears it with "".
  /// @return errc::invalid_argument when @p xtext is not xtext or is over 65535 octets.
  /// @warning Keeps a view of @p xtext.
  std::error_code set_envid(std::string_view xtext) noexcept {
    if (!xtext.empty() && (xtext.size() > detail::max_view_size || !is_xtext(xtext)))
      return make_error_code(errc::invalid_argument);
    envid_ = xtext.data();
    envid_size_ = static_cast<std::uint16_t>(xtext.size());
    return {};
  }

  /// Returns AUTH= (RFC 4954 5) as sent: "<>" or an xtext-encoded mailbox; empty when absent.
  constexpr std::string_view auth() const noexcept { return detail::view16(auth_, auth_size_); }
  /// Sets AUTH= to "<>" or to the xtext encoding of a mailbox, or clears it with "".
  /// @return errc::invalid_argument when @p value is neither (its mailbox checked against
  ///         @p lim).
  /// @warning Keeps a view of @p value.
  std::error_code set_auth(std::string_view value, const limits& lim = limits{}) noexcept {
    if (!value.empty() && (value.size() > detail::max_view_size ||
                           !detail::whole(value, [&](const char*& p, const char* e) {
                             return detail::scan_auth(p, e, lim);
                           })))
      return make_error_code(errc::invalid_argument);
    auth_ = value.data();
    auth_size_ = static_cast<std::uint16_t>(value.size());
    return {};
  }

  /// Returns true when REQUIRETLS (RFC 8689) was given.
  constexpr bool requiretls() const noexcept { return (bits_ & requiretls_bit) != 0; }
  /// Sets or clears REQUIRETLS.
  constexpr void set_requiretls(bool on) noexcept { set_bit(requiretls_bit, on); }

  /// Returns the parameters not listed above (unknown, or RCPT's), in the order sent.
  param_list extensions() const noexcept;
  /// Returns how many extension parameters have a keyword smtpkit does not know.
  std::size_t unknown_count() const noexcept;
  /// Returns how many extension parameters belong to RCPT (NOTIFY, ORCPT).
  std::size_t misplaced_count() const noexcept;
  /// Sets the extension parameters to send, e.g. "MT-PRIORITY=3 X-FOO", or none with "".
  /// Each keyword must be unknown to smtpkit (the setters above cover the others) and appear
  /// once.
  /// @return an empty error_code, or errc::invalid_argument (nothing changes).
  /// @warning Keeps a view of @p text.
  std::error_code set_extensions(std::string_view text) noexcept;

  friend bool operator==(const mail_parameters& a, const mail_parameters& b) noexcept {
    return a.size() == b.size() && a.bits_ == b.bits_ && a.envid() == b.envid() &&
           a.auth() == b.auth() && a.extensions() == b.extensions();
  }
  friend bool operator!=(const mail_parameters& a, const mail_parameters& b) noexcept {
    return !(a == b);
  }

 private:
  friend struct detail::param_access;
  static constexpr unsigned body_mask = 0x03u;  // body_type
  static constexpr unsigned ret_mask = 0x0Cu;   // dsn_ret
  static constexpr unsigned ret_shift = 2;
  static constexpr unsigned has_size_bit = 0x10u;
  static constexpr unsigned smtputf8_bit = 0x20u;
  static constexpr unsigned requiretls_bit = 0x40u;
  constexpr void set_bit(unsigned b, bool on) noexcept {
    bits_ = static_cast<std::uint8_t>(on ? (bits_ | b) : (bits_ & ~b));
  }

  // 40 bytes (views are a pointer and a 16-bit size, flags share one octet), so that a
  // result<command> stays within 80 bytes, which compilers zero and copy without a loop.
  std::uint64_t size_ = 0;
  const char* envid_ = nullptr;
  const char* auth_ = nullptr;
  const char* raw_ = nullptr;  // parameters as sent (validated); only its extensions are used
  std::uint16_t envid_size_ = 0;
  std::uint16_t auth_size_ = 0;
  std::uint16_t raw_size_ = 0;
  std::uint8_t bits_ = 0;
};

/// The parameters of RCPT (RFC 5321 Rcpt-parameters): typed accessors for NOTIFY and ORCPT,
/// the others as extensions(). Made by parse_rcpt_parameters() or parse_command(), or built
/// with the setters, which check what they are given.
/// @warning Holds views into the parsed text (or into what the setters were given).
class rcpt_parameters {
 public:
  constexpr rcpt_parameters() noexcept = default;

  /// Returns NOTIFY= (RFC 3461 4.1); dsn_notify::none when absent.
  constexpr dsn_notify notify() const noexcept { return notify_; }
  /// Sets NOTIFY=, or clears it with dsn_notify::none.
  /// @return errc::invalid_argument unless is_valid(@p n) (NEVER must stand alone).
  std::error_code set_notify(dsn_notify n) noexcept {
    if (!is_valid(n)) return make_error_code(errc::invalid_argument);
    notify_ = n;
    return {};
  }

  /// Returns the ORCPT= (RFC 3461 4.2) addr-type as sent ("rfc822"); empty when absent.
  constexpr std::string_view orcpt_type() const noexcept {
    return detail::view16(orcpt_type_, orcpt_type_size_);
  }
  /// Returns the ORCPT= address after the ";" as sent (xtext); empty when absent.
  constexpr std::string_view orcpt_address() const noexcept {
    return detail::view16(orcpt_address_, orcpt_address_size_);
  }
  /// Sets ORCPT= to @p type ";" @p address (the address already xtext-encoded, or for type
  /// "utf-8" in RFC 6533 form), or clears it when both are "".
  /// @return errc::invalid_argument when the parser would refuse them.
  /// @warning Keeps views of @p type and @p address.
  std::error_code set_orcpt(std::string_view type, std::string_view address) noexcept {
    if (!type.empty() || !address.empty()) {
      if (type.empty() || address.empty() || type.size() > detail::max_view_size ||
          address.size() > detail::max_view_size)
        return make_error_code(errc::invalid_argument);
      for (char c : type)
        if (!(detail::cls(c) & detail::cc_atext) || c == '=')
          return make_error_code(errc::invalid_argument);
      const bool ok = detail::value_is(type, "utf-8")
                          ? detail::whole(address, detail::scan_utf8_addr)
                          : detail::whole(address, detail::scan_orcpt_xtext);
      if (!ok) return make_error_code(errc::invalid_argument);
    }
    orcpt_type_ = type.data();
    orcpt_type_size_ = static_cast<std::uint16_t>(type.size());
    orcpt_address_ = address.data();
    orcpt_address_size_ = static_cast<std::uint16_t>(address.size());
    return {};
  }

  /// Returns the parameters not listed above (unknown, or MAIL's), in the order sent.
  param_list extensions() const noexcept;
  /// Returns how many extension parameters have a keyword smtpkit does not know.
  std::size_t unknown_count() const noexcept;
  /// Returns how many extension parameters belong to MAIL (SIZE, BODY, ...).
  std::size_t misplaced_count() const noexcept;
  /// Sets the extension parameters to send. See mail_parameters::set_extensions().
  std::error_code set_extensions(std::string_view text) noexcept;

  friend bool operator==(const rcpt_parameters& a, const rcpt_parameters& b) noexcept {
    return a.notify_ == b.notify_ && a.orcpt_type() == b.orcpt_type() &&
           a.orcpt_address() == b.orcpt_address() && a.extensions() == b.extensions();
  }
  friend bool operator!=(const rcpt_parameters& a, const rcpt_parameters& b) noexcept {
    return !(a == b);
  }

 private:
  friend struct detail::param_access;

  // 32 bytes: views are a pointer and a 16-bit size, so that a command stays small.
  const char* orcpt_type_ = nullptr;
  const char* orcpt_address_ = nullptr;
  const char* raw_ = nullptr;  // parameters as sent (validated); only its extensions are used
  std::uint16_t orcpt_type_size_ = 0;
  std::uint16_t orcpt_address_size_ = 0;
  std::uint16_t raw_size_ = 0;
  dsn_notify notify_ = dsn_notify::none;
};

namespace detail {

/// Grants the parsers access to the private parts of the parameter types.
struct param_access {
  static constexpr param_list make_list(std::string_view raw, unsigned skip) noexcept {
    return param_list(raw, skip);
  }
  template <class Params>
  static constexpr std::string_view raw(const Params& m) noexcept {
    return view16(m.raw_, m.raw_size_);
  }

  /// Checks the value of a known MAIL parameter at @p p (past the "=" when @p has_value) and
  /// stores it. On success @p p is at the end of the parameter.
  static errc apply(mail_parameters& m, param_keyword k, const char*& p, const char* end,
                    bool has_value, const limits& lim) noexcept {
    const auto avail = static_cast<std::size_t>(end - p);
    switch (k) {
      case param_keyword::size: {
        // size-value = 1*20DIGIT (RFC 1870), as a 64-bit number
        const char* const s = p;
        std::uint64_t v = 0;
        while (p < end && ascii::is_digit(*p)) {
          const auto d = static_cast<std::uint64_t>(*p - '0');
          if (v > (~std::uint64_t{0} - d) / 10) return errc::bad_parameter;
          v = v * 10 + d;
          ++p;
        }
        if (!has_value || p == s || p - s > 20 || !at_param_end(p, end)) return errc::bad_parameter;
        m.size_ = v;
        m.bits_ = static_cast<std::uint8_t>(m.bits_ | mail_parameters::has_size_bit);
        return no_error;
      }
      case param_keyword::body:
        if (!has_value) return errc::bad_parameter;
        // The OR with 0x20 folds case, and also folds 0x18 into '8' and 0x17 into '7': the
        // digit is compared exactly.
        if (avail >= 8 && (load_le64(p) | lower64) == tag64("8bitmime") && p[0] == '8') {
          m.bits_ = static_cast<std::uint8_t>(m.bits_ | 2u);
          p += 8;
        } else if (avail >= 4 && (load_le32(p) | lower32) == tag32("7bit") && p[0] == '7') {
          m.bits_ = static_cast<std::uint8_t>(m.bits_ | 1u);
          p += 4;
        } else if (avail >= 10 && value_is(std::string_view(p, 10), "binarymime")) {
          m.bits_ = static_cast<std::uint8_t>(m.bits_ | 3u);
          p += 10;
        } else {
          return errc::bad_parameter;
        }
        return at_param_end(p, end) ? no_error : errc::bad_parameter;
      case param_keyword::smtputf8:
        // No value, and nothing but SP or the end after the keyword.
        if (has_value || !at_param_end(p, end)) return errc::bad_parameter;
        m.bits_ = static_cast<std::uint8_t>(m.bits_ | mail_parameters::smtputf8_bit);
        return no_error;
      case param_keyword::requiretls:
        if (has_value || !at_param_end(p, end)) return errc::bad_parameter;
        m.bits_ = static_cast<std::uint8_t>(m.bits_ | mail_parameters::requiretls_bit);
        return no_error;
      case param_keyword::ret:
        if (has_value && avail >= 4) {
          const std::uint32_t w = load_le32(p) | lower32;
          const unsigned r = w == tag32("full") ? 1u : w == tag32("hdrs") ? 2u : 0u;
          p += 4;
          if (r != 0 && at_param_end(p, end)) {
            m.bits_ = static_cast<std::uint8_t>(m.bits_ | (r << mail_parameters::ret_shift));
            return no_error;
          }
        }
        return errc::bad_parameter;
      case param_keyword::envid: {
        const char* const s = p;
        if (!has_value) return errc::bad_parameter;
        const errc e = scan_xtext(p, end);
        if (e != no_error) return e;
        if (!at_param_end(p, end)) return xtext_end_error(p);
        if (p == s) return errc::bad_parameter;
        m.envid_ = s;
        m.envid_size_ = static_cast<std::uint16_t>(p - s);
        return no_error;
      }
      case param_keyword::auth: {
        const char* const s = p;
        if (!has_value) return errc::bad_parameter;
        const errc e = scan_auth(p, end, lim);
        if (e != no_error) return e;
        m.auth_ = s;
        m.auth_size_ = static_cast<std::uint16_t>(p - s);
        return no_error;
      }
      default:
        return errc::bad_parameter;
    }
  }

  /// Checks the value of a known RCPT parameter and stores it.
  static errc apply(rcpt_parameters& r, param_keyword k, const char*& p, const char* end,
                    bool has_value, const limits&) noexcept {
    if (!has_value) return errc::bad_parameter;
    if (k == param_keyword::notify) return scan_notify(p, end, r.notify_);
    std::string_view type;
    std::string_view address;
    const errc e = scan_orcpt(p, end, type, address);
    if (e != no_error) return e;
    r.orcpt_type_ = type.data();
    r.orcpt_type_size_ = static_cast<std::uint16_t>(type.size());
    r.orcpt_address_ = address.data();
    r.orcpt_address_size_ = static_cast<std::uint16_t>(address.size());
    return no_error;
  }

  /// Parses Mail-parameters or Rcpt-parameters (@p own_mask: the keywords the verb takes)
  /// into @p out, in one pass.
  template <class Params>
  static errc parse(std::string_view text, const char* begin, const limits& lim, unsigned own_mask,
                    Params& out, bool use_fast = true) noexcept {
    const char* p = text.data();
    const char* const end = p + text.size();
    if (p == end) return no_error;
    if (text.size() > max_view_size) return errc::bad_parameter;
    unsigned seen = 0;
    std::size_t unknown = 0;
    // One window classifies up to 64 octets, usually every parameter of the line.
    window w = make_window<window_kind::param>(p, begin, end);
    const char* base = p;
    for (;;) {
      const char* const kw = p;
      param_keyword k = param_keyword::unknown;
      int fast = -2;
      if (!use_fast)
        fast = -1;
      else if (static_cast<std::size_t>(p - base) < w.size)
        fast = parse_fast(p, w, static_cast<unsigned>(p - base), end, begin, lim, own_mask, seen, k,
                          out);
      if (fast == -2) {
        // The parameter runs past the window: classify again from its start.
        w = make_window<window_kind::param>(p, begin, end);
        base = p;
        fast = parse_fast(p, w, 0, end, begin, lim, own_mask, seen, k, out);
      }
      if (fast < 0) {
        // The scalar path, for what the fast one could not decide.
        // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
        if (!(cls(*p) & cc_let_dig)) return errc::bad_parameter;
        ++p;
        while (p < end && (cls(*p) & cc_ldh)) ++p;
        k = classify_keyword(kw, static_cast<std::size_t>(p - kw));
        const unsigned bit = keyword_bit(k);
        const bool has_value = p < end && *p == '=';
        if (has_value) ++p;
        if (k != param_keyword::unknown) {
          if (seen & bit) return errc::duplicate_parameter;
          seen |= bit;
        }
        if (own_mask & bit) {
          const errc e = apply(out, k, p, end, has_value, lim);
          if (e != no_error) return e;
        } else {
          if (has_value) {
            // esmtp-value = 1*(%d33-60 / %d62-126 / UTF8-non-ascii)
            const char* const v = p;
            for (;;) {
              while (p < end && (cls(*p) & cc_value)) ++p;
              if (p == end || !(cls(*p) & cc_high)) break;
              const std::size_t n = utf8_length(p, end);
              if (n == 0) return errc::bad_utf8;
              p += n;
            }
            if (p == v) return errc::bad_parameter;
          }
          if (!at_param_end(p, end)) return errc::bad_parameter;
        }
      } else if (fast > 0) {
        return static_cast<errc>(fast);
      }
      if (k == param_keyword::unknown) {
        // An unknown keyword must not repeat either (rare; checked by a rescan).
        if (unknown != 0 &&
            keyword_seen_before(text.data(), std::string_view(kw, param_keyword_size(kw, p))))
          return errc::duplicate_parameter;
        ++unknown;
      }
      if (p == end) break;
      if (++p == end) return errc::bad_parameter;  // a trailing SP
    }
    out.raw_ = text.data();
    out.raw_size_ = static_cast<std::uint16_t>(text.size());
    return no_error;
  }

  /// Returns the size of the keyword of the validated parameter [@p kw, @p end).
  static std::size_t param_keyword_size(const char* kw, const char* end) noexcept {
    const char* q = kw;
    while (q < end && *q != '=') ++q;
    return static_cast<std::size_t>(q - kw);
  }

  /// The fast path for the parameter at @p p, which is octet @p off of window @p w: known
  /// keywords are recognised by loads, SIZE digits are converted eight at a time, and xtext
  /// without "+" needs no further look. Returns -2 when the parameter runs past the window,
  /// -1 when the fast path cannot decide (nothing is changed then), 0 when it accepted the
  /// parameter (@p p is at its end, @p k its keyword), or an errc value.
  template <class Params>
  SMTPKIT_CODEC_INLINE static int parse_fast(const char*& p, const window& w, unsigned off,
                                             const char* end, const char* begin, const limits& lim,
                                             unsigned own_mask, unsigned& seen, param_keyword& k,
                                             Params& out) noexcept {
    const std::uint64_t vchar = w.m0 >> off;
    const unsigned avail = w.size - off;
    const unsigned n = ctz64(~vchar);
    if (n >= avail) {
      if (p + avail != end) return -2;
    } else if (p[n] != ' ') {
      return -1;
    }
    if (n == 0 || n > 63) return -1;
    const std::uint64_t eq = (w.m1 >> off) & low_bits(n);
    if (eq & (eq - 1)) return -1;  // a second "=": the scalar path reports it
    const unsigned kw_size = eq ? ctz64(eq) : n;
    if (kw_size == 0 || kw_size + 1 == n) return -1;  // no keyword, or "=" and no value
    k = classify_keyword(p, kw_size);
    const unsigned bit = keyword_bit(k);
    if (k == param_keyword::unknown) {
      if (!(cls(*p) & cc_let_dig)) return -1;
      for (unsigned i = 1; i < kw_size; ++i)
        if (!(cls(p[i]) & cc_ldh)) return -1;
    } else if (seen & bit) {
      return -1;
    }
    const bool has_value = eq != 0;
    const char* const v = p + kw_size + (has_value ? 1 : 0);
    const char* const stop = p + n;
    if (own_mask & bit) {
      const bool plus = ((w.m2 >> off) & low_bits(n)) != 0;
      if (!fast_value(out, k, v, stop, begin, has_value, plus)) {
        const char* q = v;
        const errc e = apply(out, k, q, end, has_value, lim);
        if (e != no_error) return static_cast<int>(e);
      }
    }
    seen |= k == param_keyword::unknown ? 0u : bit;
    p = stop;
    return 0;
  }

  /// Stores the value of a known MAIL parameter when the window decides it; false otherwise
  /// (the caller runs apply() then, which gives the exact error).
  SMTPKIT_CODEC_INLINE static bool fast_value(mail_parameters& m, param_keyword k, const char* v,
                                              const char* stop, const char* begin, bool has_value,
                                              bool plus) noexcept {
    const auto n = static_cast<std::size_t>(stop - v);
    unsigned bits = 0;
    switch (k) {
      case param_keyword::size: {
        std::uint64_t size = 0;
        if (!has_value || !parse_digits(v, n, begin, size)) return false;
        m.size_ = size;
        bits = mail_parameters::has_size_bit;
        break;
      }
      case param_keyword::body:
        if (!has_value) return false;
        if (n == 8 && (load_le64(v) | lower64) == tag64("8bitmime") && v[0] == '8') {
          bits = 2;
        } else if (n == 4 && (load_le32(v) | lower32) == tag32("7bit") && v[0] == '7') {
          bits = 1;
        } else {
          return false;
        }
        break;
      case param_keyword::smtputf8:
        if (has_value) return false;
        bits = mail_parameters::smtputf8_bit;
        break;
      case param_keyword::requiretls:
        if (has_value) return false;
        bits = mail_parameters::requiretls_bit;
        break;
      case param_keyword::ret: {
        if (!has_value || n != 4) return false;
        const std::uint32_t w = load_le32(v) | lower32;
        if (w == tag32("full")) {
          bits = 1u << mail_parameters::ret_shift;
        } else if (w == tag32("hdrs")) {
          bits = 2u << mail_parameters::ret_shift;
        } else {
          return false;
        }
        break;
      }
      case param_keyword::envid:
        // VCHAR without "=" and without "+" is xchar: the value is xtext.
        if (!has_value || plus) return false;
        m.envid_ = v;
        m.envid_size_ = static_cast<std::uint16_t>(n);
        return true;
      default:
        return false;
    }
    m.bits_ = static_cast<std::uint8_t>(m.bits_ | bits);
    return true;
  }
  SMTPKIT_CODEC_INLINE static bool fast_value(rcpt_parameters& r, param_keyword k, const char* v,
                                              const char* stop, const char*, bool has_value,
                                              bool plus) noexcept {
    if (!has_value || k != param_keyword::orcpt || plus || stop - v < 8) return false;
    // ORCPT=rfc822;xtext, the usual form.
    if ((load_le32(v) | lower32) != tag32("rfc8") || load_le16(v + 4) != tag16("22") || v[6] != ';')
      return false;
    r.orcpt_type_ = v;
    r.orcpt_type_size_ = 6;
    r.orcpt_address_ = v + 7;
    r.orcpt_address_size_ = static_cast<std::uint16_t>(stop - v - 7);
    return true;
  }

  /// Validates extension text for set_extensions().
  template <class Params>
  static std::error_code set_extensions(Params& out, std::string_view text) noexcept {
    const char* p = text.data();
    const char* const end = p + text.size();
    std::size_t n = 0;
    if (text.size() > max_view_size) return make_error_code(errc::invalid_argument);
    while (p < end) {
      esmtp_param q;
      if (scan_param(p, end, q) != no_error ||
          classify_keyword(q.keyword.data(), q.keyword.size()) != param_keyword::unknown ||
          (n != 0 && keyword_seen_before(text.data(), q.keyword)))
        return make_error_code(errc::invalid_argument);
      ++n;
      if (p < end && ++p == end) return make_error_code(errc::invalid_argument);
    }
    out.raw_ = text.data();
    out.raw_size_ = static_cast<std::uint16_t>(text.size());
    return {};
  }
};

}  // namespace detail

inline param_list mail_parameters::extensions() const noexcept {
  return detail::param_access::make_list(detail::view16(raw_, raw_size_), detail::mail_keywords);
}
inline std::error_code mail_parameters::set_extensions(std::string_view text) noexcept {
  return detail::param_access::set_extensions(*this, text);
}
namespace detail {
/// Counts the parameters of @p list whose keyword is (@p known) or is not known to smtpkit.
inline std::size_t count_params(const param_list& list, bool known) noexcept {
  std::size_t n = 0;
  for (const esmtp_param& q : list)
    n += (classify_param(q.keyword) != param_keyword::unknown) == known ? 1u : 0u;
  return n;
}
}  // namespace detail

inline std::size_t mail_parameters::unknown_count() const noexcept {
  return detail::count_params(extensions(), false);
}
inline std::size_t mail_parameters::misplaced_count() const noexcept {
  return detail::count_params(extensions(), true);
}
inline std::size_t rcpt_parameters::unknown_count() const noexcept {
  return detail::count_params(extensions(), false);
}
inline std::size_t rcpt_parameters::misplaced_count() const noexcept {
  return detail::count_params(extensions(), true);
}
inline param_list rcpt_parameters::extensions() const noexcept {
  return detail::param_access::make_list(detail::view16(raw_, raw_size_), detail::rcpt_keywords);
}
inline std::error_code rcpt_parameters::set_extensions(std::string_view text) noexcept {
  return detail::param_access::set_extensions(*this, text);
}

inline result<param_list> parse_esmtp_params(std::string_view text) noexcept {
  const char* p = text.data();
  const char* const end = p + text.size();
  bool first = true;
  while (p < end) {
    esmtp_param q;
    const errc e = detail::scan_param(p, end, q);
    if (e != detail::no_error) return e;
    if (!first && detail::keyword_seen_before(text.data(), q.keyword))
      return errc::duplicate_parameter;
    first = false;
    if (p < end && ++p == end) return errc::bad_parameter;
  }
  return detail::param_access::make_list(text, 0);
}

/// Parses @p text, the whole of it, as Mail-parameters (what follows "MAIL FROM:<path> ");
/// "" means none. Checks SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH and REQUIRETLS; keeps the
/// others as extensions (see the rules at the top of this file).
/// @param lim bounds the mailbox inside AUTH= (lim.path; with hexchars in it, also
///        detail::max_auth_path, 4096).
/// @return the parameters, or errc::bad_parameter (grammar, a bad value, or text over 65535
///         octets), errc::bad_xtext, errc::bad_utf8, errc::duplicate_parameter (all 501).
///         Unknown and misplaced parameters are not errors here; see unknown_count() and
///         misplaced_count() (555 by default).
/// @warning The result views @p text.
inline result<mail_parameters> parse_mail_parameters(std::string_view text,
                                                     const limits& lim = limits{}) noexcept {
  result<mail_parameters> r{mail_parameters()};
  const errc e =
      detail::param_access::parse(text, text.data(), lim, detail::mail_keywords, r.value());
  if (e != detail::no_error) r = e;
  return r;
}

/// Parses @p text, the whole of it, as Rcpt-parameters; "" means none. Checks NOTIFY and
/// ORCPT; keeps the others as extensions.
/// @return the parameters, or errc::bad_parameter, errc::bad_xtext, errc::bad_utf8,
///         errc::duplicate_parameter (all 501).
/// @warning The result views @p text.
inline result<rcpt_parameters> parse_rcpt_parameters(std::string_view text,
                                                     const limits& lim = limits{}) noexcept {
  result<rcpt_parameters> r{rcpt_parameters()};
  const errc e =
      detail::param_access::parse(text, text.data(), lim, detail::rcpt_keywords, r.value());
  if (e != detail::no_error) r = e;
  return r;
}

SMTPKIT_NAMESPACE_END
