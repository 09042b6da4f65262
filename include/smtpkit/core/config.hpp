// smtpkit core: configuration macros and the versioned namespace.
// SPDX-License-Identifier: MIT
#pragma once

#include <smtpkit/version.hpp>

#if __cplusplus < 201703L && (!defined(_MSVC_LANG) || _MSVC_LANG < 201703L)
#  error "smtpkit requires C++17 or later"
#endif

/// Opens smtpkit's namespace with an inline ABI namespace, so that two versions of the header
/// in one program do not violate the ODR silently.
#define SMTPKIT_NAMESPACE_BEGIN \
  namespace smtpkit {           \
  inline namespace v0 {
#define SMTPKIT_NAMESPACE_END \
  }                           \
  }

#if defined(__GNUC__) || defined(__clang__)
#  define SMTPKIT_LIKELY(x) __builtin_expect(!!(x), 1)
#  define SMTPKIT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define SMTPKIT_LIKELY(x) (x)
#  define SMTPKIT_UNLIKELY(x) (x)
#endif
