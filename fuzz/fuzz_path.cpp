// smtpkit fuzzing: paths and addresses (codec/path.hpp). RFC 5321 4.1.2, 4.1.3, 4.5.3.1.1-3;
// RFC 6531 3.3.
//
// Each line of the input is parsed as a host, a mailbox, a reverse-path and a forward-path,
// under the default limits and small ones. Properties:
//  1. The window-based fast paths and the scalar scanners agree exactly (same error, same end,
//     same value), for paths, mailboxes and hosts.
//  2. A parsed value is the very text it came from ("local@domain", "<...>"), within every
//     limit, and only "<>" is the null path.
//  3. make_mailbox() of a parsed mailbox's parts gives it back; unquoting a local-part and
//     quoting the result gives a local-part no longer than the original that unquotes the same.
//  4. quote_local_part() of any text succeeds exactly when the text has no control octet, DEL or
//     ill-formed UTF-8, and its result is a local-part that unquotes to the text.
//  5. A success under the small limits is a success, with the same value, under the defaults.
// SPDX-License-Identifier: MIT
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t
#include <smtpkit/codec/path.hpp>
#include <smtpkit/core/buffer.hpp>
#include <smtpkit/core/limits.hpp>
#include <string>       // string
#include <string_view>  // string_view

#include "fuzz_support.hpp"

namespace {

using namespace smtpkit;
namespace d = smtpkit::detail;

limits small_limits() {
  limits l;
  l.local_part = 8;
  l.domain = 16;
  l.path = 30;
  return l;
}

bool same(const mailbox& a, const mailbox& b) {
  return a.local_part().data() == b.local_part().data() &&
         a.local_part().size() == b.local_part().size() && a.domain().data() == b.domain().data() &&
         a.domain().size() == b.domain().size() && a.domain_kind() == b.domain_kind() &&
         a.quoted() == b.quoted() && a.utf8() == b.utf8();
}

/// Property 1.
void check_fast_and_slow(std::string_view s, const limits& lim) {
  const char* const begin = s.data();
  const char* const end = begin + s.size();
  for (d::path_mode mode : {d::path_mode::reverse, d::path_mode::forward, d::path_mode::plain}) {
    forward_path fa, fb;
    const char* pa = begin;
    const char* pb = begin;
    const errc ea = d::scan_path(pa, begin, end, lim, mode, d::path_access::box(fa), true);
    const errc eb = d::scan_path(pb, begin, end, lim, mode, d::path_access::box(fb), false);
    SMTPKIT_FUZZ_CHECK(ea == eb);
    if (ea == d::no_error) {
      SMTPKIT_FUZZ_CHECK(pa == pb && same(fa.address(), fb.address()) && fa == fb);
    }
  }
  {
    mailbox a, b;
    const char* pa = begin;
    const char* pb = begin;
    const errc ea = d::scan_mailbox(pa, begin, end, lim, a, true);
    const errc eb = d::scan_mailbox(pb, begin, end, lim, b, false);
    SMTPKIT_FUZZ_CHECK(ea == eb);
    if (ea == d::no_error) SMTPKIT_FUZZ_CHECK(pa == pb && same(a, b));
  }
  {
    host_kind ka = host_kind::domain, kb = host_kind::domain;
    bool ua = false, ub = false;
    const char* pa = begin;
    const char* pb = begin;
    const errc ea = d::scan_host(pa, begin, end, ka, ua, true);
    const errc eb = d::scan_host(pb, begin, end, kb, ub, false);
    SMTPKIT_FUZZ_CHECK(ea == eb);
    if (ea == d::no_error) SMTPKIT_FUZZ_CHECK(pa == pb && ka == kb && ua == ub);
  }
}

bool has_utf8(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  return false;
}

/// Property 3 for a parsed mailbox.
void check_mailbox_parts(const mailbox& m, const limits& lim) {
  const result<mailbox> again = make_mailbox(m.local_part(), m.domain(), lim);
  SMTPKIT_FUZZ_CHECK(again.has_value() && *again == m && again->quoted() == m.quoted() &&
                     again->utf8() == m.utf8() && again->domain_kind() == m.domain_kind());
  char buf[1024];
  byte_writer w(buf, sizeof buf);
  SMTPKIT_FUZZ_CHECK(!unquote_local_part(m.local_part(), w));
  const std::string content(w.view());
  if (!m.quoted()) SMTPKIT_FUZZ_CHECK(content == m.local_part());
  char buf2[1024];
  byte_writer q(buf2, sizeof buf2);
  SMTPKIT_FUZZ_CHECK(!quote_local_part(content, q));
  SMTPKIT_FUZZ_CHECK(q.size() <= m.local_part().size());
  const result<mailbox> requoted = make_mailbox(q.view(), m.domain(), lim);
  SMTPKIT_FUZZ_CHECK(requoted.has_value() && requoted->domain() == m.domain());
  char buf3[1024];
  byte_writer u(buf3, sizeof buf3);
  SMTPKIT_FUZZ_CHECK(!unquote_local_part(q.view(), u) && u.view() == content);
  // Too little room: output_full and nothing appended.
  if (!content.empty()) {
    byte_writer tiny(buf3, content.size() - 1);
    SMTPKIT_FUZZ_CHECK(unquote_local_part(m.local_part(), tiny) == errc::output_full &&
                       tiny.size() == 0);
  }
}

/// Property 4.
void check_quote(std::string_view text) {
  bool quotable = true;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      ++i;
    } else if (c >= 0x80) {
      const std::size_t n = d::utf8_length(text.data() + i, text.data() + text.size());
      if (n == 0) {
        quotable = false;
        break;
      }
      i += n;
    } else {
      quotable = false;
      break;
    }
  }
  std::string buf(text.size() * 2 + 2, '\0');
  byte_writer w(&buf[0], buf.size());
  const std::error_code e = quote_local_part(text, w);
  SMTPKIT_FUZZ_CHECK(!e == quotable);
  if (e) {
    SMTPKIT_FUZZ_CHECK(e == errc::invalid_argument && w.size() == 0);
    return;
  }
  const std::string_view wire = w.view();
  const char* p = wire.data();
  bool quoted = false, utf8 = false;
  SMTPKIT_FUZZ_CHECK(d::scan_local_part(p, wire.data(), wire.data() + wire.size(), quoted, utf8) ==
                         d::no_error &&
                     p == wire.data() + wire.size());
  SMTPKIT_FUZZ_CHECK(utf8 == has_utf8(text));
  std::string back(text.size() + 1, '\0');
  byte_writer u(&back[0], back.size());
  SMTPKIT_FUZZ_CHECK(!unquote_local_part(wire, u) && u.view() == text);
}

