// smtpkit fuzzing: line_reader (codec/line_reader.hpp), the CRLF framer of commands and SASL
// lines. RFC 5321 2.3.8, 4.5.3.1.4-6.
//
// Properties, for three limits and both bare-LF policies:
//  1. The lines, errors and the total consumed do not depend on how the input is cut: fed
//     whole, in random pieces and byte by byte, the reader reports the same sequence.
//  2. A line holds no CR and no LF (and no NUL), ends at CRLF (or a bare LF under normalize),
//     fits the limit with its line end, and is the very bytes of the input at that place.
//  3. The owner never holds more than `limit` octets while waiting for a line end, and the
//     reader never consumes more than it was given.
// SPDX-License-Identifier: MIT
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t
#include <smtpkit/codec/line_reader.hpp>
#include <string>       // string
#include <string_view>  // string_view
#include <vector>       // vector

#include "fuzz_support.hpp"

namespace {

using namespace smtpkit;
using smtpkit_fuzz::owner_buffer;

struct record {
  line_status status;
  errc error;
  std::size_t offset;  // of the line in the input (0 for line_too_long)
  std::size_t size;
  bool operator==(const record& o) const {
    return status == o.status && error == o.error && offset == o.offset && size == o.size;
  }
};

struct outcome {
  std::vector<record> records;
  std::size_t consumed = 0;
};

/// Feeds @p in with pieces from @p next_piece (0 = everything) and records what the reader says.
template <class Next>
outcome feed(std::string_view in, std::size_t limit, bare_newline_policy policy, Next next_piece) {
  outcome out;
  line_reader rd(limit, policy);
  SMTPKIT_FUZZ_CHECK(rd.policy() == policy && rd.limit() == (limit == 0 ? ~std::size_t{0} : limit));
  owner_buffer buf(in);
  while (true) {
    const std::size_t before = buf.arrived();
    buf.arrive(next_piece(in.size() - buf.arrived()));
    const bool last = buf.all_arrived();
    for (int guard = 0;; ++guard) {
      SMTPKIT_FUZZ_CHECK(guard <= static_cast<int>(in.size()) + 2);
      const std::string_view held = buf.view();
      const line_result r = rd.next(held);
      SMTPKIT_FUZZ_CHECK(r.consumed <= held.size());
      if (r.status == line_status::need_more) {
        buf.consume(r.consumed);
        // Rule 4 of line_reader.hpp: the owner never holds more than a line's limit.
        if (limit != 0) SMTPKIT_FUZZ_CHECK(buf.held() <= limit);
        break;
      }
      const bool too_long = r.status == line_status::error && r.error == errc::line_too_long;
      std::size_t at = 0;
      if (!too_long) {
        SMTPKIT_FUZZ_CHECK(r.line.data() != nullptr && buf.inside(r.line));
        at = buf.offset_of(r.line);
      }
      if (r.status == line_status::line) {
        for (char c : r.line) SMTPKIT_FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0');
        if (limit != 0) SMTPKIT_FUZZ_CHECK(r.line.size() + 2 <= limit);
        // The line end follows the line.
        const std::size_t end = at + r.line.size();
        SMTPKIT_FUZZ_CHECK(end < in.size());
        if (in[end] == '\r') {
          SMTPKIT_FUZZ_CHECK(end + 1 < in.size() && in[end + 1] == '\n');
        } else {
          SMTPKIT_FUZZ_CHECK(in[end] == '\n' && policy == bare_newline_policy::normalize);
        }
      } else {
        SMTPKIT_FUZZ_CHECK(r.error == errc::line_too_long || r.error == errc::nul_byte ||
                           r.error == errc::bare_lf || r.error == errc::bare_cr);
        if (r.error == errc::bare_lf) SMTPKIT_FUZZ_CHECK(policy == bare_newline_policy::reject);
        if (r.error == errc::line_too_long) SMTPKIT_FUZZ_CHECK(r.line.empty() && limit != 0);
        // Over a line's limit before its end arrived: the rest of it is being discarded.
        if (too_long) {
          const std::string_view took = held.substr(0, r.consumed);
          const bool ended =
              (took.size() >= 2 && took.substr(took.size() - 2) == "\r\n") ||
              (policy == bare_newline_policy::normalize && !took.empty() && took.back() == '\n');
          SMTPKIT_FUZZ_CHECK(rd.discarding() == !ended);
        }
      }
      out.records.push_back(
          {r.status, r.status == line_status::error ? r.error : errc{}, at, r.line.size()});
      buf.consume(r.consumed);
    }
    if (last || buf.arrived() == before) break;
  }
  out.consumed = buf.consumed();
  // After reset() the reader starts afresh, whatever it was in the middle of.
  rd.reset();
  SMTPKIT_FUZZ_CHECK(!rd.discarding());
  const line_result again = rd.next("NOOP\r\n");
  SMTPKIT_FUZZ_CHECK(again.status == line_status::line && again.line == "NOOP" &&
                     again.consumed == 6);
  return out;
}

void check(std::string_view in) {
  static constexpr std::size_t limits[] = {512, 8, 0};
  for (std::size_t limit : limits) {
    for (bare_newline_policy policy :
         {bare_newline_policy::reject, bare_newline_policy::normalize}) {
      const outcome whole = feed(in, limit, policy, [](std::size_t left) { return left; });
      smtpkit_fuzz::rng r(smtpkit_fuzz::hash_bytes(in) + limit);
      const outcome pieces = feed(
          in, limit, policy, [&r](std::size_t left) { return smtpkit_fuzz::piece_size(r, left); });
      SMTPKIT_FUZZ_CHECK(pieces.records == whole.records);
      SMTPKIT_FUZZ_CHECK(pieces.consumed == whole.consumed);
      if (in.size() <= 256) {  // byte by byte costs O(n^2) copies
        const outcome bytes = feed(
            in, limit, policy, [](std::size_t left) -> std::size_t { return left != 0 ? 1 : 0; });
        SMTPKIT_FUZZ_CHECK(bytes.records == whole.records);
        SMTPKIT_FUZZ_CHECK(bytes.consumed == whole.consumed);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smtpkit_fuzz::run_plain_and_alphabet(data, size, check);
  return 0;
}
