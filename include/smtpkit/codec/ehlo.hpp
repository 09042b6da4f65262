// smtpkit codec: EHLO capabilities. parse_ehlo_reply() turns the 250 reply to EHLO into an
// ehlo_capabilities value (client side); write_ehlo_reply() writes that reply from an ehlo_config
// (server side).
// RFC 5321 4.1.1.1 (ehlo-ok-rsp, ehlo-line, ehlo-keyword, ehlo-param) and the extensions it
// knows: PIPELINING (RFC 2920), SIZE (RFC 1870 4), 8BITMIME (RFC 6152), STARTTLS (RFC 3207),
// AUTH (RFC 4954 3, plus the pre-standard "AUTH=" form), CHUNKING and BINARYMIME (RFC 3030),
// SMTPUTF8 (RFC 6531), DSN (RFC 3461), ENHANCEDSTATUSCODES (RFC 2034), REQUIRETLS (RFC 8689).
//
// Rules:
//  1. The reply must be 250. Its first line is "Domain [SP ehlo-greet]"; the name is taken as
//     given (display only: a client must not fail over a server named "mail_gw") and only its
//     length is bounded. The writer sends only a valid Domain or address literal. Every further
//     line is an ehlo-line:
//     a keyword of letters, digits and '-' (starting with a letter or digit), then zero or more
//     SP-separated params of %d33-126. Nothing else passes (errc::bad_reply).
//  2. Keywords and mechanism names compare without regard to case.
//  3. Known keywords set a bit in ehlo_capabilities::extensions; unknown ones are kept and can be
//     iterated with their params (ehlo_capabilities::keywords()).
//  4. "AUTH mech..." and the legacy "AUTH=mech..." (sent for old Outlook clients) are merged:
//     both set ehlo_extension::auth and the known mechanisms' bits; the raw mechanism lists stay
//     reachable, so unknown mechanisms are not lost. RFC 4954 3 requires at least one
//     mechanism: an "AUTH" or "AUTH=" line with none is not an error (a client must not fail a
//     delivery over it) but does not offer AUTH either; it is kept as an unknown keyword
//     (ehlo_keyword::known is ehlo_extension{}) and sets no bit.
//  5. SIZE without a number, or with 0, means no fixed limit (RFC 1870 4): max_size is 0.
//  6. write_ehlo_reply() writes only what parse_ehlo_reply() accepts and reads back the same.
//  7. Views: parsed values point into the reply's bytes. Nothing here allocates or throws.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                             // size_t, ptrdiff_t
#include <cstdint>                             // uint32_t, uint64_t
#include <iterator>                            // forward_iterator_tag
#include <smtpkit/codec/detail/sasl_mech.hpp>  // detail::is_sasl_mech
#include <smtpkit/codec/reply.hpp>
#include <smtpkit/core/buffer.hpp>
#include <smtpkit/core/bytes.hpp>
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>
#include <smtpkit/core/limits.hpp>
#include <smtpkit/core/result.hpp>
#include <string_view>   // string_view
#include <system_error>  // error_code

SMTPKIT_NAMESPACE_BEGIN

/// The EHLO keywords smtpkit knows, as bits of ehlo_capabilities::extensions.
enum class ehlo_extension : std::uint32_t {
  pipelining = 1u << 0,             ///< PIPELINING, RFC 2920
  size = 1u << 1,                   ///< SIZE [n], RFC 1870
  eight_bit_mime = 1u << 2,         ///< 8BITMIME, RFC 6152
  starttls = 1u << 3,               ///< STARTTLS, RFC 3207
  auth = 1u << 4,                   ///< AUTH mech..., RFC 4954 (and "AUTH=mech...")
  chunking = 1u << 5,               ///< CHUNKING, RFC 3030
  binary_mime = 1u << 6,            ///< BINARYMIME, RFC 3030
  smtputf8 = 1u << 7,               ///< SMTPUTF8, RFC 6531
  dsn = 1u << 8,                    ///< DSN, RFC 3461
  enhanced_status_codes = 1u << 9,  ///< ENHANCEDSTATUSCODES, RFC 2034
  requiretls = 1u << 10,            ///< REQUIRETLS, RFC 8689
};

