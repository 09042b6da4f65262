// smtpkit codec: SMTP command lines and their parser. RFC 5321 4.1.1 (commands), 4.1.2
// (arguments), 4.5.3.1.4 (line length); RFC 2033 (LHLO); RFC 3030 2 (BDAT); RFC 3207 4
// (STARTTLS); RFC 4954 4 (AUTH, SASL responses) with RFC 4422 3.1 (mechanism names);
// RFC 6531 3.7.4 (VRFY/EXPN SMTPUTF8).
//
//   ehlo = "EHLO" SP ( Domain / address-literal ) CRLF
//   mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF
//   rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
//          [SP Rcpt-parameters] CRLF
//   bdat = "BDAT" SP chunk-size [ SP end-marker ] CRLF
//   auth = "AUTH" SP sasl-mech [SP initial-response]
//
// Rules:
//  1. parse_command() takes one line without its CRLF and returns a command: a std::variant of
//     one small struct per verb, whose index is the verb. Every string in it is a view into
//     the line; nothing is copied or allocated.
//  2. Verbs are case-insensitive (RFC 5321 2.4) and dispatched on their first four octets.
//  3. The three classes of failure stay apart: errc::unknown_command is 500 (not a verb);
//     every other syntax errc is 501 (bad arguments); unknown or misplaced ESMTP parameters
//     parse and are counted in the parameters (555 by default, the application decides).
//  4. Strict RFC 5321 grammar, with one default leniency: "MAIL FROM: <a@b>" (one SP after
//     the colon), which leniency::refuse_space_after_colon refuses (errc::space_after_colon).
//  5. Line length is checked: limits::command_line (errc::line_too_long), or for AUTH
//     limits::auth_line (errc::auth_line_too_long); both include the CRLF.
//  6. Values compare equal when they carry the same information (see path.hpp and
//     esmtp_params.hpp), so parse(write(x)) == x can be checked.
//  7. AUTH mechanism names are checked by RFC 4422's character set and length but in any case
//     ("AUTH plain" parses, mechanism "plain" as sent), for interoperability; see
//     detail/sasl_mech.hpp.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                             // size_t, ptrdiff_t
#include <cstdint>                             // uint64_t
#include <smtpkit/codec/base64.hpp>            // is_base64
#include <smtpkit/codec/detail/sasl_mech.hpp>  // detail::is_sasl_mech
#include <smtpkit/codec/esmtp_params.hpp>      // mail_parameters, rcpt_parameters
#include <smtpkit/codec/path.hpp>              // host, reverse_path, forward_path
#include <smtpkit/core/bytes.hpp>              // ascii::parse_uint
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>     // errc
#include <smtpkit/core/leniency.hpp>  // leniency
#include <smtpkit/core/limits.hpp>    // limits
#include <smtpkit/core/result.hpp>    // result
#include <string_view>                // string_view
#include <type_traits>                // is_same_v
#include <utility>                    // in_place_type
#include <variant>                    // variant

SMTPKIT_NAMESPACE_BEGIN

/// The SMTP commands smtpkit parses. The order is the order of the command variant.
enum class verb : unsigned char {
  helo = 0,       ///< HELO (RFC 5321 4.1.1.1)
  ehlo = 1,       ///< EHLO (RFC 5321 4.1.1.1)
  lhlo = 2,       ///< LHLO (RFC 2033 4.1)
  mail = 3,       ///< MAIL FROM: (RFC 5321 4.1.1.2)
  rcpt = 4,       ///< RCPT TO: (RFC 5321 4.1.1.3)
  data = 5,       ///< DATA (RFC 5321 4.1.1.4)
  bdat = 6,       ///< BDAT (RFC 3030 2)
  rset = 7,       ///< RSET (RFC 5321 4.1.1.5)
  noop = 8,       ///< NOOP (RFC 5321 4.1.1.9)
  quit = 9,       ///< QUIT (RFC 5321 4.1.1.10)
  vrfy = 10,      ///< VRFY (RFC 5321 4.1.1.6)
  expn = 11,      ///< EXPN (RFC 5321 4.1.1.7)
  help = 12,      ///< HELP (RFC 5321 4.1.1.8)
  starttls = 13,  ///< STARTTLS (RFC 3207 4)
  auth = 14,      ///< AUTH (RFC 4954 4)
};

