// smtpkit-bench: how fast the codec frames and parses SMTP commands, reads SMTP replies and
// unstuffs DATA, each next to a baseline that measures the machine on the same bytes (memchr
// line splitting, memcpy). Prints one key=value line per figure; asserts no time.
// RFC 5321 4.1.1 (commands), 4.2 (replies), 4.5.2 (dot-stuffing); RFC 1870, RFC 3461, RFC 6152
// and RFC 6531 (the ESMTP parameters of the corpus).
//
//   smtpkit-bench [--quick] [COMMANDS [REPLIES]]
//
// Defaults: bench/corpus/commands.smtp and bench/corpus/replies.smtp, relative to the working
// directory (run it from the repository root). --quick measures for a moment only, to prove that
// the program runs (the bench_smoke test).
//
// Rules:
//  1. The codec runs as the server and client sessions run it: line_reader frames the command
//     stream and parse_command() parses each line with default limits (full validation,
//     ESMTP parameters included); reply_reader reads the reply stream; data_reader unstuffs.
//  2. Baselines run over the same bytes: memchr line splitting over each corpus, and memcpy of
//     the DATA buffer into another buffer of the same size. Ratios divide the codec's rate by
//     the baseline's, which holds better across machines than absolute figures.
//  3. Every input must parse: a command, reply or DATA error ends the program with status 1
//     and a message; an unreadable corpus ends it with status 66.
//  4. The parsers allocate nothing: global operator new is replaced by a counting one, and a
//     non-zero allocations_per_command ends the program with status 1.
//  5. Every figure is the best of several rounds (bench_support.hpp).
// SPDX-License-Identifier: MIT

#include <cstddef>                        // size_t
#include <cstdint>                        // uint64_t
#include <cstdio>                         // printf, fprintf
#include <cstdlib>                        // malloc, free, abort
#include <cstring>                        // memchr, memcpy, strcmp
#include <new>                            // nothrow_t
#include <smtpkit/codec/command.hpp>      // parse_command, command, verb
#include <smtpkit/codec/data.hpp>         // data_reader
#include <smtpkit/codec/line_reader.hpp>  // line_reader
#include <smtpkit/codec/reply.hpp>        // reply_reader
#include <smtpkit/core/limits.hpp>        // limits
#include <string>                         // string
#include <string_view>                    // string_view
#include <variant>                        // get_if
#include <vector>                         // vector

#include "bench_support.hpp"  // measure, keep, read_file, prng, allocations

// --- allocation counting ---------------------------------------------------------------------

void* operator new(std::size_t n) {
  smtpkit_bench::count_allocation();
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  std::abort();
}
void* operator new[](std::size_t n) {
  smtpkit_bench::count_allocation();
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  std::abort();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  smtpkit_bench::count_allocation();
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  smtpkit_bench::count_allocation();
  return std::malloc(n == 0 ? 1 : n);
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
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace {

using smtpkit_bench::keep;

constexpr const char* default_commands = "bench/corpus/commands.smtp";
constexpr const char* default_replies = "bench/corpus/replies.smtp";
constexpr std::size_t data_buffer_size = 256 * 1024;

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "smtpkit-bench: %s", what);
  if (!detail.empty())
    std::fprintf(stderr, ": %.*s", static_cast<int>(detail.size()), detail.data());
  std::fprintf(stderr, "\n");
  std::exit(1);
}

void print(const char* key, double value, const char* format = "%.0f") {
  std::printf("%s=", key);
  std::printf(format, value);
  std::printf("\n");
  std::fflush(stdout);
}

void print_count(const char* key, std::size_t value) {
  std::printf("%s=%zu\n", key, value);
  std::fflush(stdout);
}

// --- baseline: memchr line splitting ---------------------------------------------------------

/// Counts the LF-terminated lines of @p s with memchr.
std::size_t memchr_lines(std::string_view s) noexcept {
  const char* p = s.data();
  const char* const end = p + s.size();
  std::size_t lines = 0;
  while (p < end) {
    const void* lf = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
    if (lf == nullptr) break;
    p = static_cast<const char*>(lf) + 1;
    ++lines;
  }
  return lines;
}

