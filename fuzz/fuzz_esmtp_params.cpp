// smtpkit fuzzing: ESMTP parameters (codec/esmtp_params.hpp) and xtext (codec/xtext.hpp).
// RFC 5321 4.1.2 (esmtp-param), RFC 1870, RFC 6152, RFC 3030, RFC 6531, RFC 3461 4, RFC 6533,
// RFC 4954 5, RFC 8689.
//
// Each line of the input is parsed as Mail-parameters, Rcpt-parameters and generic esmtp-params,
// and taken as xtext and as raw octets to encode. Properties:
//  1. The fast path (windows, word loads) and the scalar parser agree exactly: same error, same
//     typed fields, same extensions.
//  2. What MAIL or RCPT accepts, the generic grammar accepts, with as many parameters as the
//     typed fields and the extensions hold; extensions split into unknown and misplaced ones.
//  3. The setters accept every parsed field and rebuild an equal value.
//  4. xtext: is_xtext() and the decoders agree; decoding never fails on encoded octets
//     (xtext_decode(xtext_encode(b)) == b), the encoding is xtext of xtext_encoded_size()
//     octets, and both encoders and both decoders agree; short room is output_full with nothing
//     written.
// SPDX-License-Identifier: MIT
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t
#include <smtpkit/codec/esmtp_params.hpp>
#include <smtpkit/codec/xtext.hpp>
#include <smtpkit/core/buffer.hpp>
#include <smtpkit/core/limits.hpp>
#include <string>       // string
#include <string_view>  // string_view

#include "fuzz_support.hpp"

