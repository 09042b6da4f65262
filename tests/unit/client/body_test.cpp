// Unit tests for smtpkit/client/body.hpp: CRLF line ends for a message sent in BDAT chunks.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <smtpkit/client/body.hpp>
#include <string>
#include <string_view>

#include "split.hpp"

namespace {

/// Sends @p chunks as BDAT chunks (the last one LAST); returns the bytes written, checking that
/// each chunk's announced size is what was written for it.
std::string send(const std::vector<std::string_view>& chunks) {
  std::string out;
  bool pending_cr = false;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const bool last = i + 1 == chunks.size();
    const std::uint64_t size = smtpkit::detail::crlf_normalized_size(chunks[i], pending_cr, last);
    std::string buf(chunks[i].size() * 2 + 2, '\0');
    smtpkit::byte_writer w(&buf[0], buf.size());
    smtpkit::detail::write_crlf_normalized(chunks[i], pending_cr, last, w);
    CHECK(w.size() == size);
    out += std::string(w.view());
  }
  CHECK(!pending_cr);
  return out;
}

void check(std::string_view in, std::string_view want) {
  smtpkit_test::for_each_split(in, [&](const smtpkit_test::split_case& c) {
    INFO(c.name);
    CHECK(send(c.chunks) == want);
  });
}

}  // namespace

TEST_CASE("CRLF stays, bare LF and bare CR become CRLF, whatever the chunks") {
  check("a\r\nb\r\n", "a\r\nb\r\n");
  check("a\nb\n", "a\r\nb\r\n");
  check("a\rb\r", "a\r\nb\r\n");
  check("\r\r\n\n\r", "\r\n\r\n\r\n\r\n");
  check("no line end", "no line end");
  check(".leading dot stays\n", ".leading dot stays\r\n");
  using namespace std::string_view_literals;
  check("\0\xff binary-ish\n"sv, "\0\xff binary-ish\r\n"sv);
}

TEST_CASE("a CR that ends a chunk is completed at the start of the next one") {
  CHECK(send({"a\r", "\nb"}) == "a\r\nb");
  CHECK(send({"a\r", "b"}) == "a\r\nb");
  CHECK(send({"a\r", ""}) == "a\r\n");
  CHECK(send({"a\r", "", "\n"}) == "a\r\n");
  CHECK(send({"", ""}).empty());
}

TEST_CASE("sizes of single chunks") {
  using smtpkit::detail::crlf_normalized_size;
  CHECK(crlf_normalized_size("", false, true) == 0);
  CHECK(crlf_normalized_size("line\n", false, true) == 6);
  CHECK(crlf_normalized_size("line\r", false, false) == 5);  // its LF goes with the next chunk
  CHECK(crlf_normalized_size("line\r", false, true) == 6);
  CHECK(crlf_normalized_size("", true, false) == 0);
  CHECK(crlf_normalized_size("", true, true) == 1);
  CHECK(crlf_normalized_size("\nx", true, true) == 2);
  CHECK(crlf_normalized_size("x", true, true) == 2);
}