/// The SASL mechanisms smtpkit knows, as bits of ehlo_capabilities::auth.
enum class auth_mechanism : std::uint32_t {
  plain = 1u << 0,          ///< PLAIN, RFC 4616
  login = 1u << 1,          ///< LOGIN (draft-murchison-sasl-login)
  xoauth2 = 1u << 2,        ///< XOAUTH2 (Google, Microsoft)
  oauthbearer = 1u << 3,    ///< OAUTHBEARER, RFC 7628
  cram_md5 = 1u << 4,       ///< CRAM-MD5, RFC 2195
  scram_sha_256 = 1u << 5,  ///< SCRAM-SHA-256, RFC 7677
};

/// Every ehlo_extension bit.
inline constexpr std::uint32_t all_ehlo_extensions = (1u << 11) - 1;
/// Every auth_mechanism bit.
inline constexpr std::uint32_t all_auth_mechanisms = (1u << 6) - 1;

/// Combines extensions into a bitmask: `ehlo_extension::pipelining | ehlo_extension::size`.
constexpr std::uint32_t operator|(ehlo_extension a, ehlo_extension b) noexcept {
  return static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b);
}
/// Adds an extension to a bitmask.
constexpr std::uint32_t operator|(std::uint32_t a, ehlo_extension b) noexcept {
  return a | static_cast<std::uint32_t>(b);
}
/// Combines mechanisms into a bitmask: `auth_mechanism::plain | auth_mechanism::login`.
constexpr std::uint32_t operator|(auth_mechanism a, auth_mechanism b) noexcept {
  return static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b);
}
/// Adds a mechanism to a bitmask.
constexpr std::uint32_t operator|(std::uint32_t a, auth_mechanism b) noexcept {
  return a | static_cast<std::uint32_t>(b);
}

/// Returns the keyword of @p e as servers write it ("8BITMIME"), or "" for a value not listed.
constexpr std::string_view keyword_name(ehlo_extension e) noexcept {
  switch (e) {
    case ehlo_extension::pipelining:
      return "PIPELINING";
    case ehlo_extension::size:
      return "SIZE";
    case ehlo_extension::eight_bit_mime:
      return "8BITMIME";
    case ehlo_extension::starttls:
      return "STARTTLS";
    case ehlo_extension::auth:
      return "AUTH";
    case ehlo_extension::chunking:
      return "CHUNKING";
    case ehlo_extension::binary_mime:
      return "BINARYMIME";
    case ehlo_extension::smtputf8:
      return "SMTPUTF8";
    case ehlo_extension::dsn:
      return "DSN";
    case ehlo_extension::enhanced_status_codes:
      return "ENHANCEDSTATUSCODES";
    case ehlo_extension::requiretls:
      return "REQUIRETLS";
  }
  return {};
}

/// Returns the name of @p m ("CRAM-MD5"), or "" for a value not listed.
constexpr std::string_view mechanism_name(auth_mechanism m) noexcept {
  switch (m) {
    case auth_mechanism::plain:
      return "PLAIN";
    case auth_mechanism::login:
      return "LOGIN";
    case auth_mechanism::xoauth2:
      return "XOAUTH2";
    case auth_mechanism::oauthbearer:
      return "OAUTHBEARER";
    case auth_mechanism::cram_md5:
      return "CRAM-MD5";
    case auth_mechanism::scram_sha_256:
      return "SCRAM-SHA-256";
  }
  return {};
}

/// Returns the extension whose keyword is @p keyword (any case), or ehlo_extension{} (0).
constexpr ehlo_extension find_extension(std::string_view keyword) noexcept {
  for (std::uint32_t bit = 1; bit <= all_ehlo_extensions; bit <<= 1) {
    const auto e = static_cast<ehlo_extension>(bit);
    if (ascii::iequals(keyword, keyword_name(e))) return e;
  }
  return ehlo_extension{};
}

/// Returns the mechanism named @p name (any case), or auth_mechanism{} (0).
constexpr auth_mechanism find_mechanism(std::string_view name) noexcept {
  for (std::uint32_t bit = 1; bit <= all_auth_mechanisms; bit <<= 1) {
    const auto m = static_cast<auth_mechanism>(bit);
    if (ascii::iequals(name, mechanism_name(m))) return m;
  }
  return auth_mechanism{};
}