// --- commands --------------------------------------------------------------------------------

struct command_tally {
  std::size_t commands = 0;  // lines parsed into a command
  std::size_t errors = 0;    // lines refused by the framer or the parser
  std::size_t leftover = 0;  // bytes after the last complete line
};

/// Frames @p corpus with line_reader as the server session does and parses every line.
command_tally parse_commands(std::string_view corpus, const smtpkit::limits& lim) noexcept {
  smtpkit::line_reader reader(lim.command_line);
  command_tally t;
  std::string_view rest = corpus;
  for (;;) {
    const smtpkit::line_result r = reader.next(rest);
    rest.remove_prefix(r.consumed);
    if (SMTPKIT_LIKELY(r.status == smtpkit::line_status::line)) {
      const smtpkit::result<smtpkit::command> c = smtpkit::parse_command(r.line, lim);
      keep(c);
      if (SMTPKIT_LIKELY(c.has_value()))
        ++t.commands;
      else
        ++t.errors;
    } else if (r.status == smtpkit::line_status::error) {
      ++t.errors;
    } else {
      break;  // need_more: no complete line is left
    }
  }
  t.leftover = rest.size();
  return t;
}

/// Frames @p corpus with line_reader only; returns the number of lines.
std::size_t frame_lines(std::string_view corpus, std::size_t limit) noexcept {
  smtpkit::line_reader reader(limit);
  std::size_t lines = 0;
  std::string_view rest = corpus;
  for (;;) {
    const smtpkit::line_result r = reader.next(rest);
    rest.remove_prefix(r.consumed);
    if (r.status != smtpkit::line_status::line) break;
    keep(r.line);
    ++lines;
  }
  return lines;
}

/// Parses each of @p lines (without CRLF); returns how many parsed.
std::size_t parse_lines(const std::vector<std::string_view>& lines,
                        const smtpkit::limits& lim) noexcept {
  std::size_t ok = 0;
  for (const std::string_view line : lines) {
    const smtpkit::result<smtpkit::command> c = smtpkit::parse_command(line, lim);
    keep(c);
    ok += c.has_value() ? 1u : 0u;
  }
  return ok;
}

/// Returns how many ESMTP parameters of @p c smtpkit does not know (0 for other verbs).
std::size_t unknown_parameters(const smtpkit::command& c) noexcept {
  if (const auto* m = std::get_if<smtpkit::mail_command>(&c))
    return m->params.unknown_count() + m->params.misplaced_count();
  if (const auto* r = std::get_if<smtpkit::rcpt_command>(&c))
    return r->params.unknown_count() + r->params.misplaced_count();
  return 0;
}

/// The corpus split into lines, checked once before any timing: every line must frame and parse,
/// with every ESMTP parameter known.
struct command_corpus {
  std::size_t commands = 0;
  std::vector<std::string_view> mail, rcpt, quit;  // lines by verb, for the per-verb figures
};

command_corpus check_commands(std::string_view corpus, const smtpkit::limits& lim) {
  command_corpus cc;
  smtpkit::line_reader reader(lim.command_line);
  std::string_view rest = corpus;
  for (;;) {
    const smtpkit::line_result r = reader.next(rest);
    rest.remove_prefix(r.consumed);
    if (r.status == smtpkit::line_status::need_more) break;
    if (r.status == smtpkit::line_status::error)
      fail(smtpkit::to_string(r.error), "a command line does not frame");
    const smtpkit::result<smtpkit::command> c = smtpkit::parse_command(r.line, lim);
    if (!c) {
      std::fprintf(stderr, "smtpkit-bench: %s: %.*s\n", smtpkit::to_string(c.error()),
                   static_cast<int>(r.line.size()), r.line.data());
      fail("a command does not parse (command_errors > 0)");
    }
    if (unknown_parameters(*c) != 0) fail("a command has an unknown ESMTP parameter", r.line);
    ++cc.commands;
    switch (smtpkit::verb_of(*c)) {
      case smtpkit::verb::mail:
        cc.mail.push_back(r.line);
        break;
      case smtpkit::verb::rcpt:
        cc.rcpt.push_back(r.line);
        break;
      case smtpkit::verb::quit:
        cc.quit.push_back(r.line);
        break;
      default:
        break;
    }
  }
  if (!rest.empty()) fail("the command corpus does not end with CRLF");
  if (cc.commands == 0) fail("the command corpus is empty");
  return cc;
}

