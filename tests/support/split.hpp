// smtpkit tests: the one helper every incremental parser test goes through (h11's tr()).
// It feeds an input whole, split in two at every point, and byte by byte; each chunk sits
// against a guard page.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>      // size_t
#include <memory>       // unique_ptr
#include <string>       // string
#include <string_view>  // string_view
#include <vector>       // vector

#include "guard_page.hpp"

namespace smtpkit_test {

/// A way of cutting the input, named for messages in failing tests.
struct split_case {
  std::string name;                      ///< "whole", "split at 7", "byte by byte"
  std::vector<std::string_view> chunks;  ///< the pieces, in order, each before a guard page
};

namespace detail {
inline split_case make_case(std::string name, std::string_view input,
                            const std::vector<std::size_t>& cuts,
                            std::vector<std::unique_ptr<guarded_copy>>& keep) {
  split_case c{std::move(name), {}};
  std::size_t from = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t to = i < cuts.size() ? cuts[i] : input.size();
    keep.push_back(std::make_unique<guarded_copy>(input.substr(from, to - from)));
    c.chunks.push_back(keep.back()->view());
    from = to;
  }
  return c;
}
}  // namespace detail

/// Calls @p f(const split_case&) with the input whole, split at every point 1..n-1, and byte by
/// byte. The chunks stay valid during the call. Use doctest's INFO(c.name) inside @p f.
template <class F>
void for_each_split(std::string_view input, F&& f) {
  {
    std::vector<std::unique_ptr<guarded_copy>> keep;
    f(detail::make_case("whole", input, {}, keep));
  }
  for (std::size_t i = 1; i < input.size(); ++i) {
    std::vector<std::unique_ptr<guarded_copy>> keep;
    f(detail::make_case("split at " + std::to_string(i), input, {i}, keep));
  }
  if (input.size() > 2) {
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
    std::vector<std::unique_ptr<guarded_copy>> keep;
    f(detail::make_case("byte by byte", input, cuts, keep));
  }
}

}  // namespace smtpkit_test