/// Returns the verb as sent by smtpkit's writer ("EHLO", "MAIL", ...).
constexpr std::string_view to_string(verb v) noexcept {
  constexpr std::string_view names[] = {"HELO", "EHLO", "LHLO", "MAIL",     "RCPT",
                                        "DATA", "BDAT", "RSET", "NOOP",     "QUIT",
                                        "VRFY", "EXPN", "HELP", "STARTTLS", "AUTH"};
  const auto i = static_cast<unsigned>(v);
  return i < 15 ? names[i] : std::string_view();
}

/// HELO, EHLO, LHLO: the client's domain or address literal.
template <verb V>
struct greeting_command {
  host domain;  ///< the argument (RFC 5321 4.1.1.1); its text() is the raw argument

  friend constexpr bool operator==(const greeting_command& a, const greeting_command& b) noexcept {
    return a.domain == b.domain;
  }
  friend constexpr bool operator!=(const greeting_command& a, const greeting_command& b) noexcept {
    return !(a == b);
  }
};
using helo_command = greeting_command<verb::helo>;
using ehlo_command = greeting_command<verb::ehlo>;
using lhlo_command = greeting_command<verb::lhlo>;

/// MAIL FROM:<reverse-path> [parameters].
struct mail_command {
  reverse_path from;       ///< "<>" for a bounce
  mail_parameters params;  ///< SIZE, BODY, ... and the extensions

  friend bool operator==(const mail_command& a, const mail_command& b) noexcept {
    return a.from == b.from && a.params == b.params;
  }
  friend bool operator!=(const mail_command& a, const mail_command& b) noexcept {
    return !(a == b);
  }
};

/// RCPT TO:<forward-path> [parameters].
struct rcpt_command {
  forward_path to;         ///< may be "<Postmaster>" (to.is_postmaster())
  rcpt_parameters params;  ///< NOTIFY, ORCPT and the extensions

  friend bool operator==(const rcpt_command& a, const rcpt_command& b) noexcept {
    return a.to == b.to && a.params == b.params;
  }
  friend bool operator!=(const rcpt_command& a, const rcpt_command& b) noexcept {
    return !(a == b);
  }
};

/// DATA, RSET, QUIT, STARTTLS: no argument.
template <verb V>
struct bare_command {
  friend constexpr bool operator==(const bare_command&, const bare_command&) noexcept {
    return true;
  }
  friend constexpr bool operator!=(const bare_command&, const bare_command&) noexcept {
    return false;
  }
};
using data_command = bare_command<verb::data>;
using rset_command = bare_command<verb::rset>;
using quit_command = bare_command<verb::quit>;
using starttls_command = bare_command<verb::starttls>;

/// BDAT chunk-size [LAST] (RFC 3030 2).
struct bdat_command {
  std::uint64_t size = 0;  ///< the chunk's size in octets
  bool last = false;       ///< true for the last chunk

  friend constexpr bool operator==(const bdat_command& a, const bdat_command& b) noexcept {
    return a.size == b.size && a.last == b.last;
  }
  friend constexpr bool operator!=(const bdat_command& a, const bdat_command& b) noexcept {
    return !(a == b);
  }
};

/// NOOP [SP String], HELP [SP String].
template <verb V>
struct text_command {
  std::string_view text;  ///< the String (an Atom or a Quoted-string as sent); empty if none

