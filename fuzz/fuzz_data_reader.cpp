// smtpkit fuzzing: the DATA phase (codec/data.hpp): data_reader, the smuggling-safe streaming
// dot-unstuffer, and dot_stuffer. RFC 5321 4.1.1.4, 4.5.2, 2.3.8, 4.5.3.1.6.
//
// Properties:
//  1. End of data is reported if and only if the input holds CRLF "." CRLF (the DATA line's CRLF
//     counting as the first), exactly at its first occurrence; no other line ending ends it.
//  2. The body delivered, the faults and the body size match a byte-at-a-time reference model of
//     RFC 5321 4.5.2 unstuffing, under both bare-LF policies and three text line limits.
//  3. Nothing depends on the cut: whole, random pieces and byte by byte give the same body, the
//     same end and the same faults; the SSE2 scan (next()) and the portable one (next_scalar())
//     give identical results call by call.
//  4. Round trip: for any bytes x, unstuff(stuff(x)) == x with its line ends made CRLF (and a
//     final CRLF added to a non-empty x without one); the stuffed form has no bare CR or LF and
//     ends the message exactly at its end; write() and write_scalar() agree, whatever the room
//     left in the output.
// SPDX-License-Identifier: MIT
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t, uint64_t
#include <smtpkit/codec/data.hpp>
#include <smtpkit/core/buffer.hpp>
#include <string>       // string
#include <string_view>  // string_view

#include "fuzz_support.hpp"

