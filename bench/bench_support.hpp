// smtpkit benchmarks: timing, corpus loading, a deterministic PRNG and allocation counting shared
// by bench programs. Figures are printed as key=value lines; nothing here asserts a time.
//
// Rules:
//  1. A figure is the best (smallest) time per pass over several rounds of repeated passes:
//     on a shared machine the best round is the one least disturbed by other work.
//  2. Every pass leaves a value behind (keep()), so the optimizer cannot drop the work.
//  3. Allocation counting needs the program to replace the global operator new with one that
//     calls count_allocation() (smtpkit_bench.cpp does).
// SPDX-License-Identifier: MIT
#pragma once

#include <cerrno>   // errno
#include <chrono>   // steady_clock
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <cstdio>   // fopen, fread, printf
#include <cstdlib>  // exit
#include <cstring>  // strerror
#include <string>   // string
#include <utility>  // pair

namespace smtpkit_bench {

/// Reads a whole file; exits with a message when it cannot.
inline std::string read_file(const char* path) {
  std::string data;
  std::FILE* f = std::fopen(path, "rb");
  if (!f) {
    std::fprintf(stderr, "smtpkit-bench: cannot open %s: %s\n", path, std::strerror(errno));
    std::exit(66);
  }
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) {
    std::fprintf(stderr, "smtpkit-bench: cannot read %s\n", path);
    std::exit(66);
  }
  return data;
}

/// Keeps the optimizer from discarding a computed value (and anything it points to).
template <class T>
inline void keep(const T& v) {
  asm volatile("" : : "g"(&v) : "memory");
}

/// How long the timed passes took.
struct timing {
  double best_seconds = 0;   ///< the best (smallest) time per pass over the rounds
  std::size_t passes = 0;    ///< passes run in the rounds (for measure(), not the warm-up)
  double total_seconds = 0;  ///< time spent in the rounds
};

/// How long to measure: @p seconds per round, @p rounds rounds.
struct schedule {
  double seconds = 0.15;
  int rounds = 10;
};

/// Runs @p pass (one pass over the input) once to warm the caches, then repeatedly for about
/// `s.seconds` in each of `s.rounds` rounds, and returns the best time per pass.
template <class F>
timing measure(F&& pass, schedule s = {}) {
  using clock = std::chrono::steady_clock;
  pass();  // warm caches
  timing t;
  t.best_seconds = 1e30;
  for (int r = 0; r < s.rounds; ++r) {
    std::size_t passes = 0;
    const auto start = clock::now();
    double elapsed = 0;
    do {
      pass();
      ++passes;
      elapsed = std::chrono::duration<double>(clock::now() - start).count();
    } while (elapsed < s.seconds);
    const double per = elapsed / static_cast<double>(passes);
    if (per < t.best_seconds) t.best_seconds = per;
    t.passes += passes;
    t.total_seconds += elapsed;
  }
  return t;
}

/// Measures @p a and @p b in alternating rounds (a, b, a, b, ...), so that both meet the same
/// conditions on a shared machine, and returns the best time per pass of each. Used for a
/// figure and its baseline.
template <class A, class B>
std::pair<timing, timing> measure_pair(A&& a, B&& b, schedule s = {}) {
  timing ta;
  timing tb;
  ta.best_seconds = tb.best_seconds = 1e30;
  const auto add = [](timing& into, const timing& t) {
    if (t.best_seconds < into.best_seconds) into.best_seconds = t.best_seconds;
    into.passes += t.passes + 1;  // the warm-up pass ran too
    into.total_seconds += t.total_seconds;
  };
  for (int r = 0; r < s.rounds; ++r) {
    add(ta, measure(a, schedule{s.seconds, 1}));
    add(tb, measure(b, schedule{s.seconds, 1}));
  }
  return {ta, tb};
}

/// Runs @p pass repeatedly for about @p seconds in each of @p rounds rounds and returns the best
/// (smallest) time per pass, in seconds.
template <class F>
double best_seconds_per_pass(F&& pass, double seconds = 0.4, int rounds = 5) {
  return measure(pass, schedule{seconds, rounds}).best_seconds;
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small deterministic generator, so that generated
/// inputs are the same on every run and every platform.
class prng {
 public:
  explicit prng(std::uint64_t seed) noexcept : state_(seed) {}
  /// Returns the next 64 random bits.
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Returns a number in [lo, hi]. @pre lo <= hi.
  std::size_t between(std::size_t lo, std::size_t hi) noexcept {
    return lo + static_cast<std::size_t>(next() % (hi - lo + 1));
  }
  /// Returns true with probability @p percent / 100.
  bool percent(unsigned percent) noexcept { return next() % 100 < percent; }

 private:
  std::uint64_t state_;
};

/// The number of global operator new calls so far (single-threaded programs).
inline std::size_t& allocation_counter() noexcept {
  static std::size_t n = 0;
  return n;
}

/// Counts one allocation; called by the replaced operator new.
inline void count_allocation() noexcept {
  ++allocation_counter();
}

/// Returns the allocations made so far.
inline std::size_t allocations() noexcept {
  return allocation_counter();
}

}  // namespace smtpkit_bench
