// smtpkit fuzzing: replies, parse -> write -> parse (codec/reply.hpp rule 8). RFC 5321 4.2,
// RFC 2034 4, RFC 3463 2.
//
// Properties:
//  1. Every reply reply_reader reads from the input whose lines carry the same enhanced status
//     (or none) is written back by write_reply() without error, and reads back equal (same code,
//     lines, texts and statuses); writing that again gives the same bytes.
//  2. A reply_spec built from control bytes (any code, any status, texts of any octets) is either
//     refused with invalid_argument, line_too_long or output_full and nothing appended, or
//     written as bytes that parse_reply() reads back as the very same code, status and texts.
// SPDX-License-Identifier: MIT
#include <cstddef>   // size_t
#include <cstdint>   // uint8_t, uint16_t
#include <optional>  // optional
#include <smtpkit/codec/enhanced_status.hpp>
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

/// Writes @p spec into a fresh buffer; on success returns true and the bytes in @p wire.
bool write(const reply_spec& spec, std::size_t max_line, std::string& wire, errc& error) {
  char buf[8192];
  byte_writer w(buf, sizeof buf);
  w.append("x");  // something before, that a failed write must leave alone
  const std::error_code e = write_reply(w, spec, max_line);
  if (e) {
    SMTPKIT_FUZZ_CHECK(w.view() == "x");
    error = static_cast<errc>(e.value());
    SMTPKIT_FUZZ_CHECK(error == errc::invalid_argument || error == errc::line_too_long ||
                       error == errc::output_full);
    return false;
  }
  wire.assign(w.view().substr(1));
  return true;
}

/// Checks that @p wire reads back as @p spec.
void check_reads_back(std::string_view wire, const reply_spec& spec, std::size_t max_line) {
  limits lim;
  lim.reply_line = max_line;
  const smtpkit_fuzz::exact_copy copy(wire);
  const result<reply> r = parse_reply(copy.view(), lim, 1000);
  SMTPKIT_FUZZ_CHECK(r.has_value());
  SMTPKIT_FUZZ_CHECK(r->code() == spec.code);
  SMTPKIT_FUZZ_CHECK(r->line_count() == 1 + spec.more.size());
  std::size_t i = 0;
  for (const reply_line& line : r->lines()) {
    const std::string_view want = i == 0 ? spec.text : spec.more[i - 1];
    SMTPKIT_FUZZ_CHECK(line.text == want);
    SMTPKIT_FUZZ_CHECK(line.enhanced == spec.enhanced);
    ++i;
  }
}

/// Property 1 for one parsed reply.
void round_trip(const reply& r) {
  std::vector<std::string_view> texts;
  const std::optional<enhanced_status> st = r.lines().begin()->enhanced;
  bool uniform = true;
  for (const reply_line& line : r.lines()) {
    uniform = uniform && line.enhanced == st;
    texts.push_back(line.text);
  }
  if (!uniform) return;
  const reply_spec spec{r.code(), st, texts[0], line_list(texts.data() + 1, texts.size() - 1)};
  std::string wire;
  errc e{};
  SMTPKIT_FUZZ_CHECK(write(spec, 512, wire, e));
  const smtpkit_fuzz::exact_copy copy(wire);
  const result<reply> back = parse_reply(copy.view(), limits{}, 1000);
  SMTPKIT_FUZZ_CHECK(back.has_value() && *back == r);
  check_reads_back(wire, spec, 512);
  // Writing what was read back gives the same bytes.
  std::vector<std::string_view> texts2;
  for (const reply_line& line : back->lines()) texts2.push_back(line.text);
  const reply_spec spec2{back->code(), back->lines().begin()->enhanced, texts2[0],
                         line_list(texts2.data() + 1, texts2.size() - 1)};
  std::string wire2;
  SMTPKIT_FUZZ_CHECK(write(spec2, 512, wire2, e) && wire2 == wire);
}

void parse_and_round_trip(std::string_view in) {
  reply_reader rd;
  while (!in.empty()) {
    const reply_result r = rd.read(in);
    if (r.status != reply_status::reply) break;
    round_trip(r.value);
    in.remove_prefix(r.consumed);
  }
}

/// Property 2: a spec from control bytes.
void write_and_read(std::string_view input) {
  smtpkit_fuzz::provider p(input);
  static constexpr int codes[] = {250, 220, 354, 421, 550, 334, 599, 200, 199, 600, 260, 500};
  const std::uint8_t c = p.byte();
  const int code = (c & 0x80) ? static_cast<int>(p.range(0, 999)) : codes[c % 12];
  std::optional<enhanced_status> st;
  const std::uint8_t s = p.byte();
  if (s & 1) {
    enhanced_status e;
    e.cls = static_cast<std::uint8_t>((s & 2) ? code / 100 : p.byte() % 8);
    e.subject = static_cast<std::uint16_t>(p.range(0, (s & 4) ? 1200 : 9));
    e.detail = static_cast<std::uint16_t>(p.range(0, (s & 8) ? 1200 : 9));
    st = e;
  }
  const std::size_t max_line = (s & 0x10) ? 24 + p.byte() : 512;
  const std::size_t count = 1 + p.byte() % 6;
  std::vector<std::string> store;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t n = p.range(0, 40);
    std::string t(p.take(n));
    if ((s & 0x20) == 0) t = smtpkit_fuzz::into_alphabet(t);
    store.push_back(t);
  }
  std::vector<std::string_view> texts(store.begin(), store.end());
  const reply_spec spec{code, st, texts[0], line_list(texts.data() + 1, texts.size() - 1)};
  std::string wire;
  errc e{};
  if (write(spec, max_line, wire, e)) {
    check_reads_back(wire, spec, max_line < 5 ? 5 : max_line);
    if (texts.size() == 2) {
      // The initializer_list form writes the same bytes.
      char buf[8192];
      byte_writer w(buf, sizeof buf);
      SMTPKIT_FUZZ_CHECK(!write_reply(w, code, st, {texts[0], texts[1]}, max_line));
      SMTPKIT_FUZZ_CHECK(w.view() == wire);
    }
    SMTPKIT_FUZZ_CHECK(code >= 200 && code <= 559 && (!st || class_matches(*st, code)));
  } else if (e == errc::line_too_long) {
    // With a longer line allowed the length is no longer a reason (another fault may be).
    std::string wire2;
    SMTPKIT_FUZZ_CHECK(write(spec, 100000, wire2, e) || e != errc::line_too_long);
  }
}

void check(std::string_view in) {
  parse_and_round_trip(in);
  write_and_read(in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smtpkit_fuzz::run_plain_and_alphabet(data, size, check);
  return 0;
}
