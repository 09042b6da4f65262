// smtpkit fuzzing: the server session (server/session.hpp) driven by a structure-aware client
// that builds plausible conversations -- EHLO/HELO/LHLO, MAIL and RCPT with mutated paths and
// parameters, DATA with a dot-stuffed body, BDAT chunks, STARTTLS, AUTH PLAIN/LOGIN exchanges,
// RSET, QUIT, pipelined groups, and now and then garbage -- choosing each next step from the
// session's state, so that the fuzzer reaches the deep states and not only the parser's front
// door. RFC 5321, RFC 2920, RFC 3030, RFC 3207, RFC 4954, RFC 2033.
//
// Besides every invariant server_driver checks (fuzz_support.hpp), the client knows what it
// sent, so:
//  1. A DATA message that completes carries exactly the body the client stuffed, with its line
//     ends made CRLF (and a final CRLF added when it had none).
//  2. A BDAT message that completes carries exactly the chunks the client sent, as they were.
//  3. AUTH credentials carry exactly the identities and password the client encoded.
// SPDX-License-Identifier: MIT
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t
#include <smtpkit/codec/base64.hpp>
#include <smtpkit/codec/data.hpp>
#include <smtpkit/core/buffer.hpp>
#include <smtpkit/server.hpp>
#include <string>       // string
#include <string_view>  // string_view
#include <vector>       // vector

#include "fuzz_support.hpp"

namespace {

using namespace smtpkit;
using smtpkit_fuzz::provider;
using smtpkit_fuzz::server_driver;

/// Picks one of @p words, or (now and then) mutates it with input bytes.
std::string pick(provider& p, std::initializer_list<std::string_view> words) {
  const std::uint8_t k = p.byte();
  std::string w(words.begin()[(k >> 2) % words.size()]);
  switch (k & 3) {
    case 0:
    case 1:
      return w;
    case 2: {  // insert a few input bytes somewhere
      const std::size_t at = p.range(0, w.size());
      w.insert(at, std::string(p.take(p.range(1, 4))));
      break;
    }
    default:  // input bytes only
      w = std::string(p.take(p.range(0, 24)));
      break;
  }
  // No line ends inside an argument: framing faults have ops of their own.
  for (char& c : w)
    if (c == '\r' || c == '\n') c = '~';
  return w;
}

std::string domain(provider& p) {
  return pick(p, {"client.example", "[192.0.2.25]", "[IPv6:2001:db8::1]", "x", "mail.example.org",
                  "\xc3\xa9xample.fr", "[tag:abc]", "a-b.c-d.example"});
}

std::string path(provider& p, bool reverse) {
  if (reverse && (p.byte() & 7) == 0) return "<>";
  return "<" +
         pick(p, {"user", "first.last", "\"quoted name\"", "Postmaster", "\xc3\xa9l\xc3\xa8ve",
                  "a+tag", "@relay.example:user"}) +
         (p.byte() % 5 == 4 ? "" : "@" + domain(p)) + ">";
}

std::string mail_params(provider& p) {
  std::string out;
  for (std::size_t n = p.byte() % 4; n != 0; --n) {
    out += ' ';
    out +=
        pick(p, {"SIZE=1000", "SIZE=99999999999", "BODY=8BITMIME", "BODY=BINARYMIME", "BODY=7BIT",
                 "SMTPUTF8", "RET=FULL", "ENVID=QQ+2B", "AUTH=<>", "AUTH=user+40example.com",
                 "REQUIRETLS", "X-UNKNOWN=1", "NOTIFY=NEVER", "SIZE=5"});
  }
  return out;
}

std::string rcpt_params(provider& p) {
  std::string out;
  for (std::size_t n = p.byte() % 3; n != 0; --n) {
    out += ' ';
    out += pick(p, {"NOTIFY=SUCCESS,FAILURE", "NOTIFY=NEVER", "ORCPT=rfc822;a+2Bb@c.example",
                    "ORCPT=utf-8;\xc3\xa9@x", "X-PRIORITY=1", "SIZE=1"});
  }
  return out;
}

std::string b64(std::string_view raw) {
  std::string out(base64_encoded_size(raw.size()), '\0');
  const result<std::string_view> r =
      encode_base64(raw, out.empty() ? nullptr : &out[0], out.size());
  SMTPKIT_FUZZ_CHECK(r.has_value());
  return out;
}

/// Returns @p x with every line end made CRLF and, when it is not empty, ending in CRLF.
std::string crlf_normalized(std::string_view x) {
  std::string out;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] == '\r') {
      out += "\r\n";
      if (i + 1 < x.size() && x[i + 1] == '\n') ++i;
    } else if (x[i] == '\n') {
      out += "\r\n";
    } else {
      out += x[i];
    }
  }
  if (!out.empty() && out.back() != '\n') out += "\r\n";
  return out;
}

