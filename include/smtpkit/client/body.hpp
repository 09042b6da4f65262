// smtpkit client: line ends of a message sent in BDAT chunks. RFC 3030 2 sends chunk octets
// as they are (no dot-stuffing), so a text message (7BIT or 8BITMIME) must already use CRLF
// (RFC 5321 2.3.8, RFC 5322 2.1); DATA gets the same treatment from dot_stuffer (data.hpp).
// A BINARYMIME message (RFC 3030 3) is sent untouched.
//
// Rules:
//  1. A bare LF becomes CRLF; a bare CR becomes CRLF; CRLF stays. No other octet changes.
//  2. A CR that ends a chunk which is not the last is sent at once; its LF, whether the next
//     chunk starts with one or it must be added, goes at the start of the next chunk. The last
//     chunk never ends in a bare CR.
//  3. The size announced in "BDAT <size>" is computed first (crlf_normalized_size()), so the
//     command and the chunk can be written together; both functions walk the same states.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                  // size_t
#include <cstdint>                  // uint64_t
#include <smtpkit/core/buffer.hpp>  // byte_writer
#include <smtpkit/core/bytes.hpp>   // detail::find_byte
#include <smtpkit/core/config.hpp>
#include <string_view>  // string_view

SMTPKIT_NAMESPACE_BEGIN

namespace detail {

/// Returns the size of @p in once its line ends are CRLF (rules 1 and 2). @p pending_cr says
/// that the previous chunk ended in a CR; @p last that this chunk ends the message.
inline std::uint64_t crlf_normalized_size(std::string_view in, bool pending_cr,
                                          bool last) noexcept {
  std::uint64_t n = in.size();
  std::size_t i = 0;
  if (pending_cr) {
    if (in.empty() || in[0] != '\n')
      ++n;  // the LF that completes the CR is added
    else
      i = 1;  // the CR's own LF
  }
  for (; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\n') {
      ++n;  // a bare LF: a CR is added before it
    } else if (c == '\r') {
      if (i + 1 < in.size()) {
        if (in[i + 1] == '\n')
          ++i;  // CRLF
        else
          ++n;  // a bare CR: an LF is added after it
      } else if (last) {
        ++n;  // a CR ending the message
      }
    }
  }
  if (pending_cr && in.empty() && !last) --n;  // nothing to complete the CR with yet
  return n;
}

/// Appends @p in with CRLF line ends (rules 1 and 2); @p pending_cr is updated for the next
/// chunk. @pre @p out has room for crlf_normalized_size(in, pending_cr, last) octets.
inline void write_crlf_normalized(std::string_view in, bool& pending_cr, bool last,
                                  byte_writer& out) noexcept {
  std::size_t i = 0;
  if (pending_cr && !in.empty()) {
    out.push('\n');
    pending_cr = false;
    if (in[0] == '\n') i = 1;
  }
  std::size_t cr = find_byte(in, '\r', i);
  std::size_t lf = find_byte(in, '\n', i);
  while (i < in.size()) {
    // Each search resumes only once its last hit is behind (linear in the input).
    if (cr != std::string_view::npos && cr < i) cr = find_byte(in, '\r', i);
    if (lf != std::string_view::npos && lf < i) lf = find_byte(in, '\n', i);
    const std::size_t stop = cr < lf ? cr : lf;
    if (stop == std::string_view::npos) {
      out.append(in.substr(i));
      break;
    }
    out.append(in.substr(i, stop - i));
    out.append("\r");
    i = stop + 1;
    if (in[stop] == '\n') {
      out.push('\n');
    } else if (i < in.size()) {
      out.push('\n');
      if (in[i] == '\n') ++i;
    } else {
      pending_cr = true;
    }
  }
  if (pending_cr && last) {
    out.push('\n');
    pending_cr = false;
  }
}

}  // namespace detail

SMTPKIT_NAMESPACE_END