// --- replies ---------------------------------------------------------------------------------

struct reply_tally {
  std::size_t replies = 0;
  std::size_t lines = 0;
  std::size_t errors = 0;
  std::size_t leftover = 0;
};

/// Reads @p corpus as one stream of replies with reply_reader, as the client session does.
reply_tally read_replies(std::string_view corpus, const smtpkit::limits& lim) noexcept {
  smtpkit::reply_reader reader(lim);
  reply_tally t;
  std::string_view rest = corpus;
  for (;;) {
    const smtpkit::reply_result r = reader.read(rest);
    if (SMTPKIT_LIKELY(r.status == smtpkit::reply_status::reply)) {
      keep(r.value);
      ++t.replies;
      t.lines += r.value.line_count();
      rest.remove_prefix(r.consumed);
    } else {
      if (r.status == smtpkit::reply_status::error) ++t.errors;
      break;
    }
  }
  t.leftover = rest.size();
  return t;
}

// --- DATA ------------------------------------------------------------------------------------

/// A DATA stream of exactly @p size octets: a message as a client sends it, dot-stuffed, with
/// CRLF line ends, ending with CRLF "." CRLF.
struct data_stream {
  std::string wire;               // what the server receives after "354"
  std::size_t body_size = 0;      // what the unstuffer must deliver
  std::size_t stuffed_lines = 0;  // lines that start with ".." on the wire
  std::size_t lines = 0;
};

data_stream make_data_stream(std::size_t size) {
  static constexpr const char* words[] = {"the",
                                          "of",
                                          "and",
                                          "to",
                                          "in",
                                          "a",
                                          "is",
                                          "that",
                                          "for",
                                          "it",
                                          "as",
                                          "with",
                                          "was",
                                          "on",
                                          "be",
                                          "by",
                                          "message",
                                          "server",
                                          "please",
                                          "attached",
                                          "report",
                                          "meeting",
                                          "thanks",
                                          "regards",
                                          "delivery",
                                          "account",
                                          "invoice",
                                          "quarterly",
                                          "project",
                                          "update",
                                          "review",
                                          "schedule",
                                          "Monday",
                                          "2024",
                                          "12:30",
                                          "(draft)",
                                          "results",
                                          "team,",
                                          "budget.",
                                          "-",
                                          "https://example.com/x?id=42",
                                          "re:",
                                          "ok",
                                          "we",
                                          "will",
                                          "you"};
  constexpr std::size_t word_count = sizeof words / sizeof words[0];
  static constexpr const char* headers[] = {
      "Received: from mail.example.org (mail.example.org [192.0.2.7]) by mx.example.net",
      "\twith ESMTPS id 4Xb2Lk1vQnz9sW for <bob@example.net>; Mon, 3 Jun 2024 09:12:44 +0000",
      "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=s1;",
      "From: Alice Example <alice@example.org>",
      "To: Bob Example <bob@example.net>",
      "Subject: Re: quarterly report and the schedule for next week",
      "Date: Mon, 3 Jun 2024 09:12:40 +0000",
      "Message-ID: <20240603091240.12345@mail.example.org>",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
  };

  smtpkit_bench::prng rng(0x5EED5317ull);
  data_stream d;
  std::string& w = d.wire;
  w.reserve(size);
  // Adds one line of the message; a line that starts with "." goes out stuffed as "..".
  const auto add_line = [&](std::string_view content) {
    if (!content.empty() && content[0] == '.') {
      w.push_back('.');
      ++d.stuffed_lines;
    }
    w.append(content);
    w.append("\r\n");
    ++d.lines;
    d.body_size += content.size() + 2;
  };
  std::string line;
  // Adds a line of @p length octets of words; with @p dot it starts with "." or "...".
  const auto text_line = [&](std::size_t length, bool dot) {
    line.clear();
    if (dot) line.append(rng.percent(50) ? "." : "...");
    const std::size_t prefix = line.size();
    while (line.size() < length) {
      if (line.size() != prefix) line.push_back(' ');
      line.append(words[rng.next() % word_count]);
    }
    line.resize(length);
    if (line.back() == ' ') line.back() = ',';
    add_line(line);
  };

  for (const char* h : headers) add_line(h);
  add_line("");
  // Body lines until 200 octets are left; then one or two lines fill the rest exactly.
  while (size - 3 - w.size() >= 200) {
    const unsigned kind = static_cast<unsigned>(rng.next() % 100);
    if (kind < 2) {
      text_line(rng.between(40, 77), true);  // stuffed: 41-78 octets on the wire
    } else if (kind < 8) {
      add_line("");  // paragraph break
    } else if (kind < 11) {
      line = "X-Quoted-Header-";
      line.append(std::to_string(rng.between(1, 999)));
      line.append(": ");
      line.append(words[rng.next() % word_count]);
      add_line(line);  // header-like
    } else if (kind < 16) {
      text_line(rng.between(8, 39), false);  // short line
    } else {
      text_line(rng.between(40, 78), false);
    }
  }
  while (size - 3 - w.size() > 0) {
    const std::size_t left = size - 3 - w.size();  // octets of whole lines still to add
    const std::size_t wire = left <= 80 ? left : (left - 40 < 80 ? left - 40 : 80);
    text_line(wire - 2, false);
  }
  w.append(".\r\n");
  return d;
}