  friend constexpr bool operator==(const text_command& a, const text_command& b) noexcept {
    return a.text == b.text;
  }
  friend constexpr bool operator!=(const text_command& a, const text_command& b) noexcept {
    return !(a == b);
  }
};
using noop_command = text_command<verb::noop>;
using help_command = text_command<verb::help>;

/// VRFY / EXPN argument [SP "SMTPUTF8"].
template <verb V>
struct lookup_command {
  /// The argument as sent: a String (Atom, Dot-string or Quoted-string, RFC 5321 4.1.1.6), a
  /// Mailbox, or a Path "<...>" (RFC 5321 3.5.3 asks servers to take a mailbox).
  std::string_view argument;
  bool smtputf8 = false;  ///< the RFC 6531 3.7.4.2 SMTPUTF8 parameter was given
  bool utf8 = false;      ///< the argument holds UTF-8

  friend constexpr bool operator==(const lookup_command& a, const lookup_command& b) noexcept {
    return a.argument == b.argument && a.smtputf8 == b.smtputf8;
  }
  friend constexpr bool operator!=(const lookup_command& a, const lookup_command& b) noexcept {
    return !(a == b);
  }
};
using vrfy_command = lookup_command<verb::vrfy>;
using expn_command = lookup_command<verb::expn>;

/// AUTH mechanism [initial-response] (RFC 4954 4).
struct auth_command {
  std::string_view mechanism;  ///< RFC 4422 sasl-mech, any case: 1*20 of A-Z a-z 0-9 "-" "_"
  /// The initial response as sent: base64, or "=" for an empty response; empty when none was
  /// given. Decoding is left to the SASL layer.
  std::string_view initial_response;

  friend constexpr bool operator==(const auth_command& a, const auth_command& b) noexcept {
    return a.mechanism == b.mechanism && a.initial_response == b.initial_response;
  }
  friend constexpr bool operator!=(const auth_command& a, const auth_command& b) noexcept {
    return !(a == b);
  }
};

/// One parsed command; index() is the verb (see verb_of()).
/// @warning Holds views into the parsed line: valid while the line lives.
using command =
    std::variant<helo_command, ehlo_command, lhlo_command, mail_command, rcpt_command, data_command,
                 bdat_command, rset_command, noop_command, quit_command, vrfy_command, expn_command,
                 help_command, starttls_command, auth_command>;

static_assert(std::variant_size_v<command> == 15, "one alternative per verb");
static_assert(
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(verb::auth), command>,
                   auth_command>,
    "the variant follows the verb enumeration");

/// Returns the verb of @p c.
constexpr verb verb_of(const command& c) noexcept {
  return static_cast<verb>(c.index());
}

/// A SASL client response line (RFC 4954 4): base64 data, or "*" to cancel.
struct sasl_response {
  std::string_view data;  ///< base64 as sent; empty for an empty response
  bool cancel = false;    ///< the client sent "*"

  friend constexpr bool operator==(const sasl_response& a, const sasl_response& b) noexcept {
    return a.data == b.data && a.cancel == b.cancel;
  }
  friend constexpr bool operator!=(const sasl_response& a, const sasl_response& b) noexcept {
    return !(a == b);
  }
};

