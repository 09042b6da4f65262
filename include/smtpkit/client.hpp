// smtpkit: the client side. Includes the client session, its configuration, events, order rules,
// the display helper for server text, and the SASL client mechanisms.
// SPDX-License-Identifier: MIT
#pragma once

#include <smtpkit/client/body.hpp>
#include <smtpkit/client/config.hpp>
#include <smtpkit/client/display.hpp>
#include <smtpkit/client/events.hpp>
#include <smtpkit/client/session.hpp>
#include <smtpkit/client/session_receive.hpp>
#include <smtpkit/client/transitions.hpp>
#include <smtpkit/sasl/login.hpp>
#include <smtpkit/sasl/mechanism.hpp>
#include <smtpkit/sasl/oauthbearer.hpp>
#include <smtpkit/sasl/plain.hpp>
#include <smtpkit/sasl/xoauth2.hpp>
