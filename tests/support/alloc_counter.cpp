// smtpkit tests: a replaced global operator new that counts allocations per thread.
// SPDX-License-Identifier: MIT
#include "alloc_counter.hpp"

#include <cstdlib>  // malloc, free, abort
#include <new>      // operator new

namespace {
thread_local std::size_t g_allocations = 0;
}

std::size_t smtpkit_test::allocation_count() noexcept {
  return g_allocations;
}

void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  std::abort();
}
void* operator new[](std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  std::abort();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