std::string stuffed(std::string_view body) {
  std::string out(body.size() * 3 + 8, '\0');
  byte_writer w(&out[0], out.size());
  dot_stuffer st;
  SMTPKIT_FUZZ_CHECK(st.write(body, w) == body.size());
  SMTPKIT_FUZZ_CHECK(!st.finish(w));
  out.resize(w.size());
  return out;
}

class client {
 public:
  client(provider& p, server_driver& d, const server_config& cfg) : p_(p), d_(d), cfg_(cfg) {}

  void run() {
    for (int turn = 0; turn < 200 && p_.remaining() != 0 && !d_.closed(); ++turn) {
      // Decisions may wait while bytes arrive (pipelining), but the next step is chosen from a
      // state that no pending decision is about to change.
      d_.settle(false);
      check_outcome();
      const server_state st = d_.session().state();
      if (st == server_state::data) {
        body();
      } else if (st == server_state::auth) {
        sasl_line();
      } else {
        command();
      }
    }
    d_.settle(false);
    check_outcome();
  }

 private:
  void send(std::string_view bytes) { d_.send(bytes); }

  void command() {
    std::string line;
    const std::uint8_t op = p_.byte();
    switch (op % 20) {
      case 0:
      case 1:
        line = "EHLO " + domain(p_);
        break;
      case 2:
        line = "HELO " + domain(p_);
        break;
      case 3:
        line = "LHLO " + domain(p_);
        break;
      case 4:
      case 5:
        line = "MAIL FROM:" + std::string((op & 32) ? " " : "") + path(p_, true) + mail_params(p_);
        break;
      case 6:
      case 7:
        line = "RCPT TO:" + path(p_, false) + rcpt_params(p_);
        break;
      case 8:
        line = "DATA";
        break;
      case 9:
        bdat();
        return;
      case 10:
        line = pick(p_, {"RSET", "NOOP", "HELP", "VRFY postmaster", "EXPN list", "NOOP x y",
                         "VRFY <a@b> SMTPUTF8"});
        break;
      case 11:
        line = "STARTTLS";
        break;
      case 12:
      case 13:
        auth();
        return;
      case 14:
        line = "QUIT";
        break;
      case 15: {  // a pipelined transaction, up to DATA
        std::string group = "MAIL FROM:" + path(p_, true) + mail_params(p_) + "\r\n";
        for (std::size_t n = 1 + p_.byte() % 3; n != 0; --n)
          group += "RCPT TO:" + path(p_, false) + rcpt_params(p_) + "\r\n";
        if (p_.boolean()) group += "DATA\r\n";
        send(group);
        return;
      }
      case 16:  // garbage, as a line
        line = std::string(p_.take(p_.range(0, 80)));
        clean_ = false;
        break;
      case 17:  // raw bytes, maybe with bare CR / LF
        send(p_.take(p_.range(0, 80)));
        clean_ = false;
        return;
      case 18:  // an over-long line
        line = "NOOP " + std::string(400 + std::size_t{p_.byte()} * 4, 'x');
        break;
      default:
        line = pick(p_, {"MAIL FROM:<a@b>", "RCPT TO:<c@d>", "BDAT 0 LAST", "AUTH PLAIN =",
                         "mail from:<A@B> body=8bitmime", "RCPT TO:<postmaster>", "DATA x"});
        break;
    }
    send(line + "\r\n");
  }

  void bdat() {
    const server_state st = d_.session().state();
    const std::string_view chunk = p_.take(p_.range(0, 300));
    const bool last = p_.boolean();
    std::string cmd = "BDAT " + std::to_string(chunk.size()) + (last ? " LAST" : "") + "\r\n";
    // The session takes the chunk when a recipient was accepted (or between chunks).
    if (st == server_state::rcpt) bdat_body_.clear();
    bdat_valid_ = bdat_valid_ || st == server_state::rcpt;
    if (st != server_state::rcpt && st != server_state::bdat_open) bdat_valid_ = false;
    bdat_body_ += chunk;
    cmd += chunk;
    // Without CHUNKING the chunk is read as commands.
    if (!cfg_.features.chunking) clean_ = false;
    expect_bdat_ = last && bdat_valid_ && clean_;
    send(cmd);
  }

