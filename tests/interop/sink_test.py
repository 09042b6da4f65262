#!/usr/bin/env python3
# smtpkit tests: smtpkit-sink against real peers (swaks, curl, msmtp, Python's smtplib, Postfix's
# smtp-source) and under load (200 concurrent sessions, endless lines, 100 MB messages, idle
# peers, kill -9, graceful stop). Each case starts its own sink on 127.0.0.1 with a free port,
# stops it by PID, and compares every message byte for byte with what lands in the Maildir.
#
# usage: sink_test.py --sink PATH CASE      (exit 0 pass, 1 fail, 77 skipped: a tool is missing)
# SPDX-License-Identifier: MIT
import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
SINK = None
CASES = {}


class Skip(Exception):
    pass


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def need(tool):
    path = shutil.which(tool) or (os.path.exists("/usr/sbin/" + tool) and "/usr/sbin/" + tool)
    if not path:
        raise Skip(tool + " is not installed")
    return path


# --- the sink ------------------------------------------------------------------------------------

class Sink:
    """One smtpkit-sink process on 127.0.0.1, a free port, and (by default) a fresh Maildir."""

    def __init__(self, *args, maildir=True, quiet=True, on_disk=False):
        # Maildirs go to a tmpfs when there is one (fast to create and delete); kill9 keeps its
        # on the disk, where fsync is real.
        base = None
        if not on_disk and os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
            base = "/dev/shm"
        self.dir = tempfile.mkdtemp(prefix="smtpkit-sink-", dir=base)
        self.maildir = os.path.join(self.dir, "Maildir") if maildir else None
        cmd = [SINK, "--listen", "127.0.0.1:0", "--hostname", "sink.test"]
        if self.maildir:
            cmd += ["--maildir", self.maildir]
        if quiet:
            cmd += ["--quiet"]
        cmd += list(args)
        self.stderr_path = os.path.join(self.dir, "stderr")
        self.stdout_path = os.path.join(self.dir, "stdout")
        self.err = open(self.stderr_path, "wb")
        self.out = open(self.stdout_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.err)
        self.port = None
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(self.stdout_path, "rb") as f:
                first = f.readline()
            m = re.match(rb"listening on 127\.0\.0\.1:(\d+)\n$", first)
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        check(self.port, "the sink did not print its listening line: " + self.stderr())

    @property
    def pid(self):
        return self.proc.pid

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Sends @sig to the sink's PID and returns its exit status."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError("the sink did not stop within %d s" % timeout)

    def status(self, key):
        """Returns a /proc/PID/status figure in KiB (VmRSS, VmHWM)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def messages(self):
        """Returns the files in Maildir/new, as bytes, keyed by name."""
        new = os.path.join(self.maildir, "new")
        out = {}
        for name in sorted(os.listdir(new)):
            with open(os.path.join(new, name), "rb") as f:
                out[name] = f.read()
        return out

    def tmp_files(self):
        return os.listdir(os.path.join(self.maildir, "tmp"))

    def cleanup(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.err.close()
        self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)


TRACE = re.compile(rb"\AReturn-Path: <([^>]*)>\r\nReceived: [^\r\n]*(?:\r\n\t[^\r\n]*)*\r\n")


def split_trace(stored):
    """Returns (return_path, received_header, message) of a stored file."""
    m = TRACE.match(stored)
    check(m, "no trace headers at the start of %r" % stored[:200])
    return m.group(1), m.group(0), stored[m.end():]


def only_message(sink):
    msgs = sink.messages()
    check(len(msgs) == 1, "expected one message in the Maildir, found %d" % len(msgs))
    return split_trace(next(iter(msgs.values())))


def run(cmd, timeout=60, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, **kw)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def sample_message(tag):
    """A message with what transparency and 8-bit handling must survive."""
    return (b"From: Sender <sender@example.org>\r\n"
            b"To: Rcpt <rcpt@example.net>\r\n"
            b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
            b"Message-ID: <" + tag.encode() + b"@example.org>\r\n"
            b"Subject: interop " + tag.encode() + b"\r\n"
            b"\r\n"
            b"Hello from " + tag.encode() + b".\r\n"
            b".a line that starts with a dot\r\n"
            b"..two dots\r\n"
            b".\tdot and tab\r\n"
            b"8-bit: caf\xc3\xa9\r\n"
            b"" + b"x" * 990 + b"\r\n"
            b"\r\n"
            b"last line\r\n")


class Client:
    """A raw SMTP client over a socket, for what the tools do not do (BDAT, LMTP, pipelining)."""

    def __init__(self, port, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed; partial %r" % self.buf)
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return b"\r\n".join(lines)

    def expect(self, code):
        r = self.reply()
        check(r.startswith(str(code).encode()), "expected %d, got %r" % (code, r))
        return r

    def closed(self):
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.s.close()


def dot_stuff(body):
    out = re.sub(rb"(?m)^\.", b"..", body)
    return out + b".\r\n"


# --- the command line ----------------------------------------------------------------------------

@case
def cli():
    rc, out, _ = run([SINK, "--help"])
    check(rc == 0 and "usage: smtpkit-sink" in out and "--idle-timeout" in out, "--help")
    rc, out, _ = run([SINK, "--version"])
    check(rc == 0 and re.match(r"smtpkit-sink \d+\.\d+\.\d+\n$", out), "--version: %r" % out)
    for bad in (["--bogus"], ["--listen"], ["--listen", "127.0.0.1"], ["--listen", "::1:25"],
                ["--listen", "example.org:25"], ["--listen", "127.0.0.1:65536"],
                ["--threads", "0"], ["--max-size", "-1"], ["--max-recipients", "x"],
                ["--bare-lf", "maybe"], ["--idle-timeout", "0"], ["--hostname", "bad host"],
                ["--quiet=yes"], ["positional"]):
        rc, out, err = run([SINK] + bad)
        check(rc == 64, "%s: exit %d, want 64" % (bad, rc))
        check(err.startswith("smtpkit-sink: "), "%s: no message on stderr" % bad)
        check(out == "", "%s: wrote to stdout" % bad)
    # A port in use is not a usage error.
    s = Sink(maildir=False)
    try:
        rc, _, err = run([SINK, "--listen", "127.0.0.1:%d" % s.port])
        check(rc == 1 and "cannot listen" in err, "busy port: exit %d, %s" % (rc, err))
    finally:
        check(s.stop() == 0, "exit status after SIGTERM")
        s.cleanup()


@case
def listen_ipv6():
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        raise Skip("no IPv6 loopback")
    d = tempfile.mkdtemp()
    try:
        p = subprocess.Popen([SINK, "--listen", "[::1]:0", "--listen", "127.0.0.1:0", "--quiet"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        l1 = p.stdout.readline().decode()
        l2 = p.stdout.readline().decode()
        check(re.match(r"listening on \[::1\]:\d+\n$", l1), "IPv6 line %r" % l1)
        check(re.match(r"listening on 127\.0\.0\.1:\d+\n$", l2), "IPv4 line %r" % l2)
        port = int(l1.rsplit(":", 1)[1])
        c = socket.create_connection(("::1", port), timeout=5)
        check(c.recv(100).startswith(b"220 "), "greeting over IPv6")
        c.close()
        os.kill(p.pid, signal.SIGTERM)
        check(p.wait(10) == 0, "exit status")
    finally:
        shutil.rmtree(d, ignore_errors=True)


# --- real peers ----------------------------------------------------------------------------------

@case
def swaks():
    tool = need("swaks")
    s = Sink()
    try:
        msg = sample_message("swaks")
        path = os.path.join(s.dir, "msg")
        with open(path, "wb") as f:
            f.write(msg[:-2])  # swaks ends the data with CRLF "." CRLF itself
        rc, out, err = run([tool, "--server", "127.0.0.1", "--port", str(s.port), "--from",
                            "sender@example.org", "--to", "rcpt@example.net", "--helo",
                            "client.test", "--data", "@" + path, "--pipeline"])
        check(rc == 0, "swaks failed: %s %s" % (out, err))
        rp, received, body = only_message(s)
        check(rp == b"sender@example.org", "Return-Path %r" % rp)
        check(b"from client.test ([127.0.0.1])" in received, "Received %r" % received)
        check(b"with ESMTP id " in received, "Received %r" % received)
        check(b"for <rcpt@example.net>;" in received, "Received %r" % received)
        check(body == msg, "message differs:\n%r\n%r" % (body, msg))
        check(s.stop() == 0, "exit status")
    finally:
        s.cleanup()


@case
def curl():
    tool = need("curl")
    s = Sink()
    try:
        msg = sample_message("curl")
        path = os.path.join(s.dir, "msg")
        with open(path, "wb") as f:
            f.write(msg)
        rc, out, err = run([tool, "-sS", "smtp://127.0.0.1:%d/client.test" % s.port,
                            "--mail-from", "sender@example.org", "--mail-rcpt",
                            "rcpt@example.net", "--mail-rcpt", "second@example.net",
                            "-T", path])
        check(rc == 0, "curl failed (%d): %s %s" % (rc, out, err))
        rp, received, body = only_message(s)
        check(rp == b"sender@example.org", "Return-Path %r" % rp)
        check(b" for <" not in received, "two recipients: no 'for' clause")
        check(body == msg, "message differs:\n%r\n%r" % (body, msg))
        check(s.stop() == 0, "exit status")
    finally:
        s.cleanup()


@case
def msmtp():
    tool = need("msmtp")
    s = Sink()
    try:
        msg = sample_message("msmtp")
        rc, out, err = run([tool, "--host=127.0.0.1", "--port=%d" % s.port, "--auth=off",
                            "--tls=off", "--domain=client.test", "--from=sender@example.org",
                            "--", "rcpt@example.net"], input=msg)
        check(rc == 0, "msmtp failed (%d): %s %s" % (rc, out, err))
        rp, received, body = only_message(s)
        check(rp == b"sender@example.org", "Return-Path %r" % rp)
        check(body == msg, "message differs:\n%r\n%r" % (body, msg))
        check(s.stop() == 0, "exit status")
    finally:
        s.cleanup()


@case
def smtplib_client():
    s = Sink()
    try:
        msgs = [sample_message("smtplib-%d" % i) for i in range(5)]
        with smtplib.SMTP("127.0.0.1", s.port, local_hostname="client.test", timeout=10) as c:
            code, caps = c.ehlo()
            check(code == 250, "EHLO")
            for ext in ("pipelining", "size", "8bitmime", "binarymime", "chunking", "smtputf8",
                        "dsn", "enhancedstatuscodes"):
                check(c.has_extn(ext), "EHLO does not advertise " + ext)
            check(c.esmtp_features["size"] == str(10 * 1024 * 1024), "SIZE value")
            check(not c.has_extn("auth"), "AUTH advertised without --auth-file")
            for m in msgs:
                # smtplib adds SIZE= itself when the server advertises SIZE.
                refused = c.sendmail("sender@example.org", ["rcpt@example.net"], m,
                                     mail_options=["BODY=8BITMIME"])
                check(refused == {}, "refused %r" % refused)
            # SMTPUTF8 (RFC 6531): a UTF-8 address.
            c.sendmail("s\u00e9nder@example.org", ["r\u00e9@example.net"],
                       b"Subject: utf8\r\n\r\nbody\r\n", mail_options=["SMTPUTF8"])
        got = sorted(split_trace(m)[2] for m in s.messages().values())
        want = sorted(msgs + [b"Subject: utf8\r\n\r\nbody\r\n"])
        check(got == want, "messages differ")
        paths = sorted(split_trace(m)[0] for m in s.messages().values())
        check("s\u00e9nder@example.org".encode() in paths, "UTF-8 Return-Path %r" % paths)
        check(s.stop() == 0, "exit status")
    finally:
        s.cleanup()


@case
def smtp_source():
    tool = need("smtp-source")
    s = Sink("--threads", "2")
    try:
        # smtp-source -F sends each line of the file followed by CRLF, dot-stuffed.
        # Then it sends an empty line of its own before the final ".".
        text = (b"From: <sender@example.org>\nTo: <rcpt@example.net>\nSubject: smtp-source\n\n"
                b"body line\n.leading dot\n..two\nlast\n")
        path = os.path.join(s.dir, "msg")
        with open(path, "wb") as f:
            f.write(text)
        want = text.replace(b"\n", b"\r\n") + b"\r\n"
        rc, out, err = run([tool, "-s", "5", "-m", "50", "-f", "sender@example.org", "-t",
                            "rcpt@example.net", "-F", path, "127.0.0.1:%d" % s.port], timeout=90)
        check(rc == 0, "smtp-source failed (%d): %s %s" % (rc, out, err))
        msgs = s.messages()
        check(len(msgs) == 50, "expected 50 messages, got %d" % len(msgs))
        for m in msgs.values():
            check(split_trace(m)[2] == want, "message differs: %r" % m)
        check(s.stop() == 0, "exit status")
    finally:
        s.cleanup()


@case
def bdat_chunking():
    s = Sink()
    try:
        c = Client(s.port)
        c.expect(220)
        c.send(b"EHLO client.test\r\n")
        c.expect(250)
        body = bytes(range(256)) * 40 + b"\r\n.\r\nnot the end\r\n"  # BINARYMIME: any octets
        c.send(b"MAIL FROM:<a@example.org> BODY=BINARYMIME\r\nRCPT TO:<b@example.net>\r\n")
        c.expect(250)
        c.expect(250)
        c.send(b"BDAT 1000\r\n" + body[:1000])
        c.expect(250)
        c.send(b"BDAT %d LAST\r\n" % (len(body) - 1000) + body[1000:])
        r = c.expect(250)
        check(b"queued as" in r, "final reply %r" % r)
        c.send(b"QUIT\r\n")
        c.expect(221)
        c.close()
        _, received, got = only_message(s)
        check(got == body, "BDAT message differs")
        check(s.stop() == 0, "exit status")
    finally:
        s.cleanup()


@case
def lmtp():
    s = Sink("--lmtp")
    try:
        c = Client(s.port)
        c.expect(220)
        c.send(b"EHLO client.test\r\n")
        c.expect(500)
        c.send(b"LHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
               b"RCPT TO:<c@example.net>\r\nDATA\r\n")
        c.expect(250)
        c.expect(250)
        c.expect(250)
        c.expect(250)
        c.expect(354)
        c.send(b"Subject: lmtp\r\n\r\nhi\r\n.\r\n")
        c.expect(250)  # one reply per recipient (RFC 2033 4.2)
        c.expect(250)
        c.send(b"QUIT\r\n")
        c.expect(221)
        _, received, got = only_message(s)
        check(b"with LMTP id" in received, "Received %r" % received)
        check(got == b"Subject: lmtp\r\n\r\nhi\r\n", "message %r" % got)
        check(s.stop() == 0, "exit status")
    finally:
        s.cleanup()


@case
def auth():
    s0 = tempfile.mkdtemp()
    users = os.path.join(s0, "users")
    with open(users, "w") as f:
        f.write("# test users\nalice:s3cret:with:colons\nbob:hunter2\n")
    s = Sink("--auth-file", users, quiet=False)
    try:
        with smtplib.SMTP("127.0.0.1", s.port, timeout=10) as c:
            c.ehlo("client.test")
            check(c.has_extn("auth"), "AUTH not advertised")
            check(set(c.esmtp_features["auth"].split()) == {"PLAIN", "LOGIN"}, "mechanisms")
            code, text = c.mail("a@example.org")
            check(code == 530 and text.startswith(b"5.7.0"), "MAIL before AUTH: %d %r" % (code, text))
            try:
                c.login("bob", "wrong")
                check(False, "a wrong password was accepted")
            except smtplib.SMTPAuthenticationError as e:
                check(e.smtp_code == 535, "wrong password: %d" % e.smtp_code)
            c.user, c.password = "alice", "s3cret:with:colons"
            code, _ = c.auth("LOGIN", c.auth_login)
            check(code == 235, "LOGIN: %d" % code)
            c.sendmail("a@example.org", ["b@example.net"], b"Subject: auth\r\n\r\nx\r\n")
        with smtplib.SMTP("127.0.0.1", s.port, timeout=10) as c:
            c.ehlo("client.test")
            c.user, c.password = "bob", "hunter2"
            code, _ = c.auth("PLAIN", c.auth_plain)
            check(code == 235, "PLAIN: %d" % code)
            c.sendmail("a@example.org", ["b@example.net"], b"Subject: auth2\r\n\r\ny\r\n")
        msgs = [split_trace(m) for m in s.messages().values()]
        check(len(msgs) == 2, "two messages")
        for _, received, _ in msgs:
            check(b"with ESMTPA id" in received, "RFC 3848 ESMTPA: %r" % received)
        check(s.stop() == 0, "exit status")
        log = s.stderr()
        check("hunter2" not in log and "s3cret" not in log and "wrong" not in log,
              "a password reached the log")
        check("auth PLAIN ok for bob" in log, "log: %s" % log)
    finally:
        s.cleanup()
        shutil.rmtree(s0, ignore_errors=True)
    # A malformed auth file is bad input.
    d = tempfile.mkdtemp()
    try:
        bad = os.path.join(d, "users")
        with open(bad, "w") as f:
            f.write("no colon here\n")
        rc, _, err = run([SINK, "--listen", "127.0.0.1:0", "--auth-file", bad])
        check(rc == 64 and "expected user:password" in err, "bad auth file: %d %s" % (rc, err))
        rc, _, err = run([SINK, "--listen", "127.0.0.1:0", "--auth-file", bad + ".missing"])
        check(rc == 1, "missing auth file: %d" % rc)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@case
def bare_lf():
    for mode, stored in (("reject", None), ("normalize", b"Subject: lf\r\n\r\na\r\nb\r\n")):
        s = Sink("--bare-lf", mode)
        try:
            c = Client(s.port)
            c.expect(220)
            c.send(b"EHLO c.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
                   b"DATA\r\n")
            for code in (250, 250, 250, 354):
                c.expect(code)
            # A bare LF and the smuggling shape "\n.\n" never end the message.
            c.send(b"Subject: lf\r\n\r\na\nb\r\n.\r\n")
            r = c.reply()
            if stored is None:
                check(r.startswith(b"550 5.6.0"), "bare LF refused: %r" % r)
                check(len(s.messages()) == 0, "a refused message was stored")
                check(s.tmp_files() == [], "a refused message left a file in tmp/")
            else:
                check(r.startswith(b"250 "), "bare LF normalized: %r" % r)
                _, _, got = only_message(s)
                check(got == stored, "normalized message %r" % got)
            c.send(b"QUIT\r\n")
            c.expect(221)
            check(s.stop() == 0, "exit status")
        finally:
            s.cleanup()


@case
def print_and_log():
    s = Sink("--print", maildir=False, quiet=False)
    try:
        with smtplib.SMTP("127.0.0.1", s.port, local_hostname="client.test", timeout=10) as c:
            c.sendmail("a@example.org", ["b@example.net"], b"Subject: printed\r\n\r\nbody\r\n")
        check(s.stop() == 0, "exit status")
        out = s.stdout()
        check(re.match(rb"listening on 127\.0\.0\.1:\d+\n---------- MESSAGE FOLLOWS ----------\n"
                       rb"Return-Path: <a@example\.org>\r\nReceived: ", out), "stdout %r" % out)
        check(out.endswith(b"Subject: printed\r\n\r\nbody\r\n------------ END MESSAGE ------------\n"),
              "stdout %r" % out)
        log = s.stderr()
        for what in ("connect from 127.0.0.1:", "message ", "from <a@example.org> to 1 recipient",
                     "disconnect from 127.0.0.1:", "stopping on SIGTERM"):
            check(what in log, "the log lacks %r: %s" % (what, log))
    finally:
        s.cleanup()
    # --quiet: nothing on stderr but fatal errors.
    s = Sink(maildir=False, quiet=True)
    try:
        with smtplib.SMTP("127.0.0.1", s.port, timeout=10) as c:
            c.sendmail("a@example.org", ["b@example.net"], b"Subject: q\r\n\r\nq\r\n")
        check(s.stop() == 0, "exit status")
        check(s.stderr() == "", "--quiet logged: %r" % s.stderr())
        check(re.match(rb"listening on 127\.0\.0\.1:\d+\n\Z", s.stdout()), "stdout %r" % s.stdout())
    finally:
        s.cleanup()


@case
def limits():
    s = Sink("--max-size", "2000", "--max-recipients", "2", "--max-connections", "2")
    try:
        c = Client(s.port)
        c.expect(220)
        c.send(b"EHLO c.test\r\n")
        r = c.expect(250)
        check(b"250-SIZE 2000\r\n" in r + b"\r\n", "SIZE 2000 advertised: %r" % r)
        c.send(b"MAIL FROM:<a@example.org> SIZE=5000\r\n")
        c.expect(552)
        c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<1@x.example>\r\nRCPT TO:<2@x.example>\r\n"
               b"RCPT TO:<3@x.example>\r\nDATA\r\n")
        for code in (250, 250, 250, 452, 354):
            c.expect(code)
        c.send(b"x" * 100 + b"\r\n" + (b"y" * 500 + b"\r\n") * 5 + b".\r\n")
        c.expect(552)
        check(len(s.messages()) == 0 and s.tmp_files() == [], "an oversized message was kept")
        # Two connections are open with c and d; a third gets 421.
        d = Client(s.port)
        d.expect(220)
        e = Client(s.port)
        r = e.reply()
        check(r.startswith(b"421 4.3.2 sink.test"), "over the connection limit: %r" % r)
        check(e.closed(), "the refused connection was not closed")
        for x in (c, d):
            x.send(b"QUIT\r\n")
            x.expect(221)
        check(s.stop() == 0, "exit status")
    finally:
        s.cleanup()


# --- reliability ---------------------------------------------------------------------------------

@case
def concurrent():
    """200 concurrent sessions sending 20 messages each: every one stored exactly once."""
    sessions, per = 200, 20
    s = Sink("--threads", "4", "--max-connections", "400")
    try:
        expected = {}

        async def session(i):
            reader, writer = await asyncio.open_connection("127.0.0.1", s.port)

            async def reply():
                while True:
                    line = await reader.readline()
                    if not line:
                        raise EOFError("closed")
                    if line[3:4] != b"-":
                        return line

            check((await reply()).startswith(b"220"), "greeting")
            writer.write(b"EHLO c%d.test\r\n" % i)
            check((await reply()).startswith(b"250"), "EHLO")
            for m in range(per):
                tag = "s%03d-m%02d-%08x" % (i, m, random.getrandbits(32))
                text = os.urandom(200 + (i * 37 + m * 101) % 3000).hex().encode()
                lines = [text[k:k + 76] for k in range(0, len(text), 76)]
                body = (b"Subject: " + tag.encode() + b"\r\n\r\n" + b"\r\n".join(lines) +
                        b"\r\n.dot\r\n")
                expected[tag] = body
                writer.write(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b%d@example.net>\r\nDATA\r\n" % i)
                for code in (b"250", b"250", b"354"):
                    r = await reply()
                    check(r.startswith(code), "%s: %r" % (tag, r))
                writer.write(dot_stuff(body))
                r = await reply()
                check(r.startswith(b"250 2.0.0"), "%s: %r" % (tag, r))
            writer.write(b"QUIT\r\n")
            await reply()
            writer.close()

        async def main():
            await asyncio.wait_for(asyncio.gather(*(session(i) for i in range(sessions))), 120)

        t0 = time.time()
        asyncio.run(main())
        elapsed = time.time() - t0
        msgs = s.messages()
        print("concurrent: %d messages in %.1f s (%.0f/s), sink VmHWM %d KiB"
              % (len(msgs), elapsed, len(msgs) / elapsed, s.status("VmHWM")))
        check(len(msgs) == sessions * per, "stored %d, want %d" % (len(msgs), sessions * per))
        seen = {}
        for m in msgs.values():
            _, _, body = split_trace(m)
            tag = re.match(rb"Subject: (\S+)\r\n", body).group(1).decode()
            check(tag not in seen, "stored twice: " + tag)
            seen[tag] = True
            check(expected.get(tag) == body, "wrong bytes for " + tag)
        check(len(seen) == sessions * per, "missing messages")
        check(s.stop() == 0, "exit status")
    finally:
        s.cleanup()


def send_in_chunks(sock, total, chunk):
    sent = 0
    while sent < total:
        n = min(len(chunk), total - sent)
        sock.sendall(chunk[:n])
        sent += n


@case
def memory_endless_line():
    """A 100 MB command line without CRLF: refused with 500, memory stays bounded."""
    s = Sink()
    try:
        base = s.status("VmRSS")
        c = Client(s.port, timeout=60)
        c.expect(220)
        send_in_chunks(c.s, 100 << 20, b"A" * (1 << 20))
        c.send(b"\r\nNOOP\r\n")
        c.expect(500)
        c.expect(250)
        hwm = s.status("VmHWM")
        print("endless line: 100 MiB sent; sink VmRSS before %d KiB, peak VmHWM %d KiB"
              % (base, hwm))
        check(hwm < base + 32 * 1024, "resident memory grew to %d KiB" % hwm)
        # The same inside DATA (one 100 MB text line, over the 1000-octet limit).
        c.send(b"EHLO c.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n")
        for code in (250, 250, 250, 354):
            c.expect(code)
        send_in_chunks(c.s, 100 << 20, b"B" * (1 << 20))
        c.send(b"\r\n.\r\n")
        r = c.reply()
        check(r.startswith(b"552") or r.startswith(b"550"), "long text line: %r" % r)
        hwm = s.status("VmHWM")
        print("endless data line: peak VmHWM %d KiB" % hwm)
        check(hwm < base + 32 * 1024, "resident memory grew to %d KiB" % hwm)
        check(len(s.messages()) == 0 and s.tmp_files() == [], "a refused message was kept")
        check(s.stop() == 0, "exit status")
    finally:
        s.cleanup()


@case
def memory_big_message():
    """A 100 MB message over the 10 MiB limit: 552 after its end, memory stays bounded."""
    s = Sink()
    try:
        base = s.status("VmRSS")
        c = Client(s.port, timeout=60)
        c.expect(220)
        c.send(b"EHLO c.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n")
        for code in (250, 250, 250, 354):
            c.expect(code)
        line = b"z" * 998 + b"\r\n"
        t0 = time.time()
        send_in_chunks(c.s, 100 << 20, line * 1024)
        c.send(b"\r\n.\r\n")
        r = c.reply()
        check(r.startswith(b"552 5.3.4"), "oversized message: %r" % r)
        hwm = s.status("VmHWM")
        print("big message: 100 MiB in %.1f s; sink VmRSS before %d KiB, peak VmHWM %d KiB"
              % (time.time() - t0, base, hwm))
        check(hwm < base + 32 * 1024, "resident memory grew to %d KiB" % hwm)
        check(len(s.messages()) == 0 and s.tmp_files() == [], "a refused message was kept")
        # The session goes on.
        c.send(b"NOOP\r\n")
        c.expect(250)
        check(s.stop() == 0, "exit status")
    finally:
        s.cleanup()


@case
def idle_timeout():
    s = Sink("--idle-timeout", "1")
    try:
        c = Client(s.port)
        c.expect(220)
        t0 = time.time()
        r = c.reply()
        waited = time.time() - t0
        check(r.startswith(b"421 4.4.2 sink.test"), "idle: %r" % r)
        check(0.8 <= waited < 4, "421 after %.2f s" % waited)
        check(c.closed(), "not closed after 421")
        # A partial message is dropped when the client stalls in DATA.
        c = Client(s.port)
        c.expect(220)
        c.send(b"EHLO c.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n")
        for code in (250, 250, 250, 354):
            c.expect(code)
        c.send(b"Subject: partial\r\n\r\nsome of the body\r\n")
        r = c.reply()
        check(r.startswith(b"421 4.4.2"), "stalled DATA: %r" % r)
        check(c.closed(), "not closed after 421")
        # And in the middle of a BDAT chunk.
        c = Client(s.port)
        c.expect(220)
        c.send(b"EHLO c.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
               b"BDAT 100 LAST\r\nonly part")
        for code in (250, 250, 250):
            c.expect(code)
        r = c.reply()
        check(r.startswith(b"421 4.4.2"), "stalled BDAT: %r" % r)
        time.sleep(0.2)
        check(len(s.messages()) == 0 and s.tmp_files() == [], "a partial message was kept")
        check(s.stop() == 0, "exit status")
    finally:
        s.cleanup()


@case
def kill9():
    """kill -9 during a run loses no message that got its 250."""
    s = Sink("--threads", "2", on_disk=True)
    try:
        acked = {}
        stop = threading.Event()
        errors = []

        def sender(k):
            try:
                c = Client(s.port)
                c.expect(220)
                c.send(b"EHLO c.test\r\n")
                c.expect(250)
                n = 0
                while not stop.is_set():
                    tag = "k%d-%d" % (k, n)
                    body = b"Subject: " + tag.encode() + b"\r\n\r\n" + os.urandom(300).hex().encode() + b"\r\n"
                    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n")
                    c.expect(250)
                    c.expect(250)
                    c.expect(354)
                    c.send(dot_stuff(body))
                    if c.reply().startswith(b"250 "):
                        acked[tag] = body
                    n += 1
            except (OSError, EOFError, AssertionError):
                pass  # the sink died under us: expected
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        threads = [threading.Thread(target=sender, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        os.kill(s.pid, signal.SIGKILL)
        s.proc.wait(10)
        stop.set()
        for t in threads:
            t.join(10)
        check(not errors, "client errors: %s" % errors)
        stored = {}
        for m in s.messages().values():
            _, _, body = split_trace(m)
            tag = re.match(rb"Subject: (\S+)\r\n", body).group(1).decode()
            stored[tag] = body
        print("kill -9: %d messages acknowledged, %d in Maildir/new" % (len(acked), len(stored)))
        check(len(acked) > 0, "nothing was acknowledged before the kill")
        for tag, body in acked.items():
            check(tag in stored, "acknowledged but lost: " + tag)
            check(stored[tag] == body, "acknowledged but damaged: " + tag)
    finally:
        s.cleanup()


@case
def graceful_stop():
    s = Sink()
    try:
        idle = Client(s.port)
        idle.expect(220)
        busy = Client(s.port)
        busy.expect(220)
        busy.send(b"EHLO c.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n")
        for code in (250, 250, 250, 354):
            busy.expect(code)
        busy.send(b"Subject: in flight\r\n\r\n")
        time.sleep(0.1)
        os.kill(s.pid, signal.SIGTERM)
        r = idle.reply()
        check(r.startswith(b"421 4.3.2 sink.test"), "idle session at stop: %r" % r)
        check(idle.closed(), "idle session not closed")
        # A new connection is refused: the listener is closed.
        try:
            socket.create_connection(("127.0.0.1", s.port), timeout=2).close()
            refused = False
        except OSError:
            refused = True
        check(refused, "the listener still accepts after SIGTERM")
        busy.send(b"the rest\r\n.\r\n")
        busy.expect(250)
        r = busy.reply()
        check(r.startswith(b"421 4.3.2"), "after the message in flight: %r" % r)
        check(s.proc.wait(10) == 0, "exit status after SIGTERM")
        _, _, got = only_message(s)
        check(got == b"Subject: in flight\r\n\r\nthe rest\r\n", "message %r" % got)
    finally:
        s.cleanup()
    # SIGINT, nothing open: exit 0 at once.
    s = Sink(maildir=False)
    try:
        check(s.stop(signal.SIGINT, timeout=5) == 0, "exit status after SIGINT")
    finally:
        s.cleanup()


def main():
    global SINK
    ap = argparse.ArgumentParser()
    ap.add_argument("--sink", required=True)
    ap.add_argument("case", choices=sorted(CASES) + ["all"])
    a = ap.parse_args()
    SINK = os.path.abspath(a.sink)
    names = sorted(CASES) if a.case == "all" else [a.case]
    failed = 0
    for name in names:
        t0 = time.time()
        try:
            CASES[name]()
            print("PASS %s (%.1f s)" % (name, time.time() - t0))
        except Skip as e:
            print("SKIP %s: %s" % (name, e))
            if len(names) == 1:
                return SKIP
        except Exception as e:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            print("FAIL %s: %s" % (name, e))
            failed += 1
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
