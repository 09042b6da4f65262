// smtpkit fuzzing: commands, parse -> write -> parse (codec/command_writer.hpp rules 1-3).
// RFC 5321 4.1.1, 4.1.2; RFC 3030 2; RFC 4954 4; ESMTP parameters.
//
// Properties:
//  1. Every command parse_command() reads from an input line is written back by write_command()
//     without error (the canonical form is never longer than what was parsed), as one line
//     ending in CRLF with no CR or LF inside, that parses to an equal command; writing that
//     again gives the same bytes (the form is canonical). The same holds for SASL responses.
//  2. A command built from control bytes through the public constructors and setters (paths
//     from make_mailbox(), parameters from their setters, free texts, limits) is either refused
//     with invalid_argument, output_full, or line_too_long / auth_line_too_long (the error the
//     parser gives the over-long line) with nothing appended, or written as a line that
//     parses, under the same limits, to an equal command.
// SPDX-License-Identifier: MIT
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t, uint64_t
#include <deque>    // deque
#include <smtpkit/codec/command.hpp>
#include <smtpkit/codec/command_writer.hpp>
#include <smtpkit/codec/esmtp_params.hpp>
#include <smtpkit/codec/path.hpp>
#include <smtpkit/core/buffer.hpp>
#include <smtpkit/core/limits.hpp>
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code

#include "fuzz_support.hpp"