namespace detail {

/// Checks an AUTH initial-response: "=" or non-empty base64.
constexpr errc check_initial_response(std::string_view s) noexcept {
  if (s == "=") return no_error;
  return !s.empty() && is_base64(s) ? no_error : errc::bad_base64;
}

/// Scans an RFC 5321 String (Atom / Quoted-string); UTF-8 allowed (RFC 6531 3.3).
inline errc scan_string(const char*& p, const char* end, bool& utf8) noexcept {
  if (p == end) return errc::syntax_error;
  if (*p == '"')
    return scan_quoted_string(p, end, utf8) == no_error ? no_error : errc::syntax_error;
  const char* const s = p;
  while (p < end) {
    const std::uint16_t k = cls(*p);
    if (k & cc_atext) {
      ++p;
    } else if (k & cc_high) {
      const std::size_t n = utf8_length(p, end);
      if (n == 0) return errc::bad_utf8;
      p += n;
      utf8 = true;
    } else {
      break;
    }
  }
  return p == s ? errc::syntax_error : no_error;
}

/// Scans a VRFY/EXPN argument: a Path, a Mailbox, or a Local-part (String or Dot-string).
inline errc scan_lookup_argument(const char*& p, const char* begin, const char* end,
                                 const limits& lim, bool& utf8) noexcept {
  if (p == end) return errc::syntax_error;
  if (*p == '<') {
    mailbox m;
    const errc e = scan_path(p, begin, end, lim, path_mode::forward, m);
    utf8 = m.utf8();
    return e;
  }
  const char* const start = p;
  bool quoted = false;
  errc e = scan_local_part(p, begin, end, quoted, utf8);
  if (e != no_error) return e == errc::bad_local_part ? errc::syntax_error : e;
  if (p < end && *p == '@') {
    p = start;
    mailbox m;
    e = scan_mailbox(p, begin, end, lim, m);
    utf8 = m.utf8();
    if (e != no_error) return e;
    if (p - start + 2 > static_cast<std::ptrdiff_t>(lim.path)) return errc::path_too_long;
  }
  return no_error;
}

}  // namespace detail

