// Second translation unit of the single-header ODR check.
// SPDX-License-Identifier: MIT
#include "smtpkit.hpp"

int second_tu() noexcept {
  smtpkit::reply_reader r;
  const auto res = r.read("250 2.1.0 Ok\r\n");
  return res.status == smtpkit::reply_status::reply && res.value.code() == 250 ? 0 : 3;
}