struct data_tally {
  std::size_t delivered = 0;  // unstuffed octets
  std::size_t consumed = 0;   // wire octets taken
  bool ended = false;
  bool faulty = false;
};

/// Unstuffs @p wire with @p reader (reset first), as the server session does.
template <bool Scalar>
data_tally unstuff(smtpkit::data_reader& reader, std::string_view wire) noexcept {
  reader.reset();
  data_tally t;
  std::string_view rest = wire;
  for (;;) {
    const smtpkit::data_result r = Scalar ? reader.next_scalar(rest) : reader.next(rest);
    t.delivered += r.data.size();
    t.consumed += r.consumed;
    rest.remove_prefix(r.consumed);
    if (r.status == smtpkit::data_status::end) {
      t.ended = true;
      break;
    }
    if (r.status == smtpkit::data_status::need_more) break;  // not possible on a whole message
  }
  t.faulty = static_cast<bool>(reader.error());
  return t;
}

void check_unstuff(const data_tally& t, const data_stream& d, const char* which) {
  if (!t.ended) fail(which, "the end of data was not found");
  if (t.faulty) fail(which, "the DATA stream was refused");
  if (t.delivered != d.body_size) fail(which, "wrong body size");
  if (t.consumed != d.wire.size()) fail(which, "the stream was not consumed");
}

int usage(std::FILE* to, int status) {
  std::fprintf(to,
               "usage: smtpkit-bench [--quick] [COMMANDS [REPLIES]]\n"
               "  COMMANDS  command lines, CRLF-terminated (default %s)\n"
               "  REPLIES   a stream of replies (default %s)\n"
               "  --quick   measure for a moment only (a smoke test)\n"
               "Prints key=value figures. Run from the repository root for the defaults.\n",
               default_commands, default_replies);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  const char* files[2] = {default_commands, default_replies};
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--help" || a == "-h") {
      return usage(stdout, 0);
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "smtpkit-bench: unknown option %s\n", argv[i]);
      return usage(stderr, 64);
    } else if (positional < 2) {
      files[positional++] = argv[i];
    } else {
      return usage(stderr, 64);
    }
  }
  // A figure and its baseline: 10 alternating rounds of 0.15 s each. Side figures: 5 rounds of
  // 0.1 s. About 12 s in all; --quick takes a few milliseconds.
  const smtpkit_bench::schedule sched =
      quick ? smtpkit_bench::schedule{0.002, 1} : smtpkit_bench::schedule{0.15, 10};
  const smtpkit_bench::schedule short_sched =
      quick ? smtpkit_bench::schedule{0.002, 1} : smtpkit_bench::schedule{0.1, 5};

  if (positional == 0) {
    if (std::FILE* f = std::fopen(default_commands, "rb")) {
      std::fclose(f);
    } else {
      std::fprintf(stderr,
                   "smtpkit-bench: run from the repository root, or name the corpus files\n");
    }
  }
  const std::string commands = smtpkit_bench::read_file(files[0]);
  const std::string replies = smtpkit_bench::read_file(files[1]);
  const smtpkit::limits lim{};