namespace detail {

/// Parses @p line into @p out (see parse_command()); returns no_error or the error.
inline errc parse_command_into(std::string_view line, const limits& lim, const leniency& len,
                               command& out) noexcept {
  const std::size_t n = line.size();
  const char* const s = line.data();
  const char* const end = s + n;
  if (n < 4) return errc::unknown_command;
  verb v;
  std::size_t vlen = 4;
  switch (load_le32(s) | lower32) {
    case tag32("mail"):
      v = verb::mail;
      break;
    case tag32("rcpt"):
      v = verb::rcpt;
      break;
    case tag32("data"):
      v = verb::data;
      break;
    case tag32("ehlo"):
      v = verb::ehlo;
      break;
    case tag32("quit"):
      v = verb::quit;
      break;
    case tag32("rset"):
      v = verb::rset;
      break;
    case tag32("noop"):
      v = verb::noop;
      break;
    case tag32("bdat"):
      v = verb::bdat;
      break;
    case tag32("helo"):
      v = verb::helo;
      break;
    case tag32("lhlo"):
      v = verb::lhlo;
      break;
    case tag32("vrfy"):
      v = verb::vrfy;
      break;
    case tag32("expn"):
      v = verb::expn;
      break;
    case tag32("help"):
      v = verb::help;
      break;
    case tag32("auth"):
      v = verb::auth;
      break;
    case tag32("star"):
      if (n >= 8 && (load_le32(s + 4) | lower32) == tag32("ttls")) {
        v = verb::starttls;
        vlen = 8;
        break;
      }
      return n + 2 > lim.command_line ? errc::line_too_long : errc::unknown_command;
    default:
      return n + 2 > lim.command_line ? errc::line_too_long : errc::unknown_command;
  }
  if (n > vlen && s[vlen] != ' ')
    return n + 2 > lim.command_line ? errc::line_too_long : errc::unknown_command;
  if (v == verb::auth) {
    if (n + 2 > lim.auth_line) return errc::auth_line_too_long;
  } else if (n + 2 > lim.command_line) {
    return errc::line_too_long;
  }
  const char* p = n > vlen ? s + vlen + 1 : end;  // the first octet of the argument, if any

  switch (v) {
    case verb::mail: {
      // "MAIL FROM:" Reverse-path [SP Mail-parameters]
      if (n < 10 || (load_le32(s + 5) | lower32) != tag32("from") || s[9] != ':')
        return errc::syntax_error;
      p = s + 10;
      if (p < end && *p == ' ') {
        if (len.refuse_space_after_colon) return errc::space_after_colon;
        ++p;
      }
      mail_command& m = out.emplace<mail_command>();
      errc e = scan_path(p, s, end, lim, path_mode::reverse, path_access::box(m.from));
      if (e != no_error) return e;
      if (p < end) {
        if (*p != ' ' || p + 1 == end) return errc::syntax_error;
        ++p;
        e = param_access::parse(std::string_view(p, static_cast<std::size_t>(end - p)), s, lim,
                                mail_keywords, m.params);
        if (e != no_error) return e;
      }
      return no_error;
    }
    case verb::rcpt: {
      // "RCPT TO:" Forward-path [SP Rcpt-parameters]
      if (n < 8 || (load_le32(s + 4) | 0x00202000u) != tag32(" to:")) return errc::syntax_error;
      p = s + 8;
      if (p < end && *p == ' ') {
        if (len.refuse_space_after_colon) return errc::space_after_colon;
        ++p;
      }
      rcpt_command& c = out.emplace<rcpt_command>();
      errc e = scan_path(p, s, end, lim, path_mode::forward, path_access::box(c.to));
      if (e != no_error) return e;
      if (p < end) {
        if (*p != ' ' || p + 1 == end) return errc::syntax_error;
        ++p;
        e = param_access::parse(std::string_view(p, static_cast<std::size_t>(end - p)), s, lim,
                                rcpt_keywords, c.params);
        if (e != no_error) return e;
      }
      return no_error;
    }
    case verb::data:
      if (n != vlen) return errc::syntax_error;
      out.emplace<data_command>();
      return no_error;
    case verb::quit:
      if (n != vlen) return errc::syntax_error;
      out.emplace<quit_command>();
      return no_error;
    case verb::rset:
      if (n != vlen) return errc::syntax_error;
      out.emplace<rset_command>();
      return no_error;
    case verb::starttls:
      if (n != vlen) return errc::syntax_error;
      out.emplace<starttls_command>();
      return no_error;
    case verb::helo:
    case verb::ehlo:
    case verb::lhlo: {
      if (n <= vlen + 1) return errc::syntax_error;
      const std::string_view arg(p, static_cast<std::size_t>(end - p));
      // Each host is parsed straight into its place in the command.
      if (v == verb::ehlo)
        return path_access::parse_host(arg, lim, out.emplace<ehlo_command>().domain);
      if (v == verb::helo)
        return path_access::parse_host(arg, lim, out.emplace<helo_command>().domain);
      return path_access::parse_host(arg, lim, out.emplace<lhlo_command>().domain);
    }
    case verb::bdat: {
      // bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ]; chunk-size = 1*DIGIT; "LAST"
      if (n <= vlen + 1) return errc::bad_bdat;
      const char* q = p;
      while (q < end && ascii::is_digit(*q)) ++q;
      // 1*DIGIT has no length bound: leading zeros are skipped (keeping one digit) before
      // parse_uint counts at most 20 digits; a value over 2^64-1 stays bad_bdat.
      while (q - p > 1 && *p == '0') ++p;
      bdat_command b;
      if (!ascii::parse_uint(std::string_view(p, static_cast<std::size_t>(q - p)), b.size))
        return errc::bad_bdat;
      if (q < end) {
        if (end - q != 5 || *q != ' ' || (load_le32(q + 1) | lower32) != tag32("last"))
          return errc::bad_bdat;
        b.last = true;
      }
      out.emplace<bdat_command>(b);
      return no_error;
    }
    case verb::noop:
    case verb::help: {
      std::string_view text;
      if (n > vlen) {
        bool utf8 = false;
        const errc e = scan_string(p, end, utf8);
        if (e != no_error) return e;
        if (p != end) return errc::syntax_error;
        text = std::string_view(s + vlen + 1, n - vlen - 1);
      }
      if (v == verb::noop) {
        out.emplace<noop_command>(noop_command{text});
      } else {
        out.emplace<help_command>(help_command{text});
      }
      return no_error;
    }
    case verb::vrfy:
    case verb::expn: {
      if (n <= vlen + 1) return errc::syntax_error;
      vrfy_command c;
      const errc e = scan_lookup_argument(p, s, end, lim, c.utf8);
      if (e != no_error) return e;
      c.argument = std::string_view(s + vlen + 1, static_cast<std::size_t>(p - (s + vlen + 1)));
      if (p < end) {
        // The OR with 0x20 would also fold 0x18 into the final '8': it is compared exactly.
        if (end - p != 9 || *p != ' ' || (load_le64(p + 1) | lower64) != tag64("smtputf8") ||
            p[8] != '8')
          return errc::syntax_error;
        c.smtputf8 = true;
      }
      if (v == verb::vrfy) {
        out.emplace<vrfy_command>(c);
      } else {
        out.emplace<expn_command>(expn_command{c.argument, c.smtputf8, c.utf8});
      }
      return no_error;
    }
    case verb::auth: {
      if (n <= vlen + 1) return errc::syntax_error;
      const char* q = p;
      while (q < end && *q != ' ') ++q;
      auth_command a;
      a.mechanism = std::string_view(p, static_cast<std::size_t>(q - p));
      if (!is_sasl_mech(a.mechanism)) return errc::syntax_error;
      if (q < end) {
        a.initial_response = std::string_view(q + 1, static_cast<std::size_t>(end - q - 1));
        const errc e = check_initial_response(a.initial_response);
        if (e != no_error) return a.initial_response.empty() ? errc::syntax_error : e;
      }
      out.emplace<auth_command>(a);
      return no_error;
    }
  }
  return errc::unknown_command;
}

}  // namespace detail

