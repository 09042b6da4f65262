// smtpkit: the server side. Includes the server session, its configuration, events and the
// command-order table.
// SPDX-License-Identifier: MIT
#pragma once

#include <smtpkit/server/config.hpp>
#include <smtpkit/server/events.hpp>
#include <smtpkit/server/session.hpp>
#include <smtpkit/server/transitions.hpp>