namespace detail {

/// ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
constexpr bool is_ehlo_keyword(std::string_view s) noexcept {
  if (s.empty() || !ascii::is_alnum(s[0])) return false;
  for (char c : s)
    if (!ascii::is_alnum(c) && c != '-') return false;
  return true;
}

/// ehlo-param *( SP ehlo-param ), ehlo-param = 1*(%d33-126): one or more words separated by
/// single SPs, with no SP before the first or after the last.
constexpr bool is_ehlo_word_list(std::string_view s) noexcept {
  bool need_word = true;  // at the start or just after an SP
  for (char c : s) {
    if (c == ' ') {
      if (need_word) return false;
      need_word = true;
    } else if (ascii::is_vchar(c)) {
      need_word = false;
    } else {
      return false;
    }
  }
  return !need_word;
}

/// *( SP ehlo-param ): what follows an ehlo-keyword (empty, or SP and a word list).
constexpr bool is_ehlo_params(std::string_view s) noexcept {
  return s.empty() || (s[0] == ' ' && is_ehlo_word_list(s.substr(1)));
}

/// Checks the domain of an EHLO reply's first line: RFC 5321 Domain (dot-separated labels of
/// letters, digits and inner hyphens; octets over 0x7F are taken as U-labels per RFC 6531) or
/// an address literal "[" 1*dcontent "]" (the form inside the brackets is not examined).
/// Returns errc{}, errc::bad_domain or errc::domain_too_long.
constexpr errc check_ehlo_domain(std::string_view d, std::size_t max_domain) noexcept {
  if (d.empty()) return errc::bad_domain;
  if (d.size() > max_domain) return errc::domain_too_long;
  if (d[0] == '[') {
    if (d.size() < 3 || d.back() != ']') return errc::bad_domain;
    for (std::size_t i = 1; i + 1 < d.size(); ++i) {
      const char c = d[i];
      // dcontent = %d33-90 / %d94-126
      if (!ascii::is_vchar(c) || c == '[' || c == '\\' || c == ']') return errc::bad_domain;
    }
    return errc{};
  }
  std::size_t label = 0;  // length of the current label
  char prev = '.';
  for (char c : d) {
    if (c == '.') {
      if (label == 0 || prev == '-') return errc::bad_domain;
      label = 0;
    } else if (ascii::is_alnum(c) || ascii::is_8bit(c)) {
      ++label;
    } else if (c == '-') {
      if (label == 0) return errc::bad_domain;
      ++label;
    } else {
      return errc::bad_domain;
    }
    prev = c;
  }
  if (label == 0 || prev == '-') return errc::bad_domain;
  return errc{};
}

/// Splits an ehlo-line into keyword and params (the rest after the first SP, or "").
/// The legacy "AUTH=mech ..." form gives keyword "AUTH" and the mechanisms as params.
struct ehlo_line_parts {
  std::string_view keyword;
  std::string_view params;
  bool legacy_auth = false;
};

constexpr ehlo_line_parts split_ehlo_line(std::string_view line) noexcept {
  ehlo_line_parts p;
  if (line.size() >= 5 && ascii::istarts_with(line, "AUTH=")) {
    p.keyword = line.substr(0, 4);
    p.params = line.substr(5);
    p.legacy_auth = true;
    return p;
  }
  const std::size_t sp = line.find(' ');
  p.keyword = line.substr(0, sp);
  p.params = sp == std::string_view::npos ? std::string_view(line.data() + line.size(), 0)
                                          : line.substr(sp + 1);
  return p;
}

}  // namespace detail

/// Iterates SP-separated words (ehlo-params, mechanism names). Empty words are skipped.
class word_iterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = std::string_view;
  using difference_type = std::ptrdiff_t;
  using pointer = const std::string_view*;
  using reference = const std::string_view&;

  /// Makes the end iterator.
  constexpr word_iterator() noexcept = default;
  /// Makes an iterator at the first word of @p rest.
  constexpr explicit word_iterator(std::string_view rest) noexcept : rest_(rest), done_(false) {
    load();
  }

  constexpr reference operator*() const noexcept { return word_; }
  constexpr pointer operator->() const noexcept { return &word_; }
  constexpr word_iterator& operator++() noexcept {
    load();
    return *this;
  }
  constexpr word_iterator operator++(int) noexcept {
    word_iterator old = *this;
    load();
    return old;
  }
  friend constexpr bool operator==(const word_iterator& a, const word_iterator& b) noexcept {
    return a.done_ == b.done_ && (a.done_ || a.word_.data() == b.word_.data());
  }
  friend constexpr bool operator!=(const word_iterator& a, const word_iterator& b) noexcept {
    return !(a == b);
  }

 private:
  constexpr void load() noexcept {
    while (!rest_.empty() && rest_[0] == ' ') rest_.remove_prefix(1);
    if (rest_.empty()) {
      done_ = true;
      word_ = {};
      return;
    }
    const std::size_t sp = rest_.find(' ');
    word_ = rest_.substr(0, sp);
    rest_.remove_prefix(word_.size());
  }

  std::string_view rest_{};
  std::string_view word_{};
  bool done_ = true;
};

