// smtpkit fuzzing: reply_reader and parse_reply() (codec/reply.hpp), the client's parser of
// server replies, fed in random-sized pieces. RFC 5321 4.2, 4.5.3.1.5; RFC 2034 / 3463.
//
// Properties, for the default bounds and small ones:
//  1. The replies and the final error do not depend on how the stream is cut (whole, random
//     pieces, byte by byte), though the bytes move in memory between calls.
//  2. Each reply is whole lines of at most max_line octets with CRLF, at most max_lines of them,
//     all with the same code (2-5, 0-5, 0-9), '-' on every line but the last; its views lie in
//     its raw bytes; an enhanced status is split only with the reply's class.
//  3. parse_reply() of a reply's raw bytes gives the same reply; errors are sticky.
// SPDX-License-Identifier: MIT
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t
#include <smtpkit/codec/enhanced_status.hpp>
#include <smtpkit/codec/reply.hpp>
#include <smtpkit/core/buffer.hpp>
#include <smtpkit/core/limits.hpp>
#include <string>       // string
#include <string_view>  // string_view
#include <vector>       // vector

#include "fuzz_support.hpp"

namespace {

using namespace smtpkit;
using smtpkit_fuzz::owner_buffer;

struct outcome {
  std::vector<std::size_t> ends;  // where each reply ended in the input
  std::vector<int> codes;
  errc error{};
  bool operator==(const outcome& o) const {
    return ends == o.ends && codes == o.codes && error == o.error;
  }
};

/// Checks one reply against property 2 and 3.
void check_reply(const reply& r, std::size_t max_line, std::size_t max_lines) {
  const std::string_view raw = r.raw();
  SMTPKIT_FUZZ_CHECK(r.code() >= 200 && r.code() <= 559 && r.code() / 10 % 10 <= 5);
  SMTPKIT_FUZZ_CHECK(r.line_count() >= 1 && r.line_count() <= max_lines);
  SMTPKIT_FUZZ_CHECK(raw.size() >= 5 && raw.substr(raw.size() - 2) == "\r\n");
  SMTPKIT_FUZZ_CHECK(r.multiline() == (r.line_count() > 1));
  const auto in_raw = [raw](std::string_view v) {
    return v.empty() || (v.data() >= raw.data() && v.data() + v.size() <= raw.data() + raw.size());
  };
  SMTPKIT_FUZZ_CHECK(in_raw(r.text()));
  std::size_t n = 0;
  std::size_t at = 0;
  const char first_digit = raw[0];
  for (const reply_line& line : r.lines()) {
    ++n;
    const std::size_t lf = raw.find('\n', at);
    SMTPKIT_FUZZ_CHECK(lf != std::string_view::npos && lf > at && raw[lf - 1] == '\r');
    const std::string_view whole = raw.substr(at, lf + 1 - at);
    SMTPKIT_FUZZ_CHECK(whole.size() <= max_line);
    SMTPKIT_FUZZ_CHECK(whole.substr(0, 3) == raw.substr(0, 3));
    SMTPKIT_FUZZ_CHECK(line.last == (n == r.line_count()));
    SMTPKIT_FUZZ_CHECK(whole.size() == 5 || whole[3] == (line.last ? ' ' : '-'));
    SMTPKIT_FUZZ_CHECK(in_raw(line.text) && in_raw(line.raw_text));
    for (char c : line.raw_text) SMTPKIT_FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0');
    // text is raw_text less the enhanced status (and its SP) when one was split off.
    SMTPKIT_FUZZ_CHECK(line.raw_text.size() >= line.text.size() &&
                       line.raw_text.substr(line.raw_text.size() - line.text.size()) == line.text);
    if (line.enhanced) {
      SMTPKIT_FUZZ_CHECK(line.enhanced->valid() && line.enhanced->cls == first_digit - '0');
      SMTPKIT_FUZZ_CHECK(class_matches(*line.enhanced, r.code()));
      enhanced_status st;
      const std::size_t k = parse_enhanced_status_prefix(line.raw_text, st);
      SMTPKIT_FUZZ_CHECK(k != 0 && st == *line.enhanced);
      // The status alone parses, and writes back as the same text.
      const std::string_view text = line.raw_text.substr(0, k);
      const result<enhanced_status> alone = parse_enhanced_status(text);
      SMTPKIT_FUZZ_CHECK(alone.has_value() && *alone == st && !(*alone != st));
      char buf[enhanced_status_max_size];
      byte_writer w(buf, sizeof buf);
      SMTPKIT_FUZZ_CHECK(!write_enhanced_status(w, st) && w.view() == text);
      byte_writer tiny(buf, k - 1);
      SMTPKIT_FUZZ_CHECK(write_enhanced_status(tiny, st) == errc::output_full && tiny.size() == 0);
    } else {
      SMTPKIT_FUZZ_CHECK(line.text.size() == line.raw_text.size());
    }
    if (n == 1) {
      SMTPKIT_FUZZ_CHECK(line.text == r.text() && line.enhanced == r.enhanced());
    }
    at = lf + 1;
  }
  SMTPKIT_FUZZ_CHECK(n == r.line_count() && at == raw.size());
  // The line iterator, walked the other way round (post-increment, operator->).
  std::size_t m = 0;
  for (auto it = r.lines().begin(); it != r.lines().end(); it++)
    if (it->last) ++m;
  SMTPKIT_FUZZ_CHECK(m == 1 && r.lines().begin() == r.lines().begin());
  // Property 3.
  limits lim;
  lim.reply_line = max_line;
  const smtpkit_fuzz::exact_copy copy(raw);
  const result<reply> again = parse_reply(copy.view(), lim, max_lines);
  SMTPKIT_FUZZ_CHECK(again.has_value() && *again == r && !(*again != r) && again->raw() == raw);
  // Bytes after a reply make parse_reply() refuse it; a missing byte makes it incomplete.
  const std::string longer = std::string(raw) + "2";
  const result<reply> extra = parse_reply(longer, lim, max_lines);
  SMTPKIT_FUZZ_CHECK(!extra && extra.error() == errc::bad_reply);
  const result<reply> cut = parse_reply(raw.substr(0, raw.size() - 1), lim, max_lines);
  SMTPKIT_FUZZ_CHECK(!cut && cut.error() == errc::incomplete);
}

/// Reads the whole stream @p in with pieces from @p next_piece.
template <class Next>
outcome feed(std::string_view in, std::size_t max_line, std::size_t max_lines, Next next_piece) {
  outcome out;
  limits lim;
  lim.reply_line = max_line;
  reply_reader rd(lim, max_lines);
  SMTPKIT_FUZZ_CHECK(rd.max_line() == (max_line < 5 ? 5 : max_line));
  owner_buffer buf(in);
  for (int guard = 0;; ++guard) {
    SMTPKIT_FUZZ_CHECK(guard <= 2 * static_cast<int>(in.size()) + 4);
    buf.arrive(next_piece(in.size() - buf.arrived()));
    const std::string_view held = buf.view();
    const reply_result r = rd.read(held);
    if (r.status == reply_status::reply) {
      SMTPKIT_FUZZ_CHECK(r.consumed == r.value.raw().size() && r.consumed <= held.size());
      SMTPKIT_FUZZ_CHECK(r.value.raw().data() == held.data());
      check_reply(r.value, rd.max_line(), rd.max_lines());
      out.codes.push_back(r.value.code());
      buf.consume(r.consumed);
      out.ends.push_back(buf.consumed());
      continue;  // a pipelined reply may follow
    }
    SMTPKIT_FUZZ_CHECK(r.consumed == 0);
    if (r.status == reply_status::error) {
      out.error = r.error;
      SMTPKIT_FUZZ_CHECK(rd.failed() && rd.error() == r.error);
      // Errors are sticky, until reset().
      const reply_result again = rd.read(buf.view());
      SMTPKIT_FUZZ_CHECK(again.status == reply_status::error && again.error == r.error);
      rd.reset();
      SMTPKIT_FUZZ_CHECK(!rd.failed() && rd.read("250\r\n").status == reply_status::reply);
      break;
    }
    SMTPKIT_FUZZ_CHECK(!rd.failed());
    if (buf.all_arrived()) break;
  }
  if (out.error == errc{}) {
    // Whatever is left is an incomplete reply, shorter than max_lines lines of max_line.
    SMTPKIT_FUZZ_CHECK(buf.held() < rd.max_line() * rd.max_lines() + 2);
  }
  return out;
}

void check(std::string_view in) {
  struct bounds {
    std::size_t line, lines;
  };
  static constexpr bounds configs[] = {{512, 100}, {16, 3}, {0, 0}};
  for (const bounds& b : configs) {
    const outcome whole = feed(in, b.line, b.lines, [](std::size_t left) { return left; });
    smtpkit_fuzz::rng r(smtpkit_fuzz::hash_bytes(in) + b.line);
    const outcome pieces = feed(
        in, b.line, b.lines, [&r](std::size_t left) { return smtpkit_fuzz::piece_size(r, left); });
    SMTPKIT_FUZZ_CHECK(pieces == whole);
    if (in.size() <= 256) {  // byte by byte costs O(n^2) copies
      const outcome bytes = feed(in, b.line, b.lines,
                                 [](std::size_t left) -> std::size_t { return left != 0 ? 1 : 0; });
      SMTPKIT_FUZZ_CHECK(bytes == whole);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smtpkit_fuzz::run_plain_and_alphabet(data, size, check);
  return 0;
}