namespace {

using namespace smtpkit;

/// Writes @p c; returns the line without its CRLF, or fails the run on an unexpected error.
/// @p ok receives whether it was written.
std::string write(const command& c, const limits& lim, bool& ok, errc& error) {
  char buf[16384];
  byte_writer w(buf, sizeof buf);
  w.append("x");
  const std::error_code e = write_command(w, c, lim);
  ok = !e;
  if (e) {
    error = static_cast<errc>(e.value());
    SMTPKIT_FUZZ_CHECK(w.view() == "x");
    SMTPKIT_FUZZ_CHECK(error == errc::invalid_argument || error == errc::output_full ||
                       error == errc::line_too_long || error == errc::auth_line_too_long);
    if (error == errc::line_too_long || error == errc::auth_line_too_long) {
      // Only the length is wrong: the parser refuses the line with the same error.
      limits roomy = lim;
      roomy.command_line = roomy.auth_line = 100000;
      bool ok2 = false;
      errc e2{};
      const std::string line = write(c, roomy, ok2, e2);
      SMTPKIT_FUZZ_CHECK(ok2);
      const smtpkit_fuzz::exact_copy copy(line);
      const result<command> r = parse_command(copy.view(), lim);
      SMTPKIT_FUZZ_CHECK(!r && r.error() == error);
    }
    return {};
  }
  const std::string_view line = w.view().substr(1);
  SMTPKIT_FUZZ_CHECK(line.size() >= 2 && line.substr(line.size() - 2) == "\r\n");
  const std::string_view body = line.substr(0, line.size() - 2);
  for (char ch : body) SMTPKIT_FUZZ_CHECK(ch != '\r' && ch != '\n' && ch != '\0');
  std::string out(body);
  // Too little room: output_full, nothing appended.
  char small[16384];
  byte_writer tiny(small, line.size() - 1);
  SMTPKIT_FUZZ_CHECK(write_command(tiny, c, lim) == errc::output_full && tiny.size() == 0);
  return out;
}

/// Checks that @p line (as written) parses under @p lim to @p want, canonically.
void check_reads_back(const std::string& line, const command& want, const limits& lim) {
  const smtpkit_fuzz::exact_copy copy(line);
  const result<command> back = parse_command(copy.view(), lim);
  SMTPKIT_FUZZ_CHECK(back.has_value());
  SMTPKIT_FUZZ_CHECK(*back == want);
  bool ok = false;
  errc e{};
  const std::string again = write(*back, lim, ok, e);
  SMTPKIT_FUZZ_CHECK(ok && again == line);
}

void round_trip_line(std::string_view line) {
  const limits lim;
  const result<command> c = parse_command(line, lim);
  if (c) {
    bool ok = false;
    errc e{};
    const std::string out = write(*c, lim, ok, e);
    SMTPKIT_FUZZ_CHECK(ok);
    SMTPKIT_FUZZ_CHECK(out.size() <= line.size());
    check_reads_back(out, *c, lim);
  }
  const result<sasl_response> s = parse_sasl_response(line, lim);
  if (s) {
    char buf[16384];
    byte_writer w(buf, sizeof buf);
    const std::error_code e =
        s->cancel ? write_sasl_cancel(w) : write_sasl_response(w, s->data, lim);
    SMTPKIT_FUZZ_CHECK(!e && w.view() == std::string(line) + "\r\n");
  }
}

/// Makes a piece of text from the input: raw octets, mapped into the SMTP alphabet, or a word
/// from @p words.
std::string text(smtpkit_fuzz::provider& p, std::initializer_list<std::string_view> words,
                 std::size_t max = 40) {
  const std::uint8_t k = p.byte();
  if ((k & 3) == 0 && words.size() != 0) return std::string(words.begin()[k / 4 % words.size()]);
  std::string s(p.take(p.range(0, max)));
  if ((k & 3) == 1) s = smtpkit_fuzz::into_alphabet(s);
  return s;
}

/// Property 2.
void build_and_check(std::string_view input) {
  smtpkit_fuzz::provider p(input);
  limits lim;
  const std::uint8_t l = p.byte();
  if (l & 1) {
    lim.command_line = 30 + p.byte();
    lim.auth_line = 30 + p.byte();
    lim.local_part = p.byte() % 70;
    lim.domain = p.byte() % 70;
    lim.path = p.byte();
  }
  std::deque<std::string> store;  // keeps the texts the command views (never moved)
  const auto keep = [&store](std::string s) -> std::string_view {
    store.push_back(std::move(s));
    return store.back();
  };
  const auto make_box = [&](mailbox& out) {
    const std::string_view local =
        keep(text(p, {"user", "\"a b\"", "first.last", "Postmaster", "\xc3\xa9t\xc3\xa9", "a"}));
    const std::string_view domain =
        keep(text(p, {"example.com", "[192.0.2.1]", "[IPv6:2001:db8::1]", "b", "x-y.example",
                      "[tag:v]", "\xc3\xa9.example"}));
    const result<mailbox> m = make_mailbox(local, domain, lim);
    if (!m) return false;
    out = *m;
    return true;
  };
  command c;
  const std::uint8_t v = p.byte() % 15;
  switch (static_cast<verb>(v)) {
    case verb::helo:
    case verb::ehlo:
    case verb::lhlo: {
      const result<host> h = parse_host(
          keep(text(p, {"client.example", "[192.0.2.1]", "[IPv6:::1]", "localhost"})), lim);
      if (!h) return;
      if (v == 0) c = helo_command{*h};
      if (v == 1) c = ehlo_command{*h};
      if (v == 2) c = lhlo_command{*h};
      break;
    }
    case verb::mail: {
      mail_command m;
      mailbox box;
      if (p.boolean() && make_box(box)) m.from = reverse_path(box);
      mail_parameters& q = m.params;
      const std::uint8_t f = p.byte();
      if (f & 1) q.set_size(p.range(0, ~std::size_t{0}));
      if (f & 2) (void)q.set_body(static_cast<body_type>(p.byte() % 5));
      if (f & 4) q.set_smtputf8(true);
      if (f & 8) (void)q.set_ret(static_cast<dsn_ret>(p.byte() % 4));
      if (f & 16) (void)q.set_envid(keep(text(p, {"QQ+2B", "abc", "+41"})));
      if (f & 32) (void)q.set_auth(keep(text(p, {"<>", "e+3Dmc2@example.com", "a@b"})), lim);
      if (f & 64) q.set_requiretls(true);
      if (f & 128)
        (void)q.set_extensions(keep(text(p, {"X-A=1", "MT-PRIORITY=3 X-B", "NOTIFY=NEVER"})));
      c = m;
      break;
    }
    case verb::rcpt: {
      rcpt_command r;
      mailbox box;
      if (p.boolean()) {
        r.to = forward_path::postmaster();
      } else if (make_box(box)) {
        r.to = forward_path(box);
      }
      rcpt_parameters& q = r.params;
      const std::uint8_t f = p.byte();
      if (f & 1) (void)q.set_notify(static_cast<dsn_notify>(p.byte() % 16));
      if (f & 2)
        (void)q.set_orcpt(keep(text(p, {"rfc822", "utf-8", "x"})),
                          keep(text(p, {"a@b", "a+2Bb@c", "\xc3\xa9@x", "a\\x{2B}b"})));
      if (f & 4) (void)q.set_extensions(keep(text(p, {"X-A=1", "SIZE=10", "Y"})));
      c = r;
      break;
    }
    case verb::bdat:
      c = bdat_command{p.range(0, ~std::size_t{0}), p.boolean()};
      break;
    case verb::noop:
      c = noop_command{keep(text(p, {"", "x", "\"quoted string\""}))};
      break;
    case verb::help:
      c = help_command{keep(text(p, {"", "MAIL", "\xc3\xa9"}))};
      break;
    case verb::vrfy:
      c = vrfy_command{keep(text(p, {"Smith", "<a@b>", "a@b", "\"J S\""})), p.boolean(), false};
      break;
    case verb::expn:
      c = expn_command{keep(text(p, {"list", "<a@b>"})), p.boolean(), false};
      break;
    case verb::auth:
      c = auth_command{keep(text(p, {"PLAIN", "LOGIN", "XOAUTH2", "x"})),
                       keep(text(p, {"", "=", "AGEAYg==", "dGVzdA=="}, 200))};
      break;
    case verb::data:
      c = data_command{};
      break;
    case verb::rset:
      c = rset_command{};
      break;
    case verb::quit:
      c = quit_command{};
      break;
    case verb::starttls:
      c = starttls_command{};
      break;
  }
  bool ok = false;
  errc e{};
  const std::string line = write(c, lim, ok, e);
  if (ok) check_reads_back(line, c, lim);
}

void check(std::string_view in) {
  smtpkit_fuzz::for_each_line(in, [](std::string_view line) {
    const smtpkit_fuzz::exact_copy c(line);
    round_trip_line(c.view());
  });
  build_and_check(in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smtpkit_fuzz::run_plain_and_alphabet(data, size, check);
  return 0;
}
