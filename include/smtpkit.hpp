// smtpkit: the sans-I/O core in one include: core utilities, the codec, the server and client
// sessions, and the SASL mechanisms.
// The Asio and wolfSSL adapters are separate (smtpkit/asio/..., smtpkit/wolfssl/...).
// SPDX-License-Identifier: MIT
#pragma once

#include <smtpkit/client.hpp>
#include <smtpkit/codec/base64.hpp>
#include <smtpkit/codec/bdat.hpp>
#include <smtpkit/codec/command.hpp>
#include <smtpkit/codec/command_writer.hpp>
#include <smtpkit/codec/data.hpp>
#include <smtpkit/codec/detail/char_class.hpp>
#include <smtpkit/codec/detail/digits.hpp>
#include <smtpkit/codec/detail/esmtp_values.hpp>
#include <smtpkit/codec/detail/ip_literal.hpp>
#include <smtpkit/codec/detail/load.hpp>
#include <smtpkit/codec/detail/sasl_mech.hpp>
#include <smtpkit/codec/detail/utf8.hpp>
#include <smtpkit/codec/detail/window.hpp>
#include <smtpkit/codec/ehlo.hpp>
#include <smtpkit/codec/enhanced_status.hpp>
#include <smtpkit/codec/esmtp_params.hpp>
#include <smtpkit/codec/line_reader.hpp>
#include <smtpkit/codec/path.hpp>
#include <smtpkit/codec/reply.hpp>
#include <smtpkit/codec/xtext.hpp>
#include <smtpkit/core/buffer.hpp>
#include <smtpkit/core/bytes.hpp>
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>
#include <smtpkit/core/leniency.hpp>
#include <smtpkit/core/limits.hpp>
#include <smtpkit/core/result.hpp>
#include <smtpkit/sasl/login.hpp>
#include <smtpkit/sasl/mechanism.hpp>
#include <smtpkit/sasl/oauthbearer.hpp>
#include <smtpkit/sasl/plain.hpp>
#include <smtpkit/sasl/xoauth2.hpp>
#include <smtpkit/server.hpp>
#include <smtpkit/session_time.hpp>
#include <smtpkit/version.hpp>

// Internal macros: used only inside the headers above, not part of the API.
#undef SMTPKIT_CODEC_INLINE
