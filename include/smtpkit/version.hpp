// smtpkit: version of the library, in one place.
// SPDX-License-Identifier: MIT
#pragma once

#define SMTPKIT_VERSION_MAJOR 0
#define SMTPKIT_VERSION_MINOR 1
#define SMTPKIT_VERSION_PATCH 0
#define SMTPKIT_VERSION_STRING "0.1.0"
