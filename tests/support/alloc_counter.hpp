// smtpkit tests: counts calls to the global operator new, to prove "no allocation in the hot
// path" (nghttp2's malloc_wrapper does the same). The replacement lives in alloc_counter.cpp.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t

namespace smtpkit_test {

/// Returns how many times operator new has run on this thread since the program started.
std::size_t allocation_count() noexcept;

/// Counts the allocations made on this thread while it lives.
class alloc_scope {
 public:
  alloc_scope() noexcept : start_(allocation_count()) {}
  /// Returns the allocations made since construction.
  std::size_t count() const noexcept { return allocation_count() - start_; }

 private:
  std::size_t start_;
};

}  // namespace smtpkit_test