/// Parses one command line, without its CRLF.
/// @param line the line as received (no CR, no LF).
/// @param lim line, local-part, domain and path limits.
/// @param len leniencies (only refuse_space_after_colon applies here).
/// @return the command, or:
///   - errc::unknown_command: not an SMTP verb smtpkit knows (500 5.5.1);
///   - errc::line_too_long (500 5.5.2), errc::auth_line_too_long (500 5.5.6);
///   - 501 5.5.4 material: errc::syntax_error (arguments missing, extra or malformed),
///     errc::bad_path, errc::bad_local_part, errc::bad_domain, errc::bad_address_literal,
///     errc::bad_utf8, errc::local_part_too_long, errc::domain_too_long, errc::path_too_long,
///     errc::space_after_colon, errc::bad_parameter, errc::bad_xtext,
///     errc::duplicate_parameter, errc::bad_bdat, errc::bad_base64.
///   Unknown ESMTP parameters are not an error: see mail_parameters::unknown_count().
/// @warning The result views @p line.
inline result<command> parse_command(std::string_view line, const limits& lim = limits{},
                                     const leniency& len = leniency{}) noexcept {
  // One named result, so that it is built in the caller's slot (no copy of the command).
  result<command> r{command(std::in_place_type<data_command>)};
  const errc e = detail::parse_command_into(line, lim, len, r.value());
  if (e != detail::no_error) r = e;
  return r;
}

/// Parses a SASL response line of the AUTH exchange (RFC 4954 4), without its CRLF: "*"
/// cancels, anything else must be base64 (an empty line is an empty response).
/// @return the response, or errc::auth_line_too_long (limits::auth_line, CRLF included;
///         500 5.5.6) or errc::bad_base64 (501 5.5.2).
/// @warning The result views @p line.
inline result<sasl_response> parse_sasl_response(std::string_view line,
                                                 const limits& lim = limits{}) noexcept {
  if (line.size() + 2 > lim.auth_line) return errc::auth_line_too_long;
  if (line == "*") return sasl_response{{}, true};
  if (!is_base64(line)) return errc::bad_base64;
  return sasl_response{line, false};
}

SMTPKIT_NAMESPACE_END
