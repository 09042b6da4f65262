// smtpkit fuzzing: EHLO capabilities (codec/ehlo.hpp): parse_ehlo_reply() on the client side,
// write_ehlo_reply() on the server side. RFC 5321 4.1.1.1, RFC 1869, RFC 1870 4, RFC 4954 3,
// RFC 2920, RFC 3030, RFC 6152, RFC 6531, RFC 3461, RFC 2034, RFC 8689.
//
// Properties:
//  1. A parsed reply is a 250 whose first line starts with the server's name (taken as given,
//     at most limits::domain octets) and whose other lines are ehlo-lines; the bits, SIZE and
//     the AUTH mechanisms agree with what keywords() iterates, and every view lies in the reply.
//  2. Rebuilding an ehlo_config from what was parsed and writing it gives a reply that parses
//     to the same domain, greeting, extensions, SIZE and mechanisms (when the writer takes it).
//  3. An ehlo_config built from control bytes is either refused (invalid_argument,
//     line_too_long, output_full; nothing appended) or written as a reply that parses back to
//     exactly what was configured, extra lines included, in order (ehlo.hpp rule 6).
// SPDX-License-Identifier: MIT
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t, uint32_t, uint64_t
#include <deque>    // deque
#include <smtpkit/codec/ehlo.hpp>
#include <smtpkit/codec/reply.hpp>
#include <smtpkit/core/buffer.hpp>
#include <smtpkit/core/limits.hpp>
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <vector>        // vector

#include "fuzz_support.hpp"

