// smtpkit fuzzing: parse_command() and parse_sasl_response() (codec/command.hpp), the server's
// parser of command lines. RFC 5321 4.1.1, 4.1.2, 4.5.3.1.4; RFC 2033; RFC 3030 2; RFC 3207;
// RFC 4954 4; RFC 6531 3.7.4.
//
// Each line of the input is parsed under the default limits, small limits and the strict
// space-after-colon setting. Properties:
//  1. An error is one of the codes parse_command() documents.
//  2. A command's verb is the line's first word (any case); every view in it lies in the line;
//     the line fits limits::command_line (limits::auth_line for AUTH), and every path, domain
//     and local-part in it fits its limit.
//  3. Verbs are case-insensitive: the line with its verb upper-cased parses the same.
//  4. A success under small limits is a success, with an equal command, under the defaults; a
//     success under the strict leniency is one under the default, and the default accepts
//     no more than the strict one but "MAIL FROM: <" / "RCPT TO: <".
//  5. A SASL response is "*" (cancel) or the line itself as base64.
// SPDX-License-Identifier: MIT
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t
#include <smtpkit/codec/command.hpp>
#include <smtpkit/core/leniency.hpp>
#include <smtpkit/core/limits.hpp>
#include <string>       // string
#include <string_view>  // string_view
#include <variant>      // visit, get_if

#include "fuzz_support.hpp"

namespace {

using namespace smtpkit;

bool documented(errc e) {
  switch (e) {
    case errc::unknown_command:
    case errc::line_too_long:
    case errc::auth_line_too_long:
    case errc::syntax_error:
    case errc::bad_path:
    case errc::bad_local_part:
    case errc::bad_domain:
    case errc::bad_address_literal:
    case errc::bad_utf8:
    case errc::local_part_too_long:
    case errc::domain_too_long:
    case errc::path_too_long:
    case errc::space_after_colon:
    case errc::bad_parameter:
    case errc::bad_xtext:
    case errc::duplicate_parameter:
    case errc::bad_bdat:
    case errc::bad_base64:
      return true;
    default:
      return false;
  }
}

/// Checks that every view of @p c lies in @p line and fits @p lim.
struct view_checker {
  std::string_view line;
  const limits& lim;