/// Property 2 and 5 for one line under one set of limits; returns nothing, checks.
void check_line(std::string_view s, const limits& lim, bool small) {
  check_fast_and_slow(s, lim);
  const limits defaults;
  // Host.
  const result<host> h = parse_host(s, lim);
  if (h) {
    SMTPKIT_FUZZ_CHECK(h->text() == s && h->text().data() == s.data() && !h->empty());
    SMTPKIT_FUZZ_CHECK(s.size() <= lim.domain);
    SMTPKIT_FUZZ_CHECK(h->is_address_literal() == (s[0] == '['));
    SMTPKIT_FUZZ_CHECK(h->utf8() == (h->kind() == host_kind::domain && has_utf8(s)));
    const std::string_view a = h->address();
    SMTPKIT_FUZZ_CHECK(a.data() >= s.data() && a.data() + a.size() <= s.data() + s.size());
    if (small) {
      const result<host> h2 = parse_host(s, defaults);
      SMTPKIT_FUZZ_CHECK(h2.has_value() && *h2 == *h && h2->kind() == h->kind());
    }
  } else {
    const errc e = h.error();
    SMTPKIT_FUZZ_CHECK(e == errc::bad_domain || e == errc::bad_address_literal ||
                       e == errc::bad_utf8 || e == errc::domain_too_long);
  }
  // Mailbox.
  const result<mailbox> m = parse_mailbox(s, lim);
  if (m) {
    SMTPKIT_FUZZ_CHECK(std::string(m->local_part()) + "@" + std::string(m->domain()) == s);
    SMTPKIT_FUZZ_CHECK(m->local_part().size() <= lim.local_part &&
                       m->domain().size() <= lim.domain && s.size() + 2 <= lim.path);
    SMTPKIT_FUZZ_CHECK(m->size() == s.size() && !m->empty());
    const host dh = m->domain_host();
    SMTPKIT_FUZZ_CHECK(dh.text() == m->domain() && dh.kind() == m->domain_kind());
    const result<host> dh2 = parse_host(m->domain(), lim);
    SMTPKIT_FUZZ_CHECK(dh2.has_value() && !(*dh2 != dh) && dh2->utf8() == dh.utf8());
    SMTPKIT_FUZZ_CHECK(m->utf8() == has_utf8(s) || m->domain_kind() != host_kind::domain);
    check_mailbox_parts(*m, lim);
    if (small) {
      const result<mailbox> m2 = parse_mailbox(s, defaults);
      SMTPKIT_FUZZ_CHECK(m2.has_value() && same(*m2, *m) && !(*m2 != *m));
    }
  } else {
    const errc e = m.error();
    SMTPKIT_FUZZ_CHECK(e == errc::bad_path || e == errc::bad_local_part || e == errc::bad_domain ||
                       e == errc::bad_address_literal || e == errc::bad_utf8 ||
                       e == errc::local_part_too_long || e == errc::domain_too_long ||
                       e == errc::path_too_long);
  }
  // Paths.
  const result<reverse_path> rp = parse_reverse_path(s, lim);
  const result<forward_path> fp = parse_forward_path(s, lim);
  if (rp) {
    SMTPKIT_FUZZ_CHECK(s.size() >= 2 && s.front() == '<' && s.back() == '>');
    SMTPKIT_FUZZ_CHECK(rp->is_null() == (s == "<>"));
    SMTPKIT_FUZZ_CHECK(s.size() <= lim.path);
    if (!rp->is_null()) {
      const mailbox& a = rp->address();
      SMTPKIT_FUZZ_CHECK(a.local_part().size() <= lim.local_part &&
                         a.domain().size() <= lim.domain && a.size() + 2 <= lim.path);
      // The mailbox is the end of the path (a source route before it was dropped).
      SMTPKIT_FUZZ_CHECK(a.domain().data() + a.domain().size() == s.data() + s.size() - 1);
      // Every reverse-path but "<>" is a forward-path too.
      SMTPKIT_FUZZ_CHECK(fp.has_value() && fp->address() == a);
      check_mailbox_parts(a, lim);
    } else {
      SMTPKIT_FUZZ_CHECK(!fp && fp.error() == errc::bad_path);
    }
    if (small) {
      const result<reverse_path> rp2 = parse_reverse_path(s, defaults);
      SMTPKIT_FUZZ_CHECK(rp2.has_value() && *rp2 == *rp && !(*rp2 != *rp));
    }
  }
  if (fp) {
    SMTPKIT_FUZZ_CHECK(s.size() >= 2 && s.front() == '<' && s.back() == '>' && !fp->empty());
    if (fp->is_postmaster()) {
      SMTPKIT_FUZZ_CHECK(s.size() == 12 && ascii::iequals(s, "<postmaster>"));
      SMTPKIT_FUZZ_CHECK(fp->address().domain().empty());
    } else {
      SMTPKIT_FUZZ_CHECK(rp.has_value() && rp->address() == fp->address());
      SMTPKIT_FUZZ_CHECK(!(forward_path(rp->address()) != *fp));
    }
  }
}

void check(std::string_view in) {
  const limits small = small_limits();
  smtpkit_fuzz::for_each_line(in, [&](std::string_view line) {
    const smtpkit_fuzz::exact_copy c(line);
    check_line(c.view(), limits{}, false);
    check_line(c.view(), small, true);
    check_quote(c.view());
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smtpkit_fuzz::run_plain_and_alphabet(data, size, check);
  return 0;
}