namespace {

using namespace smtpkit;
namespace d = smtpkit::detail;

/// Returns the parameters of @p list joined by SP.
std::string join(const param_list& list) {
  std::string out;
  for (const esmtp_param& q : list) {
    if (!out.empty()) out += ' ';
    out += q.keyword;
    if (q.has_value) {
      out += '=';
      out += q.value;
    }
  }
  return out;
}

std::size_t typed_count(const mail_parameters& m) {
  return (m.size() ? 1u : 0u) + (m.body() != body_type::none ? 1u : 0u) + (m.smtputf8() ? 1u : 0u) +
         (m.ret() != dsn_ret::none ? 1u : 0u) + (!m.envid().empty() ? 1u : 0u) +
         (!m.auth().empty() ? 1u : 0u) + (m.requiretls() ? 1u : 0u);
}
std::size_t typed_count(const rcpt_parameters& r) {
  return (r.notify() != dsn_notify::none ? 1u : 0u) + (!r.orcpt_type().empty() ? 1u : 0u);
}

bool is_parse_error(errc e) {
  return e == errc::bad_parameter || e == errc::bad_xtext || e == errc::bad_utf8 ||
         e == errc::duplicate_parameter;
}

template <class Params>
void check_extensions(const Params& p, std::string_view s) {
  std::size_t n = 0;
  const param_list list = p.extensions();
  for (auto it = list.begin(); it != list.end(); it++) {
    const esmtp_param& q = *it;
    SMTPKIT_FUZZ_CHECK(it->keyword == q.keyword);
    const param_keyword k = classify_param(q.keyword);
    if (k != param_keyword::unknown) SMTPKIT_FUZZ_CHECK(ascii::iequals(to_string(k), q.keyword));
    ++n;
    SMTPKIT_FUZZ_CHECK(q.keyword.data() >= s.data() &&
                       q.keyword.data() + q.keyword.size() <= s.data() + s.size());
    SMTPKIT_FUZZ_CHECK(!q.keyword.empty() && (q.has_value || q.value.empty()));
  }
  SMTPKIT_FUZZ_CHECK(n == p.extensions().size() && p.extensions().empty() == (n == 0));
  SMTPKIT_FUZZ_CHECK(p.unknown_count() + p.misplaced_count() == n);
}

void check_mail(std::string_view s, const limits& lim, const result<param_list>& generic) {
  const result<mail_parameters> fast = parse_mail_parameters(s, lim);
  mail_parameters slow;
  const errc es = d::param_access::parse(s, s.data(), lim, d::mail_keywords, slow, false);
  if (!fast) {
    SMTPKIT_FUZZ_CHECK(is_parse_error(fast.error()) && fast.error() == es);
    return;
  }
  // Property 1.
  SMTPKIT_FUZZ_CHECK(es == d::no_error && slow == *fast && !(slow != *fast));
  const mail_parameters& m = *fast;
  // Property 2.
  SMTPKIT_FUZZ_CHECK(generic.has_value());
  SMTPKIT_FUZZ_CHECK(generic->size() == typed_count(m) + m.extensions().size());
  check_extensions(m, s);
  for (const esmtp_param& q : m.extensions())
    SMTPKIT_FUZZ_CHECK(!is_mail_param(classify_param(q.keyword)));
  if (!m.envid().empty()) SMTPKIT_FUZZ_CHECK(is_xtext(m.envid()));
  // Property 3.
  mail_parameters b;
  b.set_size(m.size());
  SMTPKIT_FUZZ_CHECK(!b.set_body(m.body()) && !b.set_ret(m.ret()));
  b.set_smtputf8(m.smtputf8());
  b.set_requiretls(m.requiretls());
  SMTPKIT_FUZZ_CHECK(!b.set_envid(m.envid()));
  SMTPKIT_FUZZ_CHECK(!b.set_auth(m.auth(), lim));
  const std::string ext = join(m.extensions());
  const std::error_code e = b.set_extensions(ext);
  if (m.misplaced_count() == 0) {
    SMTPKIT_FUZZ_CHECK(!e && b == m);
  } else {
    SMTPKIT_FUZZ_CHECK(e == errc::invalid_argument);
  }
}

void check_rcpt(std::string_view s, const limits& lim, const result<param_list>& generic) {
  const result<rcpt_parameters> fast = parse_rcpt_parameters(s, lim);
  rcpt_parameters slow;
  const errc es = d::param_access::parse(s, s.data(), lim, d::rcpt_keywords, slow, false);
  if (!fast) {
    SMTPKIT_FUZZ_CHECK(is_parse_error(fast.error()) && fast.error() == es);
    return;
  }
  SMTPKIT_FUZZ_CHECK(es == d::no_error && slow == *fast && !(slow != *fast));
  const rcpt_parameters& r = *fast;
  // NOTIFY as flags.
  dsn_notify flags = dsn_notify::none;
  for (dsn_notify f :
       {dsn_notify::never, dsn_notify::success, dsn_notify::failure, dsn_notify::delay})
    if (has(r.notify(), f)) flags = flags | f;
  SMTPKIT_FUZZ_CHECK(flags == r.notify());
  SMTPKIT_FUZZ_CHECK(generic.has_value());
  SMTPKIT_FUZZ_CHECK(generic->size() == typed_count(r) + r.extensions().size());
  SMTPKIT_FUZZ_CHECK(is_valid(r.notify()));
  check_extensions(r, s);
  for (const esmtp_param& q : r.extensions())
    SMTPKIT_FUZZ_CHECK(!is_rcpt_param(classify_param(q.keyword)));
  rcpt_parameters b;
  SMTPKIT_FUZZ_CHECK(!b.set_notify(r.notify()));
  SMTPKIT_FUZZ_CHECK(!b.set_orcpt(r.orcpt_type(), r.orcpt_address()));
  const std::string ext = join(r.extensions());
  const std::error_code e = b.set_extensions(ext);
  if (r.misplaced_count() == 0) {
    SMTPKIT_FUZZ_CHECK(!e && b == r);
  } else {
    SMTPKIT_FUZZ_CHECK(e == errc::invalid_argument);
  }
}

void check_params(std::string_view s) {
  const result<param_list> generic = parse_esmtp_params(s);
  if (generic) {
    for (const esmtp_param& q : *generic) {
      SMTPKIT_FUZZ_CHECK(!q.keyword.empty() && ascii::is_alnum(q.keyword[0]));
      if (q.has_value) SMTPKIT_FUZZ_CHECK(!q.value.empty());
    }
    SMTPKIT_FUZZ_CHECK(join(*generic) == s);
    SMTPKIT_FUZZ_CHECK(!(*generic != *generic));
  } else {
    SMTPKIT_FUZZ_CHECK(is_parse_error(generic.error()));
  }
  limits small;
  small.local_part = 8;
  small.domain = 16;
  small.path = 30;
  for (const limits& lim : {limits{}, small}) {
    check_mail(s, lim, generic);
    check_rcpt(s, lim, generic);
  }
}

void check_xtext(std::string_view s) {
  // Decoding.
  const bool ok = is_xtext(s);
  const std::size_t n = xtext_decoded_size(s);
  SMTPKIT_FUZZ_CHECK(ok == (n != std::string_view::npos));
  std::string buf(s.size() + 1, '\0');
  const result<std::size_t> r = xtext_decode(s, &buf[0], buf.size());
  std::string wbuf(s.size() + 3, '\0');
  byte_writer w(&wbuf[0], wbuf.size());
  w.append("ab");
  const std::error_code e = xtext_decode(s, w);
  SMTPKIT_FUZZ_CHECK(r.has_value() == ok && !e == ok);
  if (ok) {
    SMTPKIT_FUZZ_CHECK(*r == n && w.view().substr(2) == std::string_view(buf.data(), n));
    if (n != 0) {
      byte_writer tiny(&wbuf[0], n - 1);
      SMTPKIT_FUZZ_CHECK(xtext_decode(s, tiny) == errc::output_full && tiny.size() == 0);
      SMTPKIT_FUZZ_CHECK(xtext_decode(s, &buf[0], n - 1).error() == errc::output_full);
    }
  } else {
    SMTPKIT_FUZZ_CHECK(r.error() == errc::bad_xtext && e == errc::bad_xtext && w.size() == 2);
  }
  // Encoding any octets.
  const std::size_t m = xtext_encoded_size(s);
  std::string enc(m, '\0');
  const result<std::size_t> er = xtext_encode(s, m == 0 ? nullptr : &enc[0], m);
  SMTPKIT_FUZZ_CHECK(er.has_value() && *er == m);
  SMTPKIT_FUZZ_CHECK(is_xtext(enc) && xtext_decoded_size(enc) == s.size());
  std::string ebuf(m + 2, '\0');
  byte_writer ew(&ebuf[0], ebuf.size());
  ew.append("ab");
  SMTPKIT_FUZZ_CHECK(!xtext_encode(s, ew) && ew.view().substr(2) == enc);
  std::string dec(s.size(), '\0');
  const result<std::size_t> back = xtext_decode(enc, s.empty() ? nullptr : &dec[0], dec.size());
  SMTPKIT_FUZZ_CHECK(back.has_value() && *back == s.size() && dec == s);
  if (ok) {
    // Decoding then encoding gives the shortest form, never longer than the input.
    const std::string_view raw(buf.data(), n);
    SMTPKIT_FUZZ_CHECK(xtext_encoded_size(raw) <= s.size());
  }
  if (m != 0) {
    byte_writer tiny(&ebuf[0], m - 1);
    SMTPKIT_FUZZ_CHECK(xtext_encode(s, tiny) == errc::output_full && tiny.size() == 0);
    SMTPKIT_FUZZ_CHECK(xtext_encode(s, &ebuf[0], m - 1).error() == errc::output_full);
  }
}

void check(std::string_view in) {
  smtpkit_fuzz::for_each_line(in, [](std::string_view line) {
    const smtpkit_fuzz::exact_copy c(line);
    check_params(c.view());
    check_xtext(c.view());
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smtpkit_fuzz::run_plain_and_alphabet(data, size, check);
  return 0;
}
