// smtpkit fuzzing: bdat_reader (codec/bdat.hpp), the octet counter of BDAT chunks. RFC 3030 2.
//
// The input is a stream of chunks; control bytes from its end choose each chunk's size, whether
// it is the LAST one, and how its bytes arrive. Properties:
//  1. A chunk passes through exactly its announced octets, as they are, in order, and never
//     consumes a byte past its end (the next command).
//  2. message_size() counts every octet passed since reset(); remaining() counts down to 0.
//  3. start() is refused (errc::invalid_state, nothing changes) while a chunk is incomplete and
//     after a LAST chunk until reset(); next() without a chunk is idle and consumes nothing.
// SPDX-License-Identifier: MIT
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t, uint64_t
#include <smtpkit/codec/bdat.hpp>
#include <string>       // string
#include <string_view>  // string_view

#include "fuzz_support.hpp"

using namespace smtpkit;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smtpkit_fuzz::provider p(data, size);
  bdat_reader rd;
  std::uint64_t total = 0;
  SMTPKIT_FUZZ_CHECK(rd.next("x").status == bdat_status::idle);
  for (int round = 0; round < 64 && p.remaining() != 0; ++round) {
    const bool last = (p.byte() & 3) == 0;
    const std::string_view bytes = p.take(p.range(0, p.remaining() < 600 ? p.remaining() : 600));
    const std::size_t chunk = bytes.size();
    SMTPKIT_FUZZ_CHECK(!rd.start(chunk, last));
    SMTPKIT_FUZZ_CHECK(rd.start(1, false) == errc::invalid_state);  // nothing changes
    SMTPKIT_FUZZ_CHECK(rd.remaining() == chunk && rd.active());
    // The chunk's bytes followed by the "next command", which must never be consumed.
    const std::string stream = std::string(bytes) + "RSET\r\n";
    smtpkit_fuzz::owner_buffer buf(stream);
    std::string got;
    bool complete = false;
    for (int guard = 0; !complete; ++guard) {
      SMTPKIT_FUZZ_CHECK(guard <= static_cast<int>(stream.size()) + 2);
      buf.arrive(p.range(1, stream.size() - buf.arrived()));
      const std::string_view held = buf.view();
      const bdat_result r = rd.next(held);
      SMTPKIT_FUZZ_CHECK(r.consumed == r.data.size() && r.consumed <= held.size());
      SMTPKIT_FUZZ_CHECK(r.data.empty() || r.data.data() == held.data());
      got += r.data;
      buf.consume(r.consumed);
      if (r.status == bdat_status::complete) {
        complete = true;
        SMTPKIT_FUZZ_CHECK(r.last == last && !rd.active() && rd.remaining() == 0);
      } else if (r.status == bdat_status::need_more) {
        SMTPKIT_FUZZ_CHECK(held.empty());
      } else {
        SMTPKIT_FUZZ_CHECK(r.status == bdat_status::chunk && r.consumed == held.size() &&
                           rd.active());
      }
      if (!complete && buf.all_arrived()) SMTPKIT_FUZZ_CHECK(false);  // the chunk is all there
    }
    SMTPKIT_FUZZ_CHECK(got == bytes);
    SMTPKIT_FUZZ_CHECK(buf.consumed() == bytes.size());
    total += bytes.size();
    SMTPKIT_FUZZ_CHECK(rd.message_size() == total);
    SMTPKIT_FUZZ_CHECK(rd.next("RSET\r\n").status == bdat_status::idle);
    SMTPKIT_FUZZ_CHECK(rd.message_complete() == last);
    if (last) {
      SMTPKIT_FUZZ_CHECK(rd.start(1, false) == errc::invalid_state);
      rd.reset();
      total = 0;
      SMTPKIT_FUZZ_CHECK(rd.message_size() == 0 && !rd.message_complete());
    }
  }
  return 0;
}