#if defined(__OPTIMIZE__)
  print_count("optimized", 1);
#else
  print_count("optimized", 0);
  std::fprintf(stderr, "smtpkit-bench: not an optimized build; figures mean little\n");
#endif
  print_count("quick", quick ? 1 : 0);
  print_count("simd", smtpkit::detail::data_simd ? 1 : 0);

  // --- commands ----------------------------------------------------------------------------
  const command_corpus cc = check_commands(commands, lim);
  const std::size_t command_lines = memchr_lines(commands);
  if (command_lines != cc.commands) fail("the command corpus holds lines that are not commands");

  std::size_t parsed = 0;  // commands parsed while allocations were counted
  const std::size_t allocations_before = smtpkit_bench::allocations();
  command_tally tally;
  std::size_t lines_seen = 0;
  const auto [cmd, base_cmd] = smtpkit_bench::measure_pair(
      [&] {
        tally = parse_commands(commands, lim);
        keep(tally);
        if (tally.errors != 0 || tally.leftover != 0 || tally.commands != cc.commands)
          fail("a command does not parse (command_errors > 0)");
      },
      [&] {
        lines_seen = memchr_lines(commands);
        keep(lines_seen);
      },
      sched);
  parsed += cmd.passes * cc.commands;

  std::size_t verb_ok = 0;
  const auto per_verb = [&](const std::vector<std::string_view>& lines) {
    if (lines.empty()) return 0.0;
    const smtpkit_bench::timing t = smtpkit_bench::measure(
        [&] {
          verb_ok = parse_lines(lines, lim);
          keep(verb_ok);
        },
        short_sched);
    if (verb_ok != lines.size()) fail("a command does not parse (command_errors > 0)");
    parsed += (t.passes + 1) * lines.size();
    return t.best_seconds * 1e9 / static_cast<double>(lines.size());
  };
  const double ns_mail = per_verb(cc.mail);
  const double ns_rcpt = per_verb(cc.rcpt);
  const double ns_quit = per_verb(cc.quit);
  const std::size_t allocations = smtpkit_bench::allocations() - allocations_before;

  std::size_t framed = 0;
  const smtpkit_bench::timing frame = smtpkit_bench::measure(
      [&] {
        framed = frame_lines(commands, lim.command_line);
        keep(framed);
      },
      short_sched);
  if (framed != command_lines) fail("line_reader and memchr count different lines");

  const double commands_per_s = static_cast<double>(cc.commands) / cmd.best_seconds;
  const double baseline_lines_per_s = static_cast<double>(command_lines) / base_cmd.best_seconds;
  print_count("commands", cc.commands);
  print_count("command_errors", tally.errors);
  print("commands_per_s", commands_per_s);
  print("ns_per_command", 1e9 / commands_per_s, "%.1f");
  print("ns_per_mail", ns_mail, "%.1f");
  print("ns_per_rcpt", ns_rcpt, "%.1f");
  print("ns_per_quit", ns_quit, "%.1f");
  print("ns_per_line_framing", frame.best_seconds * 1e9 / static_cast<double>(command_lines),
        "%.1f");
  print("command_mb_per_s", static_cast<double>(commands.size()) / cmd.best_seconds / 1e6);
  print("baseline_lines_per_s", baseline_lines_per_s);
  print("baseline_ns_per_line", 1e9 / baseline_lines_per_s, "%.2f");
  print("command_ratio", commands_per_s / baseline_lines_per_s, "%.3f");
  print("allocations_per_command",
        static_cast<double>(allocations) / static_cast<double>(parsed == 0 ? 1 : parsed), "%g");

  // --- replies -----------------------------------------------------------------------------
  const reply_tally rcheck = read_replies(replies, lim);
  if (rcheck.errors != 0) fail("a reply does not parse (reply_errors > 0)");
  if (rcheck.leftover != 0) fail("the reply corpus ends inside a reply");
  if (rcheck.replies == 0) fail("the reply corpus is empty");
  const std::size_t reply_lines = memchr_lines(replies);
  if (rcheck.lines != reply_lines) fail("reply lines and memchr lines differ");

  reply_tally rtally;
  const auto [rep, base_rep] = smtpkit_bench::measure_pair(
      [&] {
        rtally = read_replies(replies, lim);
        keep(rtally);
        if (rtally.errors != 0 || rtally.replies != rcheck.replies)
          fail("a reply does not parse (reply_errors > 0)");
      },
      [&] {
        lines_seen = memchr_lines(replies);
        keep(lines_seen);
      },
      sched);
  const double replies_per_s = static_cast<double>(rcheck.replies) / rep.best_seconds;
  const double reply_lines_per_s = static_cast<double>(rcheck.lines) / rep.best_seconds;
  const double baseline_reply_lines_per_s =
      static_cast<double>(reply_lines) / base_rep.best_seconds;
  print_count("replies", rcheck.replies);
  print_count("reply_lines", rcheck.lines);
  print_count("reply_errors", rtally.errors);
  print("replies_per_s", replies_per_s);
  print("reply_lines_per_s", reply_lines_per_s);
  print("ns_per_reply", 1e9 / replies_per_s, "%.1f");
  print("baseline_reply_lines_per_s", baseline_reply_lines_per_s);
  print("reply_ratio", reply_lines_per_s / baseline_reply_lines_per_s, "%.3f");

  // --- DATA --------------------------------------------------------------------------------
  const data_stream d = make_data_stream(data_buffer_size);
  if (d.wire.size() != data_buffer_size) fail("the DATA buffer has the wrong size");
  smtpkit::data_reader reader(lim.text_line);
  data_tally dt = unstuff<false>(reader, d.wire);
  check_unstuff(dt, d, "data_reader::next");
  dt = unstuff<true>(reader, d.wire);
  check_unstuff(dt, d, "data_reader::next_scalar");

  std::vector<char> copy(data_buffer_size);
  const auto [un, mc] = smtpkit_bench::measure_pair(
      [&] {
        dt = unstuff<false>(reader, d.wire);
        keep(dt);
        if (!dt.ended || dt.delivered != d.body_size) fail("data_reader::next", "wrong result");
      },
      [&] {
        std::memcpy(copy.data(), d.wire.data(), d.wire.size());
        keep(copy);
      },
      sched);
  const smtpkit_bench::timing un_scalar = smtpkit_bench::measure(
      [&] {
        dt = unstuff<true>(reader, d.wire);
        keep(dt);
        if (!dt.ended || dt.delivered != d.body_size)
          fail("data_reader::next_scalar", "wrong result");
      },
      short_sched);
  const double mb = static_cast<double>(d.wire.size()) / 1e6;
  const double unstuff_mb_per_s = mb / un.best_seconds;
  const double memcpy_mb_per_s = mb / mc.best_seconds;
  print_count("unstuff_buffer_bytes", d.wire.size());
  print_count("unstuff_body_bytes", d.body_size);
  print_count("unstuff_lines", d.lines);
  print_count("unstuff_stuffed_lines", d.stuffed_lines);
  print("unstuff_mb_per_s", unstuff_mb_per_s);
  print("unstuff_scalar_mb_per_s", mb / un_scalar.best_seconds);
  print("memcpy_mb_per_s", memcpy_mb_per_s);
  print("unstuff_ratio", unstuff_mb_per_s / memcpy_mb_per_s, "%.3f");

  if (allocations != 0) fail("the command parser allocated (allocations_per_command > 0)");
  return 0;
}