namespace {

using namespace smtpkit;

bool inside(std::string_view v, std::string_view whole) {
  return v.empty() ||
         (v.data() >= whole.data() && v.data() + v.size() <= whole.data() + whole.size());
}

/// Property 1.
void check_parsed(const ehlo_capabilities& caps, std::string_view raw, const limits& lim) {
  SMTPKIT_FUZZ_CHECK(caps.raw == raw);
  SMTPKIT_FUZZ_CHECK(inside(caps.domain, raw) && inside(caps.greeting, raw));
  SMTPKIT_FUZZ_CHECK(inside(caps.auth_params, raw) && inside(caps.legacy_auth_params, raw));
  // The server's name is taken as given (display only), bounded in length.
  SMTPKIT_FUZZ_CHECK(caps.domain.size() <= lim.domain);
  SMTPKIT_FUZZ_CHECK(caps.domain.find(' ') == std::string_view::npos);
  SMTPKIT_FUZZ_CHECK((caps.extensions & ~all_ehlo_extensions) == 0);
  SMTPKIT_FUZZ_CHECK((caps.auth & ~all_auth_mechanisms) == 0);
  std::uint32_t bits = 0, mechs = 0;
  // A reply with two AUTH (or two AUTH=) lines keeps the mechanisms of the last one as
  // auth_params (the bits merge all of them); has_mechanism() is checked for one of each.
  std::size_t auth_lines[2] = {0, 0};
  for (const ehlo_keyword& k : caps.keywords())
    if (k.known == ehlo_extension::auth) ++auth_lines[k.legacy_auth ? 1 : 0];
  for (const ehlo_keyword& k : caps.keywords()) {
    SMTPKIT_FUZZ_CHECK(inside(k.keyword, raw) && inside(k.params, raw));
    // An AUTH line without a mechanism offers nothing (RFC 4954 3): it stays unknown.
    const ehlo_extension named = find_extension(k.keyword);
    const bool empty_auth = named == ehlo_extension::auth && k.params.empty();
    SMTPKIT_FUZZ_CHECK(k.known == (empty_auth ? ehlo_extension{} : named));
    bits |= static_cast<std::uint32_t>(k.known);
    if (k.known == ehlo_extension::auth) {
      for (std::string_view w : k.words()) {
        mechs |= static_cast<std::uint32_t>(find_mechanism(w));
        if (auth_lines[k.legacy_auth ? 1 : 0] == 1) SMTPKIT_FUZZ_CHECK(caps.has_mechanism(w));
      }
    }
    if (k.legacy_auth) SMTPKIT_FUZZ_CHECK(k.known == (empty_auth ? ehlo_extension{} : named));
  }
  SMTPKIT_FUZZ_CHECK(bits == caps.extensions && mechs == caps.auth);
  // The same, through the bit operators, has() and the iterators' other forms.
  std::uint32_t ext = 0, mech = 0;
  for (std::uint32_t bit = 1; bit <= all_ehlo_extensions; bit <<= 1) {
    const auto e = static_cast<ehlo_extension>(bit);
    if (caps.has(e)) ext = ext | e;
  }
  for (std::uint32_t bit = 1; bit <= all_auth_mechanisms; bit <<= 1) {
    const auto m = static_cast<auth_mechanism>(bit);
    if (caps.has(m)) mech = (mech == 0 ? (m | m) : (mech | m));
  }
  SMTPKIT_FUZZ_CHECK(ext == caps.extensions && mech == caps.auth);
  std::size_t lines = 0;
  for (auto it = caps.keywords().begin(); it != caps.keywords().end(); it++) {
    SMTPKIT_FUZZ_CHECK(!it->keyword.empty());
    std::size_t words = 0, tokens = 0;
    const word_range wr = it->words();
    for (auto w = wr.begin(); w != wr.end(); w++) {
      SMTPKIT_FUZZ_CHECK(!w->empty() && w->find(' ') == std::string_view::npos);
      ++words;
    }
    for (std::size_t i = 0; i < it->params.size(); ++i)
      if (it->params[i] != ' ' && (i == 0 || it->params[i - 1] == ' ')) ++tokens;
    SMTPKIT_FUZZ_CHECK(words == tokens);
    ++lines;
  }
  std::size_t crlf = 0;
  for (std::size_t i = raw.find("\r\n"); i != raw.npos; i = raw.find("\r\n", i + 2)) ++crlf;
  SMTPKIT_FUZZ_CHECK(lines + 1 == crlf);  // every line but the domain line is a keyword line
  SMTPKIT_FUZZ_CHECK(caps.keywords().end() == caps.keywords().end());
  for (const ehlo_keyword& k : caps.unknown_keywords())
    SMTPKIT_FUZZ_CHECK(k.known == ehlo_extension{});
  if (!caps.has(ehlo_extension::size)) SMTPKIT_FUZZ_CHECK(caps.max_size == 0);
}

/// Writes @p cfg; on success parses it back and returns true.
bool write_and_parse(const ehlo_config& cfg, std::size_t max_line, std::string& wire,
                     ehlo_capabilities& back) {
  char buf[8192];
  byte_writer w(buf, sizeof buf);
  w.append("x");
  const std::error_code e = write_ehlo_reply(w, cfg, max_line);
  if (e) {
    SMTPKIT_FUZZ_CHECK(w.view() == "x");
    SMTPKIT_FUZZ_CHECK(e == errc::invalid_argument || e == errc::line_too_long ||
                       e == errc::output_full);
    return false;
  }
  wire.assign(w.view().substr(1));
  limits lim;
  lim.reply_line = max_line < 5 ? 5 : max_line;
  const result<reply> r = parse_reply(wire, lim, 1000);
  SMTPKIT_FUZZ_CHECK(r.has_value());
  const result<ehlo_capabilities> caps = parse_ehlo_reply(*r);
  SMTPKIT_FUZZ_CHECK(caps.has_value());
  back = *caps;
  check_parsed(back, r->raw(), limits{});
  return true;
}

/// Properties 1 and 2 for the input as a reply.
void parse_and_rewrite(std::string_view in) {
  const limits lim;
  const result<ehlo_capabilities> caps = parse_ehlo_reply(in, lim);
  if (!caps) {
    const errc e = caps.error();
    SMTPKIT_FUZZ_CHECK(e == errc::bad_reply_code || e == errc::bad_domain ||
                       e == errc::domain_too_long || e == errc::bad_reply ||
                       e == errc::bad_number || e == errc::incomplete || e == errc::line_too_long ||
                       e == errc::bare_lf || e == errc::bare_cr || e == errc::nul_byte ||
                       e == errc::reply_code_mismatch || e == errc::reply_too_long);
    return;
  }
  check_parsed(*caps, in, lim);
  // Property 2.
  ehlo_config cfg;
  cfg.domain = caps->domain;
  cfg.greeting = caps->greeting;
  cfg.extensions = caps->extensions;
  cfg.max_size = caps->max_size;
  cfg.auth = caps->auth;
  cfg.legacy_auth = !caps->legacy_auth_params.empty();
  // Mechanisms smtpkit does not know go in other_mechanisms, once each.
  std::string others;
  for (std::string_view list : {caps->auth_params, caps->legacy_auth_params}) {
    for (std::string_view w : word_range(list)) {
      if (find_mechanism(w) != auth_mechanism{}) continue;
      bool seen = false;
      for (std::string_view o : word_range(others)) seen = seen || o == w;
      if (seen) continue;
      if (!others.empty()) others += ' ';
      others += w;
    }
  }
  cfg.other_mechanisms = others;
  std::vector<std::string_view> extra;
  for (const ehlo_keyword& k : caps->unknown_keywords()) {
    const char* const begin = k.keyword.data();
    const char* const end =
        k.params.empty() ? k.keyword.data() + k.keyword.size() : k.params.data() + k.params.size();
    extra.emplace_back(begin, static_cast<std::size_t>(end - begin));
  }
  cfg.extra = line_list(extra.data(), extra.size());
  std::string wire;
  ehlo_capabilities back;
  if (!write_and_parse(cfg, 512, wire, back)) return;
  SMTPKIT_FUZZ_CHECK(back.domain == caps->domain && back.greeting == caps->greeting);
  SMTPKIT_FUZZ_CHECK(back.extensions == caps->extensions && back.auth == caps->auth);
  SMTPKIT_FUZZ_CHECK(back.max_size == caps->max_size);
}

/// Property 3.
void build_and_check(std::string_view input) {
  smtpkit_fuzz::provider p(input);
  std::deque<std::string> store;
  const auto keep = [&store](std::string s) -> std::string_view {
    store.push_back(std::move(s));
    return store.back();
  };
  const auto text = [&](std::initializer_list<std::string_view> words, std::size_t max) {
    const std::uint8_t k = p.byte();
    if ((k & 3) == 0) return keep(std::string(words.begin()[k / 4 % words.size()]));
    std::string s(p.take(p.range(0, max)));
    if ((k & 3) == 1) s = smtpkit_fuzz::into_alphabet(s);
    return keep(std::move(s));
  };
  ehlo_config cfg;
  cfg.domain = text({"mx.example.org", "[192.0.2.1]", "a", "\xc3\xa9.example", "[x]"}, 64);
  cfg.greeting = text({"", "Hello client [192.0.2.9]", "ESMTP ready"}, 64);
  const std::uint8_t f = p.byte();
  cfg.extensions = static_cast<std::uint32_t>(p.range(0, (f & 1) ? 0xFFFF : all_ehlo_extensions));
  if (f & 2) cfg.max_size = p.range(0, ~std::size_t{0});
  cfg.auth = static_cast<std::uint32_t>(p.range(0, (f & 4) ? 0xFF : all_auth_mechanisms));
  if (f & 8) cfg.other_mechanisms = text({"GSSAPI", "NTLM GSSAPI", "X_1-A", "plain"}, 30);
  cfg.legacy_auth = (f & 16) != 0;
  std::vector<std::string_view> extra;
  const std::size_t n = (f & 32) ? std::size_t{p.byte()} % 6 : 0;
  for (std::size_t i = 0; i < n; ++i)
    extra.push_back(
        text({"XCLIENT NAME ADDR", "ETRN", "X-EXPS GSSAPI NTLM", "VRFY", "8BITMIME"}, 40));
  cfg.extra = line_list(extra.data(), extra.size());
  const std::size_t max_line = (f & 64) ? 8 + p.byte() : 512;

  std::string wire;
  ehlo_capabilities back;
  if (!write_and_parse(cfg, max_line, wire, back)) return;
  SMTPKIT_FUZZ_CHECK(back.domain == cfg.domain && back.greeting == cfg.greeting);
  SMTPKIT_FUZZ_CHECK(back.extensions == cfg.extensions);
  const bool size = (cfg.extensions & static_cast<std::uint32_t>(ehlo_extension::size)) != 0;
  SMTPKIT_FUZZ_CHECK(back.max_size == (size ? cfg.max_size : 0));
  SMTPKIT_FUZZ_CHECK(back.auth == cfg.auth);
  for (std::string_view w : word_range(cfg.other_mechanisms))
    SMTPKIT_FUZZ_CHECK(back.has_mechanism(w));
  SMTPKIT_FUZZ_CHECK(back.legacy_auth_params.empty() == !cfg.legacy_auth);
  std::size_t i = 0;
  for (const ehlo_keyword& k : back.unknown_keywords()) {
    SMTPKIT_FUZZ_CHECK(i < extra.size());
    SMTPKIT_FUZZ_CHECK(
        std::string(k.keyword) + (k.params.empty() ? "" : " ") + std::string(k.params) == extra[i]);
    ++i;
  }
  SMTPKIT_FUZZ_CHECK(i == extra.size());
}

void check(std::string_view in) {
  parse_and_rewrite(in);
  build_and_check(in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smtpkit_fuzz::run_plain_and_alphabet(data, size, check);
  return 0;
}
