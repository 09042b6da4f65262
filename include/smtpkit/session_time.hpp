// smtpkit: the deadlines a session asks its driver to keep (RFC 5321 4.5.3.2). The core reads no
// clock: a session says which timer applies now and for how long; the driver arms it and calls
// timeout() when it fires.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>  // uint32_t
#include <smtpkit/core/config.hpp>

SMTPKIT_NAMESPACE_BEGIN

/// Which RFC 5321 4.5.3.2 timer applies.
enum class timeout_kind : unsigned char {
  none = 0,          ///< no timer (closed, or waiting on the application, not the peer)
  greeting = 1,      ///< client: waiting for the 220 greeting (4.5.3.2.1, 5 minutes)
  reply = 2,         ///< client: waiting for a reply to MAIL, RCPT or another command
                     ///< (4.5.3.2.2/3, 5 minutes)
  data_init = 3,     ///< client: waiting for 354 (4.5.3.2.4, 2 minutes)
  data_block = 4,    ///< server: waiting for message data or a BDAT chunk (3 minutes for a client's
                     ///< block send, 4.5.3.2.5; the server uses its idle timeout)
  data_term = 5,     ///< client: waiting for the reply to the end of data (4.5.3.2.6, 10 minutes)
  auth = 6,          ///< server: waiting for a SASL response
  next_command = 7,  ///< server: waiting for the next command (4.5.3.2.7, 5 minutes)
};

/// A deadline: the kind of wait and its length in milliseconds (0 with timeout_kind::none).
struct deadline {
  timeout_kind kind = timeout_kind::none;
  std::uint32_t milliseconds = 0;
};

SMTPKIT_NAMESPACE_END