/// The SP-separated words of a string, for range-for.
class word_range {
 public:
  constexpr word_range() noexcept = default;
  constexpr explicit word_range(std::string_view s) noexcept : s_(s) {}
  constexpr word_iterator begin() const noexcept { return word_iterator(s_); }
  constexpr word_iterator end() const noexcept { return word_iterator(); }

 private:
  std::string_view s_{};
};

/// One capability line of an EHLO reply.
/// @warning Views into the reply's bytes.
struct ehlo_keyword {
  std::string_view keyword;  ///< as sent ("PIPELINING", "X-EXPS"); "AUTH" for "AUTH=..."
  std::string_view params;   ///< what follows the keyword and its SP (or '='), "" if nothing
  ehlo_extension known{};    ///< the extension, or ehlo_extension{} (0) when unknown
  bool legacy_auth = false;  ///< true for the "AUTH=mech..." form

  /// Returns the params one by one.
  constexpr word_range words() const noexcept { return word_range(params); }
};

/// Iterates the capability lines of a parsed EHLO reply (not the first, domain line).
class ehlo_keyword_iterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = ehlo_keyword;
  using difference_type = std::ptrdiff_t;
  using pointer = const ehlo_keyword*;
  using reference = const ehlo_keyword&;

  ehlo_keyword_iterator() noexcept = default;
  ehlo_keyword_iterator(reply_line_iterator it, reply_line_iterator end, bool unknown_only) noexcept
      : it_(it), end_(end), unknown_only_(unknown_only) {
    settle();
  }

  reference operator*() const noexcept { return cur_; }
  pointer operator->() const noexcept { return &cur_; }
  ehlo_keyword_iterator& operator++() noexcept {
    ++it_;
    settle();
    return *this;
  }
  ehlo_keyword_iterator operator++(int) noexcept {
    ehlo_keyword_iterator old = *this;
    ++*this;
    return old;
  }
  friend bool operator==(const ehlo_keyword_iterator& a, const ehlo_keyword_iterator& b) noexcept {
    return a.it_ == b.it_;
  }
  friend bool operator!=(const ehlo_keyword_iterator& a, const ehlo_keyword_iterator& b) noexcept {
    return a.it_ != b.it_;
  }

 private:
  void settle() noexcept {
    for (; it_ != end_; ++it_) {
      const detail::ehlo_line_parts p = detail::split_ehlo_line(it_->raw_text);
      cur_.keyword = p.keyword;
      cur_.params = p.params;
      cur_.legacy_auth = p.legacy_auth;
      cur_.known = find_extension(p.keyword);
      if (cur_.known == ehlo_extension::auth && p.params.empty()) cur_.known = ehlo_extension{};
      if (!unknown_only_ || cur_.known == ehlo_extension{}) return;
    }
  }

  reply_line_iterator it_{};
  reply_line_iterator end_{};
  bool unknown_only_ = false;
  ehlo_keyword cur_{};
};

/// The capability lines of a parsed EHLO reply, for range-for.
class ehlo_keyword_range {
 public:
  ehlo_keyword_range() noexcept = default;
  ehlo_keyword_range(std::string_view raw, bool unknown_only) noexcept
      : raw_(raw), unknown_only_(unknown_only) {}
  ehlo_keyword_iterator begin() const noexcept {
    reply_line_range lines(raw_);
    reply_line_iterator first = lines.begin();
    if (first != lines.end()) ++first;  // skip the domain line
    return {first, lines.end(), unknown_only_};
  }
  ehlo_keyword_iterator end() const noexcept {
    reply_line_range lines(raw_);
    return {lines.end(), lines.end(), unknown_only_};
  }