  void in(std::string_view v) const {
    if (v.empty()) return;
    SMTPKIT_FUZZ_CHECK(v.data() >= line.data() && v.data() + v.size() <= line.data() + line.size());
  }
  void box(const mailbox& m) const {
    in(m.local_part());
    in(m.domain());
    SMTPKIT_FUZZ_CHECK(m.local_part().size() <= lim.local_part);
    SMTPKIT_FUZZ_CHECK(m.domain().size() <= lim.domain);
    if (!m.empty()) SMTPKIT_FUZZ_CHECK(m.size() + 2 <= lim.path);
  }
  void params(const param_list& list) const {
    for (const esmtp_param& q : list) {
      in(q.keyword);
      in(q.value);
    }
  }
  template <verb V>
  void operator()(const greeting_command<V>& c) const {
    in(c.domain.text());
    SMTPKIT_FUZZ_CHECK(!c.domain.empty() && c.domain.text().size() <= lim.domain);
  }
  void operator()(const mail_command& c) const {
    box(c.from.address());
    in(c.params.envid());
    in(c.params.auth());
    params(c.params.extensions());
  }
  void operator()(const rcpt_command& c) const {
    SMTPKIT_FUZZ_CHECK(!c.to.empty());
    if (c.to.is_postmaster()) {  // "<Postmaster>": no domain, no limit to apply
      in(c.to.address().local_part());
      SMTPKIT_FUZZ_CHECK(c.to.address().domain().empty() &&
                         ascii::iequals(c.to.address().local_part(), "postmaster"));
    } else {
      box(c.to.address());
    }
    in(c.params.orcpt_type());
    in(c.params.orcpt_address());
    params(c.params.extensions());
  }
  template <verb V>
  void operator()(const bare_command<V>&) const {}
  void operator()(const bdat_command&) const {}
  template <verb V>
  void operator()(const text_command<V>& c) const {
    in(c.text);
  }
  template <verb V>
  void operator()(const lookup_command<V>& c) const {
    in(c.argument);
    SMTPKIT_FUZZ_CHECK(!c.argument.empty());
  }
  void operator()(const auth_command& c) const {
    in(c.mechanism);
    in(c.initial_response);
    SMTPKIT_FUZZ_CHECK(!c.mechanism.empty() && c.mechanism.size() <= 20);
  }
};

/// Returns @p line with its first word (the verb, 4 or 8 octets) upper-cased.
std::string upper_verb(std::string_view line) {
  std::string s(line);
  const std::size_t n = ascii::istarts_with(s, "STARTTLS") ? 8 : 4;
  for (std::size_t i = 0; i < n && i < s.size(); ++i) s[i] = ascii::to_upper(s[i]);
  return s;
}

void check_line(std::string_view line) {
  const limits defaults;
  limits small;
  small.command_line = 40;
  small.auth_line = 30;
  small.local_part = 8;
  small.domain = 16;
  small.path = 30;
  leniency strict;
  strict.refuse_space_after_colon = true;

  const result<command> c = parse_command(line, defaults);
  const result<command> cs = parse_command(line, small);
  const result<command> cl = parse_command(line, defaults, strict);
  for (const result<command>* r : {&c, &cs, &cl}) {
    if (!*r) SMTPKIT_FUZZ_CHECK(documented(r->error()));
  }
  if (c) {
    const verb v = verb_of(*c);
    SMTPKIT_FUZZ_CHECK(ascii::istarts_with(line, to_string(v)));
    const std::size_t vlen = to_string(v).size();
    SMTPKIT_FUZZ_CHECK(line.size() == vlen || line[vlen] == ' ');
    SMTPKIT_FUZZ_CHECK(line.size() + 2 <=
                       (v == verb::auth ? defaults.auth_line : defaults.command_line));
    std::visit(view_checker{line, defaults}, *c);
    // Property 3.
    const std::string upper = upper_verb(line);
    const result<command> u = parse_command(upper, defaults);
    SMTPKIT_FUZZ_CHECK(u.has_value() && *u == *c && !(*u != *c));
  } else {
    const std::string upper = upper_verb(line);
    const result<command> u = parse_command(upper, defaults);
    SMTPKIT_FUZZ_CHECK(!u && u.error() == c.error());
  }
  // Property 4.
  if (cs) {
    std::visit(view_checker{line, small}, *cs);
    SMTPKIT_FUZZ_CHECK(c.has_value() && *c == *cs);
    SMTPKIT_FUZZ_CHECK(line.size() + 2 <=
                       (verb_of(*cs) == verb::auth ? small.auth_line : small.command_line));
  }
  if (cl) SMTPKIT_FUZZ_CHECK(c.has_value() && *c == *cl);
  if (c && !cl) {
    SMTPKIT_FUZZ_CHECK(cl.error() == errc::space_after_colon);
    SMTPKIT_FUZZ_CHECK(ascii::istarts_with(line, "MAIL FROM: ") ||
                       ascii::istarts_with(line, "RCPT TO: "));
  }
  if (!cl && cl.error() == errc::space_after_colon)
    SMTPKIT_FUZZ_CHECK(line.find(": ") != line.npos);
  // Property 5.
  const result<sasl_response> s = parse_sasl_response(line, defaults);
  if (s) {
    SMTPKIT_FUZZ_CHECK(s->cancel == (line == "*"));
    if (!s->cancel) SMTPKIT_FUZZ_CHECK(s->data == line && s->data.data() == line.data());
    const sasl_response want{s->cancel ? std::string_view() : line, s->cancel};
    SMTPKIT_FUZZ_CHECK(*s == want && !(*s != want));
  } else {
    SMTPKIT_FUZZ_CHECK(s.error() == errc::bad_base64 || s.error() == errc::auth_line_too_long);
  }
}

void check(std::string_view in) {
  smtpkit_fuzz::for_each_line(in, [](std::string_view line) {
    const smtpkit_fuzz::exact_copy c(line);
    check_line(c.view());
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smtpkit_fuzz::run_plain_and_alphabet(data, size, check);
  return 0;
}