namespace {

using namespace smtpkit;
using smtpkit_fuzz::owner_buffer;

/// What the reference model expects from the input.
struct model {
  std::string body;       // unstuffed bytes before the end (or of the whole input)
  std::size_t end = 0;    // input octets up to and including the final "." CRLF
  bool finished = false;  // CRLF "." CRLF was found
  bool bare_lf = false, bare_cr = false, long_line = false;
};

/// RFC 5321 4.5.2 unstuffing, one byte at a time, written from the rules of data.hpp.
model reference(std::string_view in, std::size_t limit, bool normalize) {
  model m;
  enum { crlf, lf, none } start = crlf;  // what the current line started after
  std::size_t line = 0;                  // content octets of the current line
  const auto end_line = [&](std::size_t content) {
    if (limit != 0 && content + 2 > limit) m.long_line = true;
    line = 0;
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (start != none && c == '.') {
      if (start == crlf && i + 2 < in.size() && in[i + 1] == '\r' && in[i + 2] == '\n') {
        m.finished = true;
        m.end = i + 3;
        return m;
      }
      start = none;
      continue;  // the leading dot is removed
    }
    start = none;
    if (c == '\r' && i + 1 < in.size() && in[i + 1] == '\n') {
      m.body += "\r\n";
      end_line(line);
      ++i;
      start = crlf;
      continue;
    }
    if (c == '\n') {  // bare LF
      m.bare_lf = true;
      end_line(line);
      if (normalize) {
        m.body += "\r\n";
        start = lf;
      } else {
        m.body += '\n';
      }
      continue;
    }
    if (c == '\r' && i + 1 < in.size()) m.bare_cr = true;  // a final CR is still undecided
    m.body += c;
    ++line;
  }
  m.end = in.size();
  return m;
}

struct outcome {
  std::string body;
  std::size_t end = 0;  // octets consumed when the end was reported
  bool finished = false;
  bool bare_lf = false, bare_cr = false, long_line = false;
  std::uint64_t body_size = 0;
  std::error_code error;
};

/// Feeds @p in in pieces from @p next_piece, calling next() and next_scalar() on twin readers
/// and checking they agree call by call.
template <class Next>
outcome feed(std::string_view in, std::size_t limit, bare_newline_policy policy, Next next_piece) {
  outcome out;
  data_reader simd(limit, policy);
  data_reader scalar(limit, policy);
  owner_buffer buf(in);
  for (int guard = 0; !out.finished; ++guard) {
    SMTPKIT_FUZZ_CHECK(guard <= 2 * static_cast<int>(in.size()) + 8);
    buf.arrive(next_piece(in.size() - buf.arrived()));
    const std::string_view held = buf.view();
    const data_result a = simd.next(held);
    const data_result b = scalar.next_scalar(held);
    SMTPKIT_FUZZ_CHECK(a.status == b.status && a.consumed == b.consumed && a.data == b.data);
    SMTPKIT_FUZZ_CHECK(a.consumed <= held.size());
    // Body bytes are views of the input, or of the static CRLF of a normalized bare LF.
    if (!a.data.empty() && !buf.inside(a.data)) SMTPKIT_FUZZ_CHECK(a.data == "\r\n");
    out.body.append(a.data.data(), a.data.size());
    buf.consume(a.consumed);
    if (a.status == data_status::end) {
      out.finished = true;
      out.end = buf.consumed();
      // Further calls report the end again and consume nothing.
      const data_result again = simd.next(buf.view());
      SMTPKIT_FUZZ_CHECK(again.status == data_status::end && again.consumed == 0 &&
                         again.data.empty());
    } else if (a.status == data_status::need_more) {
      // At most two bytes ("." and CR, or one CR) wait for more input.
      SMTPKIT_FUZZ_CHECK(buf.held() <= 2);
      if (buf.all_arrived()) break;
    } else {
      SMTPKIT_FUZZ_CHECK(a.consumed != 0);  // a chunk always makes progress
    }
  }
  SMTPKIT_FUZZ_CHECK(simd.finished() == out.finished && scalar.finished() == out.finished);
  SMTPKIT_FUZZ_CHECK(simd.saw_bare_lf() == scalar.saw_bare_lf() &&
                     simd.saw_bare_cr() == scalar.saw_bare_cr() &&
                     simd.saw_long_line() == scalar.saw_long_line() &&
                     simd.body_size() == scalar.body_size() && simd.error() == scalar.error());
  out.bare_lf = simd.saw_bare_lf();
  out.bare_cr = simd.saw_bare_cr();
  out.long_line = simd.saw_long_line();
  out.body_size = simd.body_size();
  out.error = simd.error();
  return out;
}

void check_reader(std::string_view in) {
  // The first CRLF "." CRLF, the DATA line's CRLF counting as the first one.
  const std::string framed = "\r\n" + std::string(in);
  const std::size_t first = framed.find("\r\n.\r\n");
  static constexpr std::size_t limits[] = {1000, 0, 7};
  for (std::size_t limit : limits) {
    for (bare_newline_policy policy :
         {bare_newline_policy::reject, bare_newline_policy::normalize}) {
      const bool normalize = policy == bare_newline_policy::normalize;
      const model m = reference(in, limit, normalize);
      const outcome whole = feed(in, limit, policy, [](std::size_t left) { return left; });
      // Property 1.
      SMTPKIT_FUZZ_CHECK(whole.finished == (first != std::string::npos));
      if (whole.finished) SMTPKIT_FUZZ_CHECK(whole.end == first + 3);
      // Property 2.
      SMTPKIT_FUZZ_CHECK(m.finished == whole.finished);
      if (m.finished) {
        SMTPKIT_FUZZ_CHECK(m.end == whole.end);
        SMTPKIT_FUZZ_CHECK(whole.body == m.body);
        SMTPKIT_FUZZ_CHECK(whole.bare_lf == m.bare_lf && whole.bare_cr == m.bare_cr &&
                           whole.long_line == m.long_line);
        std::error_code want;
        if (m.bare_lf && !normalize) {
          want = make_error_code(errc::bare_lf);
        } else if (m.bare_cr) {
          want = make_error_code(errc::bare_cr);
        } else if (m.long_line) {
          want = make_error_code(errc::text_line_too_long);
        }
        SMTPKIT_FUZZ_CHECK(whole.error == want);
      } else {
        // The unfinished body is the model's, less at most two held octets.
        SMTPKIT_FUZZ_CHECK(whole.body.size() <= m.body.size() &&
                           m.body.size() - whole.body.size() <= 2 &&
                           m.body.compare(0, whole.body.size(), whole.body) == 0);
      }
      SMTPKIT_FUZZ_CHECK(whole.body_size == whole.body.size());
      // Property 3.
      smtpkit_fuzz::rng r(smtpkit_fuzz::hash_bytes(in) ^ limit);
      const outcome pieces = feed(
          in, limit, policy, [&r](std::size_t left) { return smtpkit_fuzz::piece_size(r, left); });
      const outcome* cuts[2] = {&pieces, nullptr};
      outcome bytes;
      if (in.size() <= 256) {  // byte by byte costs O(n^2) copies
        bytes = feed(in, limit, policy,
                     [](std::size_t left) -> std::size_t { return left != 0 ? 1 : 0; });
        cuts[1] = &bytes;
      }
      for (const outcome* o : cuts) {
        if (o == nullptr) continue;
        SMTPKIT_FUZZ_CHECK(o->finished == whole.finished && o->end == whole.end);
        if (whole.finished) {
          SMTPKIT_FUZZ_CHECK(o->body == whole.body && o->error == whole.error);
          SMTPKIT_FUZZ_CHECK(o->bare_lf == whole.bare_lf && o->bare_cr == whole.bare_cr &&
                             o->long_line == whole.long_line);
        } else {
          SMTPKIT_FUZZ_CHECK(o->body.size() <= m.body.size() &&
                             m.body.compare(0, o->body.size(), o->body) == 0);
        }
      }
    }
  }
}

/// Returns @p x with every line end made CRLF and, when it is not empty, ending in CRLF.
std::string crlf_normalized(std::string_view x) {
  std::string out;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] == '\r') {
      out += "\r\n";
      if (i + 1 < x.size() && x[i + 1] == '\n') ++i;
    } else if (x[i] == '\n') {
      out += "\r\n";
    } else {
      out += x[i];
    }
  }
  if (!out.empty() && out.back() != '\n') out += "\r\n";
  return out;
}