 private:
  std::string_view raw_{};
  bool unknown_only_ = false;
};

/// What a server offers in its reply to EHLO.
/// @warning Views into the reply's bytes; valid as long as those bytes.
struct ehlo_capabilities {
  std::string_view domain;       ///< the server's name (or address literal) from the first line
  std::string_view greeting;     ///< the rest of the first line after the domain and SP, or ""
  std::uint32_t extensions = 0;  ///< ehlo_extension bits
  std::uint64_t max_size = 0;    ///< SIZE's number; 0 for no SIZE, "SIZE" or "SIZE 0" (no limit)
  std::uint32_t auth = 0;        ///< auth_mechanism bits from the AUTH and AUTH= lines
  std::string_view auth_params;  ///< the mechanisms of the "AUTH" line, as sent
  std::string_view legacy_auth_params;  ///< the mechanisms of the "AUTH=" line, as sent
  std::string_view raw;                 ///< the whole reply

  /// Returns true when the server offers @p e.
  constexpr bool has(ehlo_extension e) const noexcept {
    return (extensions & static_cast<std::uint32_t>(e)) != 0;
  }
  /// Returns true when the server offers mechanism @p m (in AUTH or AUTH=).
  constexpr bool has(auth_mechanism m) const noexcept {
    return (auth & static_cast<std::uint32_t>(m)) != 0;
  }
  /// Returns true when the server lists the mechanism @p name (any case), known or not.
  constexpr bool has_mechanism(std::string_view name) const noexcept {
    for (std::string_view w : word_range(auth_params))
      if (ascii::iequals(w, name)) return true;
    for (std::string_view w : word_range(legacy_auth_params))
      if (ascii::iequals(w, name)) return true;
    return false;
  }
  /// Returns every capability line, known or not, in order.
  ehlo_keyword_range keywords() const noexcept { return {raw, false}; }
  /// Returns the capability lines whose keyword smtpkit does not know.
  ehlo_keyword_range unknown_keywords() const noexcept { return {raw, true}; }
};

/// Parses the reply to EHLO.
/// @code
/// ehlo-ok-rsp  = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
///                / ( "250-" Domain [ SP ehlo-greet ] CRLF
///                *( "250-" ehlo-line CRLF )
///                "250" SP ehlo-line CRLF )
/// ehlo-line    = ehlo-keyword *( SP ehlo-param )
/// @endcode
/// @param r a reply read by reply_reader.
/// @param lim lim.domain bounds the domain (255).
/// @return the capabilities, or: errc::bad_reply_code (the reply is not 250: the caller should
///   fall back to HELO or give up), errc::domain_too_long (the first line's name is over
///   lim.domain; otherwise that name is taken as given, for display only), errc::bad_reply (a line
///   that is no ehlo-line), errc::bad_number (SIZE's value is not one number of at most 20 digits
///   that fits 64 bits).
/// @warning The capabilities hold views into the reply's bytes.
inline result<ehlo_capabilities> parse_ehlo_reply(const reply& r,
                                                  const limits& lim = limits{}) noexcept {
  if (r.code() != 250) return errc::bad_reply_code;
  ehlo_capabilities caps;
  caps.raw = r.raw();
  bool first = true;
  for (const reply_line& line : r.lines()) {
    const std::string_view t = line.raw_text;
    if (first) {
      first = false;
      const std::size_t sp = t.find(' ');
      caps.domain = t.substr(0, sp);
      caps.greeting = sp == std::string_view::npos ? std::string_view(t.data() + t.size(), 0)
                                                   : t.substr(sp + 1);
      // The server's name is for display only: a client must not fail a delivery over a name
      // like "mail_gw" that breaks the Domain rule (Postfix's client does not check it
      // either); only its length is bounded.
      if (caps.domain.size() > lim.domain) return errc::domain_too_long;
      continue;
    }
    const detail::ehlo_line_parts p = detail::split_ehlo_line(t);
    if (!detail::is_ehlo_keyword(p.keyword)) return errc::bad_reply;
    if (p.legacy_auth) {
      // The mechanisms after '=' follow the ehlo-param rules; "AUTH=" alone lists none.
      if (!p.params.empty() && !detail::is_ehlo_word_list(p.params)) return errc::bad_reply;
    } else if (!detail::is_ehlo_params(t.substr(p.keyword.size()))) {
      return errc::bad_reply;
    }
    const ehlo_extension e = find_extension(p.keyword);
    // AUTH needs at least one mechanism (RFC 4954 3); without one the line offers nothing and
    // stays an unknown keyword (rule 4).
    if (e == ehlo_extension::auth && p.params.empty()) continue;
    caps.extensions |= static_cast<std::uint32_t>(e);
    if (e == ehlo_extension::size) {
      caps.max_size = 0;
      if (!p.params.empty()) {
        std::uint64_t n = 0;
        if (!ascii::parse_uint(p.params, n)) return errc::bad_number;
        caps.max_size = n;
      }
    } else if (e == ehlo_extension::auth) {
      (p.legacy_auth ? caps.legacy_auth_params : caps.auth_params) = p.params;
      for (std::string_view w : word_range(p.params))
        caps.auth |= static_cast<std::uint32_t>(find_mechanism(w));
    }
  }
  return caps;
}

