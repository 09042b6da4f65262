// smtpkit codec internals: the check of a SASL mechanism name, shared by the AUTH command
// (parser and writer) and the EHLO reply writer. RFC 4422 3.1 (sasl-mech), RFC 4954 4 (AUTH).
//
// Rules:
//  1. A name is 1 to 20 characters, each a letter, a digit, "-" or "_".
//  2. Letters may be of either case. RFC 4422 names are upper case, but some clients send
//     "AUTH plain" and common servers (Postfix, Cyrus SASL) accept it; names compare without
//     regard to case everywhere in smtpkit (find_mechanism, ehlo_capabilities::has_mechanism).
// SPDX-License-Identifier: MIT
#pragma once

#include <smtpkit/core/bytes.hpp>  // ascii::is_alnum
#include <smtpkit/core/config.hpp>
#include <string_view>  // string_view

SMTPKIT_NAMESPACE_BEGIN
namespace detail {

/// Returns true when @p s is a SASL mechanism name: 1*20 of ALPHA (either case), DIGIT, "-"
/// and "_" (RFC 4422 3.1 sasl-mech, with lower case accepted).
constexpr bool is_sasl_mech(std::string_view s) noexcept {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s)
    if (!ascii::is_alnum(c) && c != '-' && c != '_') return false;
  return true;
}

}  // namespace detail
SMTPKIT_NAMESPACE_END
