// Unit tests for smtpkit/sasl/oauthbearer.hpp: OAUTHBEARER (RFC 7628), client side.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <smtpkit/codec/base64.hpp>
#include <smtpkit/sasl/oauthbearer.hpp>
#include <string>

using smtpkit::byte_writer;
using smtpkit::sasl::oauthbearer_client;
using smtpkit::sasl::step_status;

namespace {
std::string start(oauthbearer_client& m, step_status expect, std::size_t room = 512) {
  std::string buf(room, '\0');
  byte_writer w(&buf[0], buf.size());
  CHECK(m.start(w) == expect);
  return std::string(w.view());
}
}  // namespace

// client-resp = (gs2-header kvsep *kvpair kvsep) / kvsep
// kvpair = key "=" value kvsep
TEST_CASE("OAUTHBEARER writes RFC 7628 4.1's initial client response") {
  oauthbearer_client m("user@example.com",
                       "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", "server.example.com", 143);
  CHECK(m.name() == "OAUTHBEARER");
  const std::string ir = start(m, step_status::send);
  CHECK(ir ==
        "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
        "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01");
  // The base64 form printed in RFC 7628 4.1.
  char b64[512];
  byte_writer w(b64, sizeof b64);
  REQUIRE(!smtpkit::encode_base64(ir, w));
  CHECK(w.view() ==
        "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVy"
        "IHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB");
}

// gs2-header = gs2-cb-flag "," [ gs2-authzid ] ","; saslname escapes "," and "="
TEST_CASE("OAUTHBEARER escapes the saslname and leaves out what is not given") {
  oauthbearer_client odd("a,b=c", "tok");
  CHECK(start(odd, step_status::send) ==
        "n,a=a=2Cb=3Dc,\x01"
        "auth=Bearer tok\x01\x01");
  oauthbearer_client anonymous("", "tok");
  CHECK(start(anonymous, step_status::send) ==
        "n,,\x01"
        "auth=Bearer tok\x01\x01");
  oauthbearer_client port_only("u", "tok", "", 587);
  CHECK(start(port_only, step_status::send) ==
        "n,a=u,\x01port=587\x01"
        "auth=Bearer tok\x01\x01");
}

TEST_CASE("OAUTHBEARER answers the error challenge with %x01 (RFC 7628 3.2.3), once") {
  oauthbearer_client m("u", "tok");
  CHECK(!start(m, step_status::send).empty());
  char buf[8];
  byte_writer w(buf, sizeof buf);
  CHECK(m.step("{\"status\":\"invalid_token\"}", w) == step_status::send);
  CHECK(w.view() == "\x01");
  CHECK(m.step("{}", w) == step_status::failed);
}

TEST_CASE("OAUTHBEARER refuses what it cannot encode, writing nothing") {
  using namespace std::string_literals;
  const std::string nul = "u\0v"s;  // the mechanism views it: it must outlive the mechanism
  oauthbearer_client nul_user(nul, "tok");
  CHECK(start(nul_user, step_status::failed).empty());
  oauthbearer_client bad_token("u", "not a token");
  CHECK(start(bad_token, step_status::failed).empty());
  oauthbearer_client bad_host("u", "tok", "host name");
  CHECK(start(bad_host, step_status::failed).empty());
  oauthbearer_client soh_host("u", "tok", "h\x01");
  CHECK(start(soh_host, step_status::failed).empty());
  oauthbearer_client fits("u", "tok");
  CHECK(start(fits, step_status::failed, 10).empty());  // no room: rolled back
}