/// Parses @p bytes, exactly one complete reply, as the reply to EHLO.
/// @return as parse_reply() and parse_ehlo_reply(const reply&, const limits&).
/// @warning The capabilities hold views into @p bytes.
inline result<ehlo_capabilities> parse_ehlo_reply(std::string_view bytes,
                                                  const limits& lim = limits{}) noexcept {
  const result<reply> r = parse_reply(bytes, lim);
  if (!r) return r.error();
  return parse_ehlo_reply(*r, lim);
}

/// What a server advertises in its reply to EHLO.
/// @warning A non-owning view of the strings.
struct ehlo_config {
  std::string_view domain;            ///< the server's name, or an address literal
  std::string_view greeting;          ///< text after the domain on the first line, or ""
  std::uint32_t extensions = 0;       ///< ehlo_extension bits to advertise
  std::uint64_t max_size = 0;         ///< SIZE's number; 0 writes "SIZE" alone (no fixed limit)
  std::uint32_t auth = 0;             ///< auth_mechanism bits listed after AUTH
  std::string_view other_mechanisms;  ///< more mechanisms after the known ones ("GSSAPI NTLM")
  /// Also writes "AUTH=mech..." for clients older than RFC 4954 (Outlook Express 4.x), as
  /// Postfix's broken_sasl_auth_clients does.
  bool legacy_auth = false;
  line_list extra;  ///< more capability lines, each an ehlo-line ("XCLIENT NAME ADDR")
};

namespace detail {

/// Appends the auth mechanisms of @p cfg separated by SP.
inline bool append_ehlo_mechanisms(byte_writer& out, const ehlo_config& cfg) noexcept {
  bool sep = false;
  for (std::uint32_t bit = 1; bit <= all_auth_mechanisms; bit <<= 1) {
    if ((cfg.auth & bit) == 0) continue;
    if (sep && !out.push(' ')) return false;
    if (!out.append(mechanism_name(static_cast<auth_mechanism>(bit)))) return false;
    sep = true;
  }
  if (!cfg.other_mechanisms.empty()) {
    if (sep && !out.push(' ')) return false;
    if (!out.append(cfg.other_mechanisms)) return false;
  }
  return true;
}

/// The order in which write_ehlo_reply() lists the extensions (as Postfix does, roughly).
inline constexpr ehlo_extension ehlo_write_order[] = {
    ehlo_extension::pipelining,
    ehlo_extension::size,
    ehlo_extension::starttls,
    ehlo_extension::auth,
    ehlo_extension::enhanced_status_codes,
    ehlo_extension::eight_bit_mime,
    ehlo_extension::binary_mime,
    ehlo_extension::dsn,
    ehlo_extension::smtputf8,
    ehlo_extension::chunking,
    ehlo_extension::requiretls,
};

}  // namespace detail