/// Stuffs @p x in pieces into outputs of small, varying room; checks both scans agree.
std::string stuff(std::string_view x, smtpkit_fuzz::rng& r) {
  std::string wire, wire_scalar;
  dot_stuffer a, b;
  char buf_a[64], buf_b[64];
  std::size_t i = 0;
  for (int guard = 0; i < x.size(); ++guard) {
    SMTPKIT_FUZZ_CHECK(guard <= static_cast<int>(x.size()) * 4 + 16);
    const std::size_t piece = smtpkit_fuzz::piece_size(r, x.size() - i);
    const std::size_t room = 2 + r.below(sizeof buf_a - 1);
    byte_writer wa(buf_a, room), wb(buf_b, room);
    const std::string_view in = x.substr(i, piece);
    const smtpkit_fuzz::exact_copy c(in);
    const std::size_t ta = a.write(c.view(), wa);
    const std::size_t tb = b.write_scalar(c.view(), wb);
    SMTPKIT_FUZZ_CHECK(ta == tb && wa.view() == wb.view());
    SMTPKIT_FUZZ_CHECK(ta <= in.size());
    // With room for two bytes, progress is always made.
    SMTPKIT_FUZZ_CHECK(ta != 0 || wa.size() != 0);
    wire += wa.view();
    wire_scalar += wb.view();
    i += ta;
  }
  // finish() needs at most 5 bytes; with less room it writes nothing and can be called again.
  char tail[8];
  byte_writer small(tail, r.below(6));
  if (const std::error_code e = a.finish(small)) {
    SMTPKIT_FUZZ_CHECK(e == errc::output_full && small.size() == 0);
    byte_writer wt(tail, sizeof tail);
    SMTPKIT_FUZZ_CHECK(!a.finish(wt));
    wire += wt.view();
  } else {
    wire += small.view();
  }
  SMTPKIT_FUZZ_CHECK(a.at_line_start());  // finish() resets the stuffer
  return wire;
}

void check_round_trip(std::string_view x) {
  smtpkit_fuzz::rng r(smtpkit_fuzz::hash_bytes(x) * 31 + 7);
  const std::string wire = stuff(x, r);
  // No bare CR or LF on the wire, and the end marker only at the very end.
  for (std::size_t i = 0; i < wire.size(); ++i) {
    if (wire[i] == '\r') SMTPKIT_FUZZ_CHECK(i + 1 < wire.size() && wire[i + 1] == '\n');
    if (wire[i] == '\n') SMTPKIT_FUZZ_CHECK(i > 0 && wire[i - 1] == '\r');
  }
  const std::string framed = "\r\n" + wire;
  SMTPKIT_FUZZ_CHECK(framed.find("\r\n.\r\n") == framed.size() - 5);
  const std::string want = crlf_normalized(x);
  for (bare_newline_policy policy : {bare_newline_policy::reject, bare_newline_policy::normalize}) {
    smtpkit_fuzz::rng rr(r.next());
    const outcome o = feed(wire, 0, policy,
                           [&rr](std::size_t left) { return smtpkit_fuzz::piece_size(rr, left); });
    SMTPKIT_FUZZ_CHECK(o.finished && o.end == wire.size());
    SMTPKIT_FUZZ_CHECK(o.body == want);
    SMTPKIT_FUZZ_CHECK(!o.error && !o.bare_lf && !o.bare_cr);
  }
}

void check(std::string_view in) {
  check_reader(in);
  check_round_trip(in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smtpkit_fuzz::run_plain_and_alphabet(data, size, check);
  return 0;
}
