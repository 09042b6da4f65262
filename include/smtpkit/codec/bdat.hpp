// smtpkit codec: the data side of BDAT. Passes through exactly the number of octets that a
// "BDAT <chunk-size> [LAST]" command announced, over input split anywhere, without copying.
// RFC 3030 2 (CHUNKING: "bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF",
// chunk-size ::= 1*DIGIT, end-marker ::= "LAST"), 3 (BINARYMIME). The command line itself is
// parsed by command.hpp.
//
// Rules:
//  1. A chunk is exactly the announced number of octets. They are passed through as they are:
//     no dot-stuffing, no line ends, no check of CR, LF or NUL (RFC 3030 2: the data is sent
//     "without any transparency or line-length restrictions").
//  2. Bytes after the chunk are never consumed: they are the next command.
//  3. "BDAT 0 LAST" (and "BDAT 0") is an empty chunk, complete at once.
//  4. After a LAST chunk completes the message is over; start() refuses another chunk until
//     reset() (the owner replies to the message first).
//  5. Zero-copy and allocation-free: chunk bytes are views into the caller's input.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>  // errc, make_error_code
#include <string_view>             // string_view
#include <system_error>            // error_code

SMTPKIT_NAMESPACE_BEGIN

/// What bdat_reader::next() found.
enum class bdat_status : unsigned char {
  need_more = 0,  ///< the chunk needs more bytes and there are none now
  chunk = 1,      ///< chunk bytes are in `data`; more are to come
  complete = 2,   ///< the chunk is complete; `data` holds its last bytes (maybe none)
  idle = 3,       ///< no chunk was started (or the last one already completed)
};

/// The outcome of one bdat_reader::next() call.
struct bdat_result {
  /// What was found.
  bdat_status status = bdat_status::need_more;
  /// Chunk bytes, a view into the input.
  /// @warning Valid as long as the bytes given to next() are.
  std::string_view data{};
  /// How many bytes the caller must drop from the front of its input.
  std::size_t consumed = 0;
  /// With bdat_status::complete: true when the chunk was announced with LAST (the message is
  /// complete too).
  bool last = false;
};

/// Counts the octets of BDAT chunks and passes them through.
///
/// Contract: after parsing "BDAT n [LAST]", the owner calls start(n, last), then passes its
/// unconsumed bytes (those after the BDAT command's CRLF) to next() and drops `consumed` after
/// each call, until next() returns complete.
class bdat_reader {
 public:
  /// Starts a chunk of @p size octets, the last of the message when @p last.
  /// @return an empty error_code, or errc::invalid_state when a chunk is still incomplete or the
  ///         LAST chunk has already completed (call reset() for a new message); nothing changes.
  std::error_code start(std::uint64_t size, bool last) noexcept {
    if (active_ || done_) return make_error_code(errc::invalid_state);
    remaining_ = size;
    last_ = last;
    active_ = true;
    return {};
  }

  /// Passes through the next bytes of the chunk in @p unconsumed.
  /// @return idle (no chunk started: nothing consumed), need_more (@p unconsumed is empty),
  ///         chunk (all of @p unconsumed belongs to the chunk, which needs more), or complete
  ///         (the chunk's last bytes; what follows them is not consumed; `last` tells whether
  ///         the message is complete).
  bdat_result next(std::string_view unconsumed) noexcept {
    if (!active_) return {bdat_status::idle, {}, 0, false};
    if (remaining_ > unconsumed.size()) {
      if (unconsumed.empty()) return {bdat_status::need_more, {}, 0, false};
      remaining_ -= unconsumed.size();
      message_size_ += unconsumed.size();
      return {bdat_status::chunk, unconsumed, unconsumed.size(), false};
    }
    const auto n = static_cast<std::size_t>(remaining_);  // fits: not above unconsumed.size()
    remaining_ = 0;
    message_size_ += n;
    active_ = false;
    done_ = last_;
    return {bdat_status::complete, unconsumed.substr(0, n), n, last_};
  }

  /// Prepares for a new message: forgets any chunk in progress and the octet count.
  void reset() noexcept {
    remaining_ = 0;
    message_size_ = 0;
    active_ = false;
    last_ = false;
    done_ = false;
  }

  /// Returns true while a chunk is started and incomplete.
  bool active() const noexcept { return active_; }
  /// Returns true once the LAST chunk has completed.
  bool message_complete() const noexcept { return done_; }
  /// Returns the octets of the current chunk not yet passed through.
  std::uint64_t remaining() const noexcept { return remaining_; }
  /// Returns the octets passed through since reset(), over all chunks (for SIZE, RFC 1870).
  std::uint64_t message_size() const noexcept { return message_size_; }

 private:
  std::uint64_t remaining_ = 0;
  std::uint64_t message_size_ = 0;
  bool active_ = false;
  bool last_ = false;
  bool done_ = false;
};

SMTPKIT_NAMESPACE_END