/// Appends the multiline 250 reply to EHLO: the domain line, one line per extension in
/// @p cfg.extensions, then @p cfg.extra. With no extension and no extra line it is one line.
/// @param out where the bytes go.
/// @param cfg what to advertise.
/// @param max_line the longest line allowed, code to CRLF inclusive (512).
/// @return an empty error_code, or:
///   errc::invalid_argument - a bad domain or one over 255 octets; a greeting with control
///     octets; unknown extension or mechanism bits; AUTH without any mechanism (or mechanisms
///     without AUTH); other_mechanisms that are not SP-separated RFC 4422 names or that repeat
///     a known one; an extra line that is no ehlo-line or whose keyword is a known one;
///   errc::line_too_long - a line over @p max_line;
///   errc::output_full - @p out has no room.
/// Nothing is appended on error.
inline std::error_code write_ehlo_reply(byte_writer& out, const ehlo_config& cfg,
                                        std::size_t max_line = limits{}.reply_line) noexcept {
  if (detail::check_ehlo_domain(cfg.domain, limits{}.domain) != errc{})
    return errc::invalid_argument;
  for (char c : cfg.greeting)
    if (!detail::is_reply_text_octet(c)) return errc::invalid_argument;
  if ((cfg.extensions & ~all_ehlo_extensions) != 0 || (cfg.auth & ~all_auth_mechanisms) != 0)
    return errc::invalid_argument;
  const bool auth = (cfg.extensions & static_cast<std::uint32_t>(ehlo_extension::auth)) != 0;
  const bool mechanisms = cfg.auth != 0 || !cfg.other_mechanisms.empty();
  if (auth != mechanisms || (cfg.legacy_auth && !auth)) return errc::invalid_argument;
  if (!cfg.other_mechanisms.empty()) {
    if (!detail::is_ehlo_word_list(cfg.other_mechanisms)) return errc::invalid_argument;
    for (std::string_view w : word_range(cfg.other_mechanisms))
      if (!detail::is_sasl_mech(w) || find_mechanism(w) != auth_mechanism{})
        return errc::invalid_argument;
  }
  for (std::string_view line : cfg.extra) {
    const detail::ehlo_line_parts p = detail::split_ehlo_line(line);
    if (p.legacy_auth || !detail::is_ehlo_keyword(p.keyword) ||
        !detail::is_ehlo_params(line.substr(p.keyword.size())) ||
        find_extension(p.keyword) != ehlo_extension{})
      return errc::invalid_argument;
  }

  std::size_t count = 1 + cfg.extra.size() + (cfg.legacy_auth ? 1 : 0);
  for (ehlo_extension e : detail::ehlo_write_order)
    if ((cfg.extensions & static_cast<std::uint32_t>(e)) != 0) ++count;

  const std::size_t mark = out.mark();
  std::size_t index = 0;
  std::size_t line_start = 0;
  auto begin_line = [&]() noexcept {
    line_start = out.size();
    ++index;
    return out.append("250") && out.push(index == count ? ' ' : '-');
  };
  auto end_line = [&]() noexcept -> errc {
    if (out.size() - line_start + 2 > max_line) return errc::line_too_long;
    return out.append("\r\n") ? errc{} : errc::output_full;
  };
  auto fail = [&](errc e) noexcept -> std::error_code {
    out.rollback(mark);
    return e;
  };

  if (!begin_line() || !out.append(cfg.domain)) return fail(errc::output_full);
  if (!cfg.greeting.empty() && (!out.push(' ') || !out.append(cfg.greeting)))
    return fail(errc::output_full);
  if (const errc e = end_line(); e != errc{}) return fail(e);

  for (ehlo_extension ext : detail::ehlo_write_order) {
    if ((cfg.extensions & static_cast<std::uint32_t>(ext)) == 0) continue;
    if (!begin_line() || !out.append(keyword_name(ext))) return fail(errc::output_full);
    if (ext == ehlo_extension::size && cfg.max_size != 0) {
      if (!out.push(' ') || !out.append_uint(cfg.max_size)) return fail(errc::output_full);
    } else if (ext == ehlo_extension::auth) {
      if (!out.push(' ') || !detail::append_ehlo_mechanisms(out, cfg))
        return fail(errc::output_full);
    }
    if (const errc e = end_line(); e != errc{}) return fail(e);
    if (ext == ehlo_extension::auth && cfg.legacy_auth) {
      if (!begin_line() || !out.append("AUTH=") || !detail::append_ehlo_mechanisms(out, cfg))
        return fail(errc::output_full);
      if (const errc e = end_line(); e != errc{}) return fail(e);
    }
  }
  for (std::string_view line : cfg.extra) {
    if (!begin_line() || !out.append(line)) return fail(errc::output_full);
    if (const errc e = end_line(); e != errc{}) return fail(e);
  }
  return {};
}

SMTPKIT_NAMESPACE_END
