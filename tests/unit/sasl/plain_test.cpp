// Unit tests for smtpkit/sasl/plain.hpp: the PLAIN message of RFC 4616 2, client side.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <smtpkit/sasl/plain.hpp>
#include <string>
#include <string_view>

using smtpkit::byte_writer;
using smtpkit::sasl::plain_client;
using smtpkit::sasl::step_status;

namespace {
std::string start(smtpkit::sasl::client_mechanism& m, step_status expect, std::size_t room = 512) {
  std::string buf(room, '\0');
  byte_writer w(&buf[0], buf.size());
  CHECK(m.start(w) == expect);
  return std::string(w.view());
}
}  // namespace

// message = [authzid] UTF8NUL authcid UTF8NUL passwd
TEST_CASE("PLAIN writes authzid NUL authcid NUL passwd (RFC 4616 4 examples)") {
  plain_client m("tim", "tanstaaftanstaaf");
  CHECK(m.name() == "PLAIN");
  using namespace std::string_literals;
  CHECK(start(m, step_status::send) == "\0tim\0tanstaaftanstaaf"s);
  plain_client with_authzid("tim", "tanstaaftanstaaf", "Ursel");
  CHECK(start(with_authzid, step_status::send) == "Ursel\0tim\0tanstaaftanstaaf"s);
}

TEST_CASE("PLAIN carries UTF-8 as it is") {
  plain_client m("j\xC3\xB6rg", "p\xC3\xA4ss");
  using namespace std::string_literals;
  CHECK(start(m, step_status::send) == "\0j\xC3\xB6rg\0p\xC3\xA4ss"s);
}

// authcid = 1*SAFE; passwd = 1*SAFE; SAFE excludes NUL
TEST_CASE("PLAIN refuses what its message cannot carry, writing nothing") {
  using namespace std::string_literals;
  const std::string nul_user = "us\0er"s, nul_pw = "p\0w"s, nul_authzid = "a\0z"s;
  plain_client cases[] = {
      {"", "pw"}, {"user", ""}, {nul_user, "pw"}, {"user", nul_pw}, {"user", "pw", nul_authzid}};
  for (auto& m : cases) CHECK(start(m, step_status::failed).empty());
}

TEST_CASE("PLAIN fails when the writer is too small, and has no second message") {
  plain_client m("user", "secret");
  CHECK(start(m, step_status::failed, 5).empty());
  char buf[16];
  byte_writer w(buf, sizeof buf);
  CHECK(m.step("", w) == step_status::failed);
  CHECK(w.size() == 0);
}