  void body() {
    const std::uint8_t k = p_.byte();
    std::string raw(p_.take(p_.range(0, 600)));
    // Lines that look like the end of data, and smuggling attempts, inside the content.
    if (k & 1) {
      raw.insert(p_.range(0, raw.size()),
                 pick(p_, {".\r\n", "\r\n.\r\n", "\n.\n", "\r.\r\n", "\n.\r\n",
                           ".\r\nMAIL FROM:<x@y>\r\n", "..\r\n", "\r\n.\n"}));
    }
    if ((k & 6) == 6) {
      // Raw, unstuffed content: the session must still end only at CRLF "." CRLF.
      send(raw + "\r\n.\r\n");
      expect_data_ = false;
      clean_ = false;
      return;
    }
    expected_ = crlf_normalized(raw);
    expect_data_ = clean_;
    send(stuffed(raw));
  }

  void sasl_line() {
    const std::uint8_t k = p_.byte();
    std::string line;
    switch (k % 6) {
      case 0:
      case 1:
        line = b64(sasl_next_);
        break;
      case 2:
        line = "*";
        break;
      case 3:
        line = "=";
        expect_auth_.clear();
        break;
      case 4:
        line = b64(p_.take(p_.range(0, 40)));
        expect_auth_.clear();
        break;
      default:
        line = std::string(p_.take(p_.range(0, 40)));
        expect_auth_.clear();
        clean_ = false;
        break;
    }
    if (login_step_ == 1) {
      login_step_ = 2;
      sasl_next_ = login_pass_;  // LOGIN: the password follows the user name
    }
    send(line + "\r\n");
  }

  void auth() {
    const std::uint8_t k = p_.byte();
    const std::string user = pick(p_, {"user", "alice@example.org", "", "\xc3\xa9"});
    const std::string pass = pick(p_, {"secret", "p\x01ss", "x"});
    const std::string authz = (k & 8) ? pick(p_, {"admin", ""}) : "";
    std::string plain = authz;
    plain += '\0';
    plain += user;
    plain += '\0';
    plain += pass;
    expect_auth_.clear();
    login_step_ = 0;
    switch (k % 4) {
      case 0:  // PLAIN with an initial response
        send("AUTH PLAIN " + b64(plain) + "\r\n");
        expect_auth_ = "PLAIN:" + authz + ":" + user + ":" + pass;
        break;
      case 1:  // PLAIN, the response on its own line
        send("AUTH PLAIN\r\n");
        sasl_next_ = plain;
        expect_auth_ = "PLAIN:" + authz + ":" + user + ":" + pass;
        break;
      case 2:  // LOGIN: user name, then password
        login_pass_ = pass;
        if (k & 16) {  // the user name as initial response
          send("AUTH LOGIN " + b64(user) + "\r\n");
          sasl_next_ = pass;
          login_step_ = 2;
        } else {
          send("AUTH LOGIN\r\n");
          sasl_next_ = user;
          login_step_ = 1;
        }
        expect_auth_ = "LOGIN::" + user + ":" + pass;
        break;
      default:
        send(pick(p_,
                  {"AUTH CRAM-MD5", "AUTH", "AUTH PLAIN ===", "AUTH login", "AUTH X-UNKNOWN x"}) +
             "\r\n");
        break;
    }
  }

  /// Compares what the application received with what the client sent.
  void check_outcome() {
    const std::vector<std::string> messages = d_.take_messages();
    if (!messages.empty()) {
      if (expect_data_) SMTPKIT_FUZZ_CHECK(messages.back() == expected_);
      if (expect_bdat_) SMTPKIT_FUZZ_CHECK(messages.back() == bdat_body_);
    }
    if (!messages.empty() || d_.session().state() != server_state::data) expect_data_ = false;
    if (d_.session().state() != server_state::bdat_open) {
      expect_bdat_ = false;
      bdat_valid_ = false;
    }
    const std::vector<std::string> creds = d_.take_credentials();
    if (creds.size() == 1 && !expect_auth_.empty() && clean_)
      SMTPKIT_FUZZ_CHECK(creds.back() == expect_auth_);
    if (d_.session().state() != server_state::auth) {
      expect_auth_.clear();
      login_step_ = 0;
    }
  }

  provider& p_;
  server_driver& d_;
  const server_config& cfg_;
  std::string expected_;   // the DATA body the application must receive
  std::string bdat_body_;  // the BDAT chunks of the message in progress
  std::string sasl_next_;  // the next SASL response to encode
  std::string login_pass_;
  int login_step_ = 0;       // LOGIN: 1 the user name is asked for, 2 the password
  std::string expect_auth_;  // "MECH:authzid:authcid:password"
  bool expect_data_ = false;
  bool expect_bdat_ = false;
  bool bdat_valid_ = false;
  bool clean_ = true;  // no raw bytes sent: the session's input holds only what we framed
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  provider p(data, size);
  const server_config cfg = smtpkit_fuzz::server_config_from(p);
  server_driver d(cfg, p);
  client c(p, d, cfg);
  c.run();
  d.finish();
  return 0;
}
