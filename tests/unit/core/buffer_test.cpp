// Tests for smtpkit/core/buffer.hpp: byte_writer and fixed_buffer never grow.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <smtpkit/core/buffer.hpp>

#include "alloc_counter.hpp"

TEST_CASE("byte_writer refuses what does not fit and keeps what it had") {
  char mem[8];
  smtpkit::byte_writer w(mem, sizeof mem);
  CHECK(w.append("250 "));
  CHECK_FALSE(w.append("hello"));
  CHECK(w.view() == "250 ");
  CHECK(w.append_uint(1234));
  CHECK(w.view() == "250 1234");
  CHECK_FALSE(w.push('x'));
  CHECK_FALSE(w.append_uint(0));
  const auto m = w.mark();
  w.rollback(4);
  CHECK(w.view() == "250 ");
  CHECK(m == 8);
  w.clear();
  CHECK(w.append_uint(0));
  CHECK(w.view() == "0");
}

TEST_CASE("fixed_buffer takes what fits, consumes from the front and compacts") {
  smtpkit::fixed_buffer b(8);
  smtpkit_test::alloc_scope allocs;
  CHECK(b.write("abcdef") == 6);
  CHECK(b.write("ghij") == 2);
  CHECK(b.view() == "abcdefgh");
  CHECK(b.space() == 0);
  b.consume(3);
  CHECK(b.view() == "defgh");
  CHECK(b.write("XYZW") == 3);
  CHECK(b.view() == "defghXYZ");
  b.consume(100);
  CHECK(b.empty());
  auto w = b.back_writer();
  CHECK(w.append("12345"));
  b.commit(w.size());
  CHECK(b.view() == "12345");
  CHECK(allocs.count() == 0);
}
