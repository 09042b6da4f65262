// smtpkit core: result<T>, a value or an smtpkit error code, without exceptions.
// SPDX-License-Identifier: MIT
#pragma once

#include <cassert>  // assert
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>
#include <system_error>  // error_code
#include <type_traits>   // is_default_constructible
#include <utility>       // move

SMTPKIT_NAMESPACE_BEGIN

/// Holds either a T or an errc. T must be default-constructible (parsed values are views).
template <class T>
class result {
  static_assert(std::is_default_constructible<T>::value, "result<T> needs a default T");

 public:
  /// Makes a result that holds @p v.
  constexpr result(T v) noexcept(
      std::is_nothrow_move_constructible<T>::value)  // NOLINT(google-explicit-constructor):
                                                     // implicit by design, like std::expected
      : value_(std::move(v)), error_(), ok_(true) {}
  /// Makes a result that holds the error @p e.
  constexpr result(errc e) noexcept  // NOLINT(google-explicit-constructor): implicit by design
      : value_(), error_(e), ok_(false) {}

  /// Returns true when a value is held.
  constexpr bool has_value() const noexcept { return ok_; }
  constexpr explicit operator bool() const noexcept { return ok_; }

  /// Returns the value. @pre has_value().
  constexpr const T& value() const& noexcept { return assert(ok_), value_; }
  constexpr T& value() & noexcept { return assert(ok_), value_; }
  constexpr const T& operator*() const noexcept { return value(); }
  constexpr const T* operator->() const noexcept { return &value(); }

  /// Returns the error. @pre !has_value().
  constexpr errc error() const noexcept { return assert(!ok_), error_; }
  /// Returns the error as a std::error_code, or an empty one when a value is held.
  std::error_code error_code() const noexcept {
    return ok_ ? std::error_code() : make_error_code(error_);
  }

 private:
  T value_;
  errc error_;
  bool ok_;
};

SMTPKIT_NAMESPACE_END
