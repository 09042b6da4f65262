#!/usr/bin/env python3
# smtpkit tests: smtpkit-send against real servers on 127.0.0.1 (smtpkit-sink, Postfix's smtpd
# and smtp-sink, aiosmtpd) with every message compared byte for byte with what the server
# received; its exit codes (sysexits) for every kind of failure; -t with Bcc stripped; messages
# composed from --subject and --body; --batch over a server that drops the connection once;
# --trace with AUTH secrets masked and server text escaped. Every server runs on a free port
# and is stopped by its PID.
#
# usage: send_test.py --send PATH --sink PATH CASE   (exit 0 pass, 1 fail, 77 skipped)
# SPDX-License-Identifier: MIT
import argparse
import asyncio
import base64
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
SEND = None
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


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc=None, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(proc, sig=signal.SIGTERM, timeout=20):
    if proc.poll() is None:
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def send(*args, input=None, env=None, timeout=60):
    """Runs smtpkit-send; returns (exit status, stdout, stderr)."""
    e = dict(os.environ)
    e.pop("SMTPKIT_PASSWORD", None)
    if env:
        e.update(env)
    p = subprocess.run([SEND] + list(args), input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, env=e)
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
            b".\r\n"
            b"the line above is a lone dot\r\n"
            b"8-bit: caf\xc3\xa9\r\n"
            b"" + b"x" * 990 + b"\r\n"
            b"\r\n"
            b"last line\r\n")


class Dir:
    """A temporary folder, removed at the end."""

    def __init__(self):
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.path = tempfile.mkdtemp(prefix="smtpkit-send-", dir=base)

    def file(self, name, data):
        p = os.path.join(self.path, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


# --- servers -------------------------------------------------------------------------------------

class Sink:
    """smtpkit-sink with a Maildir, on a free port."""

    def __init__(self, *args):
        self.dir = Dir()
        self.maildir = os.path.join(self.dir.path, "Maildir")
        self.err = open(os.path.join(self.dir.path, "stderr"), "wb")
        out = os.path.join(self.dir.path, "stdout")
        self.out = open(out, "wb")
        self.proc = subprocess.Popen([SINK, "--listen", "127.0.0.1:0", "--hostname", "sink.test",
                                      "--maildir", self.maildir] + list(args),
                                     stdout=self.out, stderr=self.err)
        self.port = None
        deadline = time.time() + 10
        while time.time() < deadline and self.port is None:
            with open(out, "rb") as f:
                m = re.match(rb"listening on 127\.0\.0\.1:(\d+)\n", f.readline())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                break
            else:
                time.sleep(0.01)
        check(self.port, "smtpkit-sink did not start")

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port

    def messages(self):
        new = os.path.join(self.maildir, "new")
        out = []
        for name in sorted(os.listdir(new)):
            with open(os.path.join(new, name), "rb") as f:
                out.append(f.read())
        return out

    def log(self):
        with open(os.path.join(self.dir.path, "stderr"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        stop(self.proc)
        self.err.close()
        self.out.close()
        self.dir.cleanup()


TRACE = re.compile(rb"\AReturn-Path: <([^>]*)>\r\nReceived: [^\r\n]*(?:\r\n\t[^\r\n]*)*\r\n")


def split_trace(stored):
    """Returns (return_path, received, message) of a file smtpkit-sink stored."""
    m = TRACE.match(stored)
    check(m, "no trace headers at the start of %r" % stored[:200])
    return m.group(1), m.group(0), stored[m.end():]


def only_message(sink):
    msgs = sink.messages()
    check(len(msgs) == 1, "expected one message, found %d" % len(msgs))
    return split_trace(msgs[0])


class Aiosmtpd:
    """aiosmtpd in this process: records each transaction. Recipients whose local-part starts
    with "no" get 550, "later" 450; a handler hook may do more."""

    def __init__(self, on_data=None, **smtp_kwargs):
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            raise Skip("python3-aiosmtpd is not installed")
        self.transactions = []
        self.connections = 0
        outer = self

        class Handler:
            async def handle_EHLO(self, server, session, envelope, hostname, responses):
                outer.connections += 1
                session.host_name = hostname
                return responses

            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                local = address.split("@")[0]
                if local.startswith("no"):
                    return "550 5.1.1 No such user \u202ehere"
                if local.startswith("later"):
                    return "450 4.2.1 Try later"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                if on_data is not None:
                    r = on_data(server, envelope)
                    if r is not None:
                        return r
                outer.transactions.append((envelope.mail_from, list(envelope.rcpt_tos),
                                           envelope.original_content, list(envelope.mail_options)))
                return "250 2.0.0 Message accepted"

        self.port = free_port()
        kwargs = dict(decode_data=False, enable_SMTPUTF8=True)
        kwargs.update(smtp_kwargs)
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port

    def close(self):
        self.controller.stop()


class Scripted:
    """A server on a thread that answers each connection with a function of a socket file."""

    def __init__(self, script):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.received = []
        self.thread = threading.Thread(target=self.run, args=(script,), daemon=True)
        self.thread.start()

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port

    def run(self, script):
        try:
            c, _ = self.sock.accept()
        except OSError:
            return
        c.settimeout(10)
        f = c.makefile("rwb", buffering=0)
        lines = self.received

        class Peer:
            def send(self, b):
                c.sendall(b)

            def line(self):
                line = f.readline()
                if not line:
                    return None
                lines.append(line)
                return line.rstrip(b"\r\n")

            def wait_close(self):
                try:
                    while f.readline():
                        pass
                except OSError:
                    pass

        try:
            script(Peer())
        except (OSError, socket.timeout):
            pass
        finally:
            f.close()
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def close(self):
        self.sock.close()
        self.thread.join(15)


def ehlo(peer, caps):
    line = peer.line()
    check(line is not None and line.startswith(b"EHLO "), "EHLO expected, got %r" % line)
    reply = b"250-mx.test\r\n" if caps else b"250 mx.test\r\n"
    for i, cap in enumerate(caps):
        reply += b"250" + (b" " if i + 1 == len(caps) else b"-") + cap + b"\r\n"
    peer.send(reply)


# --- the command line ----------------------------------------------------------------------------

@case
def cli():
    rc, out, err = send("--help")
    check(rc == 0 and "usage: smtpkit-send" in out and "--password-file" in out, "--help")
    rc, out, _ = send("--version")
    check(rc == 0 and re.match(r"smtpkit-send \d+\.\d+\.\d+\n$", out), "--version: %r" % out)
    base = ["--server", "127.0.0.1:9", "--from", "a@example.org"]
    for bad in (["--bogus", "--to", "b@example.net"] + base,
                ["--password", "hunter2", "--to", "b@example.net"] + base,
                ["--password=hunter2", "--to", "b@example.net"] + base,
                ["--to", "b@example.net", "--from", "a@example.org"],         # no --server
                base,                                                         # no recipient
                base + ["--to", "b@example.net", "--starttls", "maybe"],
                base + ["--to", "b@example.net", "--timeout", "0"],
                base + ["--to", "b@example.net", "--auth", "CRAM-MD5", "--user", "u"],
                base + ["--to", "b@example.net", "--subject", "s", "--message", "m"],
                base + ["--to", "b@example.net", "--batch", "/tmp", "--message", "m"],
                base + ["--to", "b@example.net", "--subject", "s", "-t"],
                ["--server", "127.0.0.1:9", "--to", "b@example.net", "--subject", "s"],
                base + ["--to", "b@example.net", "--helo", "bad host"],
                base + ["--to", "b@example.net", "--user", "alice"],          # no password
                base + ["--to", "b@example.net", "--password-file", "/dev/null"],
                base + ["--to", "b@example.net", "--server", "host:port"],
                base + ["--to", "b@example.net", "--server", "host:70000"],
                base + ["--to", "b@example.net", "-"],
                base + ["--to", "b@example.net", "--trace=yes"]):
        rc, out, err = send(*bad)
        check(rc == 64, "%s: exit %d, want 64 (%s)" % (bad, rc, err))
        check(err.startswith("smtpkit-send: "), "%s: no message on stderr" % bad)
        check(out == "", "%s: wrote to stdout" % bad)
    rc, _, err = send(*(base + ["--to", "b@example.net", "--password", "hunter2"]))
    check("hunter2" not in err, "the refused password was echoed")
    # Bad addresses: exit 65 before any connection (nothing listens on port 9).
    for bad in (["--to", "b@exa\rmple.net"], ["--to", "b@example.net\nRCPT TO:<x@y>"],
                ["--to", "no-at-sign"], ["--to", "b@example.net", "--from", "a b@example.org"],
                ["--to", "b@example.net", "--from", "a@\x1b[2J.org"]):
        rc, out, err = send("--server", "127.0.0.1:9", "--from", "a@example.org", *bad,
                            input=b"Subject: x\r\n\r\nx\r\n")
        check(rc == 65, "%r: exit %d, want 65 (%s)" % (bad, rc, err))
        check("\r" not in err and "\x1b" not in err, "%r: the address was echoed raw" % bad)
    # A bad message: a NUL, a line over 998 octets (exit 65, before connecting).
    for msg in (b"Subject: x\r\n\r\na\x00b\r\n", b"Subject: x\r\n\r\n" + b"y" * 999 + b"\r\n"):
        rc, _, err = send("--server", "127.0.0.1:9", "--from", "a@example.org", "--to",
                          "b@example.net", input=msg)
        check(rc == 65, "bad message: exit %d (%s)" % (rc, err))
    # Nothing listens: connection refused is temporary.
    port = free_port()
    rc, _, err = send("--server", "127.0.0.1:%d" % port, "--starttls", "never", "--from",
                      "a@example.org", "--to", "b@example.net", input=b"Subject: x\r\n\r\nx\r\n")
    check(rc == 75 and "Connection refused" in err, "refused port: %d %s" % (rc, err))


# --- byte for byte, against each server ----------------------------------------------------------

@case
def sink():
    s = Sink()
    d = Dir()
    try:
        msg = sample_message("sink")
        path = d.file("msg", msg)
        # --message FILE, -f, a RECIPIENT argument after --, sendmail's -i and -oi.
        rc, out, err = send("--server", s.server, "--starttls", "never", "--helo", "client.test",
                            "-f", "sender@example.org", "-i", "-oi", "--message", path, "--",
                            "rcpt@example.net")
        check(rc == 0 and out == "" and err == "", "send failed: %d %s" % (rc, err))
        rp, received, body = only_message(s)
        check(rp == b"sender@example.org", "Return-Path %r" % rp)
        check(b"from client.test ([127.0.0.1])" in received, "Received %r" % received)
        check(b"for <rcpt@example.net>;" in received, "Received %r" % received)
        check(body == msg, "message differs:\n%r\n%r" % (body, msg))
        for name in os.listdir(os.path.join(s.maildir, "new")):
            os.unlink(os.path.join(s.maildir, "new", name))
        # Standard input, larger than the 64 KiB read at once (spooled), with bare LF line
        # ends, which are sent as CRLF; and BDAT.
        big = msg.replace(b"\r\n", b"\n") + b"".join(b"line %06d of a long message\n" % i
                                                    for i in range(5000))
        for extra in ([], ["--chunking"]):
            rc, _, err = send("--server", s.server, "--starttls", "never", "--from",
                              "sender@example.org", "--to", "rcpt@example.net", *extra, input=big)
            check(rc == 0, "stdin %s: %d %s" % (extra, rc, err))
            _, _, body = only_message(s)
            check(body == big.replace(b"\n", b"\r\n"), "stdin %s: message differs" % extra)
            for name in os.listdir(os.path.join(s.maildir, "new")):
                os.unlink(os.path.join(s.maildir, "new", name))
        # Several recipients; the sender taken from the message's From field.
        rc, _, err = send("--server", s.server, "--starttls", "never", "--to", "a@example.net",
                          "--to", "b@example.net", "c@example.net", "--message", path)
        check(rc == 0, "three recipients: %d %s" % (rc, err))
        rp, received, body = only_message(s)
        check(rp == b"sender@example.org", "sender from the From field: %r" % rp)
        check(body == msg, "three recipients: message differs")
        check(b"with ESMTP id" in received, "Received %r" % received)
    finally:
        s.close()
        d.cleanup()


@case
def sink_lmtp():
    s = Sink("--lmtp")
    try:
        msg = sample_message("lmtp")
        rc, _, err = send("--server", s.server, "--lmtp", "--starttls", "never", "--from",
                          "sender@example.org", "--to", "a@example.net", "--to", "b@example.net",
                          input=msg)
        check(rc == 0, "LMTP: %d %s" % (rc, err))
        _, received, body = only_message(s)
        check(b"with LMTP id" in received, "Received %r" % received)
        check(body == msg, "LMTP: message differs")
    finally:
        s.close()


@case
def smtp_sink():
    tool = need("smtp-sink")
    d = Dir()
    dump = os.path.join(d.path, "dump")
    os.mkdir(dump)
    os.chmod(dump, 0o777)
    os.chmod(d.path, 0o777)
    port = free_port()
    cmd = [tool, "-d", dump + "/%M."]
    if os.geteuid() == 0:
        cmd += ["-u", "nobody"]
    proc = subprocess.Popen(cmd + ["127.0.0.1:%d" % port, "10"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        check(wait_port(port, proc), "smtp-sink did not start")
        msg = sample_message("smtp-sink")
        rc, _, err = send("--server", "127.0.0.1:%d" % port, "--starttls", "never", "--helo",
                          "client.test", "--from", "sender@example.org", "--to",
                          "rcpt@example.net", input=msg)
        check(rc == 0, "smtp-sink: %d %s" % (rc, err))
        deadline = time.time() + 5
        while time.time() < deadline and not os.listdir(dump):
            time.sleep(0.05)
        files = os.listdir(dump)
        check(len(files) == 1, "dump files: %r" % files)
        with open(os.path.join(dump, files[0]), "rb") as f:
            dumped = f.read()
        # The dump: smtp-sink's own X- and Received lines (LF), the message, an empty line.
        m = re.match(rb"(?s)\A(X-[^\n]*\n)+Received: [^\n]*\n\t[^\n]*\n\t[^\n]*\n(.*)\n\Z", dumped)
        check(m, "dump format: %r" % dumped[:400])
        check(b"X-Mail-Args: <sender@example.org> BODY=8BITMIME\n" in dumped,
              "MAIL arguments: %r" % dumped[:300])
        check(b"X-Rcpt-Args: <rcpt@example.net>\n" in dumped, "RCPT arguments")
        check(b"X-Helo-Args: client.test\n" in dumped, "EHLO argument")
        check(m.group(2) == msg.replace(b"\r\n", b"\n"), "message differs:\n%r\n%r"
              % (m.group(2), msg))
    finally:
        stop(proc)
        d.cleanup()


@case
def aiosmtpd():
    a = Aiosmtpd()
    try:
        msg = sample_message("aiosmtpd")
        rc, _, err = send("--server", a.server, "--starttls", "never", "--from",
                          "sender@example.org", "--to", "rcpt@example.net", "--to",
                          "second@example.net", input=msg)
        check(rc == 0, "aiosmtpd: %d %s" % (rc, err))
        check(len(a.transactions) == 1, "transactions %r" % a.transactions)
        frm, rcpts, content, options = a.transactions[0]
        check(frm == "sender@example.org", "sender %r" % frm)
        check(rcpts == ["rcpt@example.net", "second@example.net"], "recipients %r" % rcpts)
        check(content == msg, "message differs:\n%r\n%r" % (content, msg))
        check("BODY=8BITMIME" in options and "SIZE=%d" % len(msg) in options,
              "MAIL parameters %r" % options)
        # SMTPUTF8 (RFC 6531): a UTF-8 address.
        rc, _, err = send("--server", a.server, "--starttls", "never", "--from",
                          "s\u00e9nder@example.org", "--to", "r\u00e9@example.net",
                          input=b"Subject: utf8\r\n\r\nbody\r\n")
        check(rc == 0, "SMTPUTF8: %d %s" % (rc, err))
        frm, rcpts, content, options = a.transactions[1]
        check(frm == "s\u00e9nder@example.org" and "SMTPUTF8" in options, "SMTPUTF8: %r %r"
              % (frm, options))
    finally:
        a.close()


POSTFIX_MAIN = """compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.test
mydomain = postfix.test
myorigin = postfix.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
maillog_file = /dev/stdout
alias_maps =
alias_database =
smtpd_proxy_filter = 127.0.0.1:{sink}
smtpd_proxy_timeout = 30s
"""

POSTFIX_MASTER = """127.0.0.1:{port} inet n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


@case
def postfix():
    """Postfix's smtpd in a folder of its own; its before-queue proxy filter hands every
    message to smtpkit-sink as it arrives, so what smtpd received is compared byte for byte."""
    need("postfix")
    if os.geteuid() != 0:
        raise Skip("Postfix runs as root")
    try:
        import pwd
        pw = pwd.getpwnam("postfix")
    except KeyError:
        raise Skip("no postfix user")
    s = Sink()
    d = tempfile.mkdtemp(prefix="smtpkit-postfix-")
    os.chmod(d, 0o755)  # Postfix's processes open files below it as the postfix user
    port = free_port()
    os.makedirs(os.path.join(d, "queue"))
    os.makedirs(os.path.join(d, "data"))
    os.chown(os.path.join(d, "data"), pw.pw_uid, pw.pw_gid)
    with open(os.path.join(d, "main.cf"), "w") as f:
        f.write(POSTFIX_MAIN.format(d=d, sink=s.port))
    with open(os.path.join(d, "master.cf"), "w") as f:
        f.write(POSTFIX_MASTER.format(port=port))
    log = open(os.path.join(d, "log"), "wb")
    proc = subprocess.Popen(["postfix", "-c", d, "start-fg"], stdout=log, stderr=log)
    try:
        if not wait_port(port, proc, 30):
            with open(os.path.join(d, "log"), "rb") as f:
                raise AssertionError("Postfix did not start: %s" % f.read().decode()[-2000:])
        msg = sample_message("postfix")
        for n, extra in enumerate(([], ["--chunking"])):
            rc, _, err = send("--server", "127.0.0.1:%d" % port, "--starttls", "never", "--helo",
                              "client.test", "--from", "sender@example.org", "--to",
                              "rcpt@example.net", *extra, input=msg)
            check(rc == 0, "Postfix %s: %d %s" % (extra, rc, err))
            msgs = s.messages()
            check(len(msgs) == n + 1, "stored %d" % len(msgs))
            rp, _, rest = split_trace(msgs[-1])
            check(rp == b"sender@example.org", "Return-Path %r" % rp)
            # Postfix's own Received header comes first, then the message as it was sent.
            m = re.match(rb"\AReceived: from client\.test \(unknown \[127\.0\.0\.1\]\)\r\n"
                         rb"(?:\t[^\r\n]*\r\n)+", rest)
            check(m, "Postfix's Received header: %r" % rest[:300])
            check(rest[m.end():] == msg, "message differs:\n%r\n%r" % (rest[m.end():], msg))
        with open(os.path.join(d, "log"), "rb") as f:
            text = f.read().decode("utf-8", "replace")
        check("disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1" in text,
              "the DATA session in Postfix's log: %s" % text[-1500:])
        check("bdat=1" in text, "the BDAT session in Postfix's log: %s" % text[-1500:])
    finally:
        pid = None
        try:
            with open(os.path.join(d, "queue", "pid", "master.pid")) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            pass
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            if pid:
                os.kill(pid, signal.SIGKILL)
            proc.kill()
            proc.wait()
        log.close()
        s.close()
        shutil.rmtree(d, ignore_errors=True)


# --- exit codes ----------------------------------------------------------------------------------

@case
def exit_codes():
    msg = b"Subject: codes\r\n\r\nbody\r\n"
    a = Aiosmtpd()
    try:
        plain = ["--server", a.server, "--starttls", "never", "--from", "a@example.org"]
        # One recipient refused, one accepted: 69, the refused one named, the message delivered.
        rc, _, err = send(*plain, "--to", "ok@example.net", "--to", "nobody@example.net",
                          input=msg)
        check(rc == 69, "one refused: %d %s" % (rc, err))
        check("<nobody@example.net>: 550 5.1.1 No such user \\u202Ehere" in err,
              "the refusal, escaped: %r" % err)
        check("\u202e" not in err, "a bidi override reached stderr")
        check(a.transactions[-1][1] == ["ok@example.net"], "delivered to the other one")
        n = len(a.transactions)
        # Every refusal temporary: 75.
        rc, _, err = send(*plain, "--to", "later1@example.net", "--to", "later2@example.net",
                          input=msg)
        check(rc == 75 and "450 4.2.1 Try later" in err, "temporary: %d %s" % (rc, err))
        # Refused and temporary mixed, none accepted: 69.
        rc, _, err = send(*plain, "--to", "no@example.net", "--to", "later@example.net",
                          input=msg)
        check(rc == 69, "mixed: %d %s" % (rc, err))
        check(len(a.transactions) == n, "a message went out with no recipient")
        # STARTTLS required (the default) and not offered: 69, and no MAIL was sent.
        rc, _, err = send("--server", a.server, "--from", "a@example.org", "--to",
                          "ok@example.net", input=msg)
        check(rc == 69 and "does not offer STARTTLS" in err, "require: %d %s" % (rc, err))
        check(len(a.transactions) == n, "a message went out without TLS")
    finally:
        a.close()
    # The message refused at its end (554) is 69, at 452 it is 75.
    for reply, want in ((b"554 5.7.1 rejected\r\n", 69), (b"452 4.3.1 full\r\n", 75)):
        def script(p, reply=reply):
            p.send(b"220 mx.test ESMTP\r\n")
            ehlo(p, [b"PIPELINING"])
            for _ in range(3):
                p.line()
            p.send(b"250 Ok\r\n250 Ok\r\n354 go\r\n")
            while p.line() not in (b".", None):
                pass
            p.send(reply)
            check(p.line() == b"QUIT", "QUIT after the refused message")
            p.send(b"221 Bye\r\n")
        srv = Scripted(script)
        try:
            rc, _, err = send("--server", srv.server, "--starttls", "never", "--from",
                              "a@example.org", "--to", "b@example.net", input=msg)
            check(rc == want, "%r: %d %s" % (reply, rc, err))
            check("the message was refused" in err, "%r: %s" % (reply, err))
        finally:
            srv.close()
    # Greetings: 554 is 69, 421 is 75; a garbled greeting is a protocol error, 76.
    for greeting, want in ((b"554 5.3.2 no service\r\n", 69), (b"421 4.3.2 busy\r\n", 75),
                           (b"hello\r\n", 76)):
        def script(p, greeting=greeting):
            p.send(greeting)
            if p.line() == b"QUIT":  # RFC 5321 3.1: after a 554 greeting the client quits
                p.send(b"221 Bye\r\n")
        srv = Scripted(script)
        try:
            rc, _, err = send("--server", srv.server, "--starttls", "never", "--from",
                              "a@example.org", "--to", "b@example.net", input=msg)
            check(rc == want, "%r: %d %s" % (greeting, rc, err))
        finally:
            srv.close()
    # A server that never answers: --timeout bounds the wait (75).
    srv = Scripted(lambda p: p.wait_close())
    try:
        t0 = time.time()
        rc, _, err = send("--server", srv.server, "--starttls", "never", "--timeout", "1",
                          "--from", "a@example.org", "--to", "b@example.net", input=msg)
        check(rc == 75 and "timed out" in err, "silent server: %d %s" % (rc, err))
        check(time.time() - t0 < 5, "the timeout took %.1f s" % (time.time() - t0))
    finally:
        srv.close()
    # STARTTLS offered under require: this build has no TLS, so 69, and nothing more is sent.
    def starttls(p):
        p.send(b"220 mx.test ESMTP\r\n")
        ehlo(p, [b"PIPELINING", b"STARTTLS", b"AUTH PLAIN"])
        if p.line() == b"STARTTLS":
            p.send(b"220 2.0.0 Ready to start TLS\r\n")
        p.wait_close()
    srv = Scripted(starttls)
    try:
        rc, _, err = send("--server", srv.server, "--from", "a@example.org", "--to",
                          "b@example.net", "--user", "alice", input=msg,
                          env={"SMTPKIT_PASSWORD": "hunter2"})
        check(rc == 69 and "TLS is not available in this build" in err, "TLS: %d %s" % (rc, err))
    finally:
        srv.close()
    check([l.split()[0] for l in srv.received] == [b"EHLO", b"STARTTLS"],
          "after STARTTLS the client sent %r" % srv.received)
    # --starttls opportunistic against it: no TLS here, so the message goes in clear.
    def opportunistic(p):
        p.send(b"220 mx.test ESMTP\r\n")
        ehlo(p, [b"STARTTLS"])
        for code in (b"250 Ok", b"250 Ok", b"354 go"):
            p.line()
            p.send(code + b"\r\n")
        while p.line() not in (b".", None):
            pass
        p.send(b"250 Ok\r\n")
        p.line()
        p.send(b"221 Bye\r\n")
    srv = Scripted(opportunistic)
    try:
        rc, _, err = send("--server", srv.server, "--starttls", "opportunistic", "--from",
                          "a@example.org", "--to", "b@example.net", input=msg)
        check(rc == 0, "opportunistic: %d %s" % (rc, err))
    finally:
        srv.close()
    check(b"STARTTLS\r\n" not in srv.received, "opportunistic sent STARTTLS with no TLS engine")
    # A message over the server's SIZE (69) and 8-bit to a server without 8BITMIME (69): both
    # refused before MAIL.
    s = Sink("--max-size", "100")
    try:
        rc, _, err = send("--server", s.server, "--starttls", "never", "--from", "a@example.org",
                          "--to", "b@example.net", input=b"Subject: big\r\n\r\n" + b"x" * 200)
        check(rc == 69 and "SIZE" in err, "SIZE: %d %s" % (rc, err))
        check(s.messages() == [], "an oversized message was sent")
    finally:
        s.close()
    # Postfix's smtp-sink: -8 hides 8BITMIME (an 8-bit message is refused before MAIL, 69),
    # -f refuses a command with 5xx (69), -r with 4xx (75).
    if shutil.which("smtp-sink") or os.path.exists("/usr/sbin/smtp-sink"):
        for flags, body, want, text in (
                (["-8"], b"Subject: 8bit\r\n\r\ncaf\xc3\xa9\r\n", 69, "8BITMIME"),
                (["-f", "rcpt"], msg, 69, "<b@example.net>: 500 5.3.0"),
                (["-r", "mail"], msg, 75, "the sender was refused: 450 4.3.0"),
                (["-f", "."], msg, 69, "the message was refused: 500 5.3.0")):
            port = free_port()
            cmd = [need("smtp-sink")] + flags + (["-u", "nobody"] if os.geteuid() == 0 else [])
            proc = subprocess.Popen(cmd + ["127.0.0.1:%d" % port, "10"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                check(wait_port(port, proc), "smtp-sink did not start")
                rc, _, err = send("--server", "127.0.0.1:%d" % port, "--starttls", "never",
                                  "--from", "a@example.org", "--to", "b@example.net", input=body)
                check(rc == want and text in err, "smtp-sink %s: %d %s" % (flags, rc, err))
            finally:
                stop(proc)


@case
def auth():
    d = Dir()
    users = d.file("users", b"alice:pa55word\n")
    pwfile = d.file("pw", b"pa55word\n")
    s = Sink("--auth-file", users)
    try:
        msg = sample_message("auth")
        base = ["--server", s.server, "--starttls", "never", "--from", "a@example.org", "--to",
                "b@example.net"]
        # The password from the environment, then from a file, with the conversation traced.
        rc, _, err = send(*base, "--user", "alice", "--allow-plaintext-auth", input=msg,
                          env={"SMTPKIT_PASSWORD": "pa55word"})
        check(rc == 0, "AUTH (environment): %d %s" % (rc, err))
        for mech in ("PLAIN", "LOGIN"):
            rc, _, err = send(*base, "--user", "alice", "--password-file", pwfile, "--auth", mech,
                              "--allow-plaintext-auth", "--trace", input=msg)
            check(rc == 0, "AUTH %s: %d %s" % (mech, rc, err))
            secrets = ["pa55word", base64.b64encode(b"\0alice\0pa55word").decode(),
                       base64.b64encode(b"pa55word").decode(), base64.b64encode(b"alice").decode()]
            for secret in secrets:
                check(secret not in err, "%s: %r in the trace:\n%s" % (mech, secret, err))
            check("C: AUTH %s" % mech in err, "%s: AUTH line in the trace: %s" % (mech, err))
            check("S: 235 2.7.0" in err, "%s: 235 in the trace" % mech)
        msgs = s.messages()
        check(len(msgs) == 3, "stored %d" % len(msgs))
        for m in msgs:
            _, received, body = split_trace(m)
            check(b"with ESMTPA id" in received and body == msg, "AUTH message %r" % received)
        # Bad credentials: 77.
        rc, _, err = send(*base, "--user", "alice", "--allow-plaintext-auth", input=msg,
                          env={"SMTPKIT_PASSWORD": "wrong"})
        check(rc == 77 and "535" in err, "bad credentials: %d %s" % (rc, err))
        # No TLS and plaintext not allowed: 69, and nothing was sent for the message.
        rc, _, err = send(*base, "--user", "alice", input=msg, env={"SMTPKIT_PASSWORD": "x"})
        check(rc == 69 and "--allow-plaintext-auth" in err, "no TLS: %d %s" % (rc, err))
        # A mechanism the server does not offer: 69.
        rc, _, err = send(*base, "--user", "alice", "--auth", "XOAUTH2", "--allow-plaintext-auth",
                          input=msg, env={"SMTPKIT_PASSWORD": "token"})
        check(rc == 69 and "XOAUTH2" in err, "no such mechanism: %d %s" % (rc, err))
        check(len(s.messages()) == 3, "a message was sent after a failed AUTH")
    finally:
        s.close()
    # A server that offers no AUTH at all: 69.
    s = Sink()
    try:
        rc, _, err = send("--server", s.server, "--starttls", "never", "--from", "a@example.org",
                          "--to", "b@example.net", "--user", "alice", "--allow-plaintext-auth",
                          input=b"x\r\n", env={"SMTPKIT_PASSWORD": "pa55word"})
        check(rc == 69 and "offers no AUTH" in err, "no AUTH: %d %s" % (rc, err))
        check(s.messages() == [], "a message was sent")
    finally:
        s.close()
        d.cleanup()


# --- -t, composing, tracing ----------------------------------------------------------------------

@case
def header_recipients():
    a = Aiosmtpd()
    try:
        msg = (b"From: \"Sender, Jr.\" <sender@example.org>\r\n"
               b"To: \"Doe, John\" <john@example.net>, plain@example.net (a comment),\r\n"
               b"  Group: member1@example.net, <member2@example.net>;\r\n"
               b"Cc: cc@example.net\r\n"
               b"Bcc: hidden1@example.net,\r\n"
               b"\thidden2@example.net\r\n"
               b"Subject: -t\r\n"
               b"bcc: hidden3@example.net\r\n"
               b"\r\n"
               b"To: body@example.net is not a header\r\n")
        rc, _, err = send("--server", a.server, "--starttls", "never", "-t", "--to",
                          "extra@example.net", input=msg)
        check(rc == 0, "-t: %d %s" % (rc, err))
        frm, rcpts, content, options = a.transactions[0]
        check(frm == "sender@example.org", "sender %r" % frm)
        want = ["extra@example.net", "john@example.net", "plain@example.net",
                "member1@example.net", "member2@example.net", "cc@example.net",
                "hidden1@example.net", "hidden2@example.net", "hidden3@example.net"]
        check(rcpts == want, "recipients %r" % rcpts)
        stripped = (b"From: \"Sender, Jr.\" <sender@example.org>\r\n"
                    b"To: \"Doe, John\" <john@example.net>, plain@example.net (a comment),\r\n"
                    b"  Group: member1@example.net, <member2@example.net>;\r\n"
                    b"Cc: cc@example.net\r\n"
                    b"Subject: -t\r\n"
                    b"\r\n"
                    b"To: body@example.net is not a header\r\n")
        check(content == stripped, "Bcc not stripped:\n%r" % content)
        check("SIZE=%d" % len(stripped) in options, "SIZE counts what is sent: %r" % options)
        # Without -t the message is sent as it is, Bcc included.
        rc, _, err = send("--server", a.server, "--starttls", "never", "--to", "x@example.net",
                          input=msg)
        check(rc == 0 and a.transactions[1][2] == msg, "without -t: %d %s" % (rc, err))
        # -t with a malformed address in a field: 65, nothing sent.
        rc, _, err = send("--server", a.server, "--starttls", "never", "-t",
                          input=b"From: a@example.org\r\nTo: bad address@\r\n\r\nx\r\n")
        check(rc == 65, "bad header address: %d %s" % (rc, err))
        rc, _, err = send("--server", a.server, "--starttls", "never", "-t",
                          input=b"From: a@example.org\r\nSubject: none\r\n\r\nx\r\n")
        check(rc == 65 and "no recipient" in err, "no recipient: %d %s" % (rc, err))
        check(len(a.transactions) == 2, "a message was sent")
    finally:
        a.close()


@case
def compose():
    a = Aiosmtpd()
    try:
        rc, _, err = send("--server", a.server, "--starttls", "never", "--from",
                          "alice@example.org", "--to", "bob@example.net", "--to",
                          "carol@example.net", "--subject", "Hello", "--body",
                          "This is a test email.")
        check(rc == 0, "compose: %d %s" % (rc, err))
        frm, rcpts, content, _ = a.transactions[0]
        check(frm == "alice@example.org" and rcpts == ["bob@example.net", "carol@example.net"],
              "envelope %r %r" % (frm, rcpts))
        head, _, body = content.partition(b"\r\n\r\n")
        check(body == b"This is a test email.\r\n", "body %r" % body)
        fields = head.split(b"\r\n")
        check(fields[0] == b"From: alice@example.org", "From %r" % fields)
        check(fields[1] == b"To: bob@example.net," and fields[2] == b" carol@example.net",
              "To %r" % fields)
        check(fields[3] == b"Subject: Hello", "Subject %r" % fields)
        check(re.match(rb"Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$", fields[4]),
              "Date %r" % fields[4])
        check(re.match(rb"Message-ID: <[^@>\s]+@example\.org>$", fields[5]), "Message-ID %r"
              % fields[5])
        check(len(fields) == 6, "fields %r" % fields)
        # A UTF-8 subject is encoded (RFC 2047) and a UTF-8 body declared (MIME).
        rc, _, err = send("--server", a.server, "--starttls", "never", "--from",
                          "alice@example.org", "--to", "bob@example.net", "--subject",
                          "Gr\u00fc\u00dfe", "--body", "Sch\u00f6n\nzwei Zeilen")
        check(rc == 0, "UTF-8: %d %s" % (rc, err))
        content = a.transactions[1][2]
        check(b"\r\nSubject: =?UTF-8?B?" + base64.b64encode("Gr\u00fc\u00dfe".encode()) +
              b"?=\r\n" in content, "encoded subject: %r" % content)
        check(b"Content-Type: text/plain; charset=UTF-8\r\n" in content, "MIME: %r" % content)
        check(content.endswith("\r\n\r\nSch\u00f6n\r\nzwei Zeilen\r\n".encode()), "body %r"
              % content)
        # A line break in the subject would inject a header: refused (65).
        rc, _, err = send("--server", a.server, "--starttls", "never", "--from",
                          "alice@example.org", "--to", "bob@example.net", "--subject",
                          "Hi\r\nBcc: x@example.net", "--body", "x")
        check(rc == 65, "subject with CRLF: %d %s" % (rc, err))
    finally:
        a.close()


@case
def trace():
    # A greeting with control characters breaks the protocol (76); the trace shows it escaped.
    def garbled(p):
        p.send(b"220 mx.test ESMTP \x1b[2J\x07\r\n")
        p.wait_close()
    srv = Scripted(garbled)
    try:
        rc, _, err = send("--server", srv.server, "--starttls", "never", "--trace", "--from",
                          "a@example.org", "--to", "b@example.net", input=b"x\r\n")
        check(rc == 76, "garbled greeting: %d %s" % (rc, err))
        check("S: 220 mx.test ESMTP \\x1B[2J\\x07\n" in err, "escaped greeting: %r" % err)
        check("\x1b" not in err and "\x07" not in err, "control characters reached stderr")
    finally:
        srv.close()

    def script(p):
        p.send(b"220 mx.test ESMTP\r\n")
        ehlo(p, [b"PIPELINING", b"SIZE 1000000"])
        for _ in range(3):
            p.line()
        p.send(b"250 Ok\r\n250 Ok\r\n354 go\r\n")
        while p.line() not in (b".", None):
            pass
        p.send(b"250 2.0.0 queued \xe2\x80\xae evil\r\n")
        p.line()
        p.send(b"221 Bye\r\n")
    srv = Scripted(script)
    try:
        rc, _, err = send("--server", srv.server, "--starttls", "never", "--trace", "--helo",
                          "client.test", "--from", "a@example.org", "--to", "b@example.net",
                          input=b"Subject: Hello\r\n\r\nThis is a test email.\r\n")
        check(rc == 0, "trace: %d %s" % (rc, err))
        lines = err.splitlines()
        check(lines[0].startswith("smtpkit-send: connected to 127.0.0.1 port "), "%r" % lines)
        check(lines[1] == "S: 220 mx.test ESMTP", "greeting %r" % lines[1])
        for want in ("C: EHLO client.test", "C: MAIL FROM:<a@example.org> SIZE=41",
                     "C: RCPT TO:<b@example.net>", "C: DATA", "S: 354 go", "C: Subject: Hello",
                     "C: This is a test email.", "C: .", "S: 250 2.0.0 queued \\u202E evil",
                     "C: QUIT", "S: 221 Bye"):
            check(want in lines, "%r not in the trace:\n%s" % (want, err))
        check("\x1b" not in err and "\u202e" not in err, "control characters reached stderr")
    finally:
        srv.close()


# --- batch ---------------------------------------------------------------------------------------

@case
def batch():
    count = {"n": 0}

    def drop_once(server, envelope):
        count["n"] += 1
        if count["n"] == 10:  # the tenth message: the connection drops before any reply
            server.transport.close()
            return "421 4.3.0 gone"
        return None

    a = Aiosmtpd(on_data=drop_once)
    d = Dir()
    try:
        folder = os.path.join(d.path, "batch")
        os.mkdir(folder)
        msgs = {}
        for i in range(30):
            m = (b"From: <sender@example.org>\r\nTo: <r%d@example.net>\r\nBcc: <h%d@example.net>\r\n"
                 b"Subject: batch %03d\r\n\r\nmessage %03d\r\n" % (i, i, i, i))
            msgs[i] = m
            with open(os.path.join(folder, "m%03d.eml" % i), "wb") as f:
                f.write(m)
        os.mkdir(os.path.join(folder, "subdir"))             # not a file: skipped
        with open(os.path.join(folder, ".hidden"), "wb") as f:  # dot files: skipped
            f.write(b"x")
        rc, _, err = send("--server", a.server, "--starttls", "never", "-t", "--batch", folder)
        check(rc == 0, "batch: %d %s" % (rc, err))
        check("30 messages: 30 sent, 0 refused, 0 deferred" in err, "summary: %s" % err)
        check("\r" not in err, "a progress bar on a file")
        check(a.connections == 2, "connections: %d" % a.connections)
        got = sorted(a.transactions, key=lambda t: t[1][0])
        got = sorted(got, key=lambda t: int(t[1][0][1:].split("@")[0]))
        check(len(got) == 30, "delivered %d" % len(got))
        for i, (frm, rcpts, content, _) in enumerate(got):
            check(rcpts == ["r%d@example.net" % i, "h%d@example.net" % i], "rcpts %r" % rcpts)
            check(content == msgs[i].replace(b"Bcc: <h%d@example.net>\r\n" % i, b""),
                  "message %d: %r" % (i, content))
        # A bad file and a refused recipient: the worst outcome is the exit status (65), and
        # the others are still sent.
        with open(os.path.join(folder, "m005.eml"), "wb") as f:
            f.write(b"From: <sender@example.org>\r\n\r\n" + b"y" * 2000 + b"\r\n")
        with open(os.path.join(folder, "m006.eml"), "wb") as f:
            f.write(b"From: <sender@example.org>\r\nTo: <nobody@example.net>\r\n\r\nx\r\n")
        a.transactions.clear()
        rc, _, err = send("--server", a.server, "--starttls", "never", "-t", "--batch", folder)
        check(rc == 65, "batch with failures: %d %s" % (rc, err))
        check("30 messages: 28 sent, 2 refused, 0 deferred" in err, "summary: %s" % err)
        check("m005.eml: line 3 is longer than 998 octets" in err, "bad file named: %s" % err)
        check("m006.eml: no recipient was accepted" in err and "<nobody@example.net>: 550" in err,
              "refused named: %s" % err)
        check(len(a.transactions) == 28, "delivered %d" % len(a.transactions))
    finally:
        a.close()
        d.cleanup()


@case
def batch_progress():
    """On a terminal --batch draws a progress bar; the summary follows it."""
    a = Aiosmtpd()
    d = Dir()
    try:
        folder = os.path.join(d.path, "batch")
        os.mkdir(folder)
        for i in range(20):
            with open(os.path.join(folder, "%02d" % i), "wb") as f:
                f.write(b"Subject: %d\r\n\r\nx\r\n" % i)
        master, slave = pty.openpty()
        p = subprocess.Popen([SEND, "--server", a.server, "--starttls", "never", "--from",
                              "a@example.org", "--to", "b@example.net", "--batch", folder],
                             stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        out = b""
        deadline = time.time() + 30
        while time.time() < deadline:
            r, _, _ = select.select([master], [], [], 0.5)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            elif p.poll() is not None:
                break
        rc = p.wait(10)
        os.close(master)
        text = out.decode("utf-8", "replace")
        check(rc == 0, "exit %d: %s" % (rc, text))
        check("\r[" in text and "] 20/20" in text, "no progress bar: %r" % text)
        check("20 messages: 20 sent, 0 refused, 0 deferred" in text, "summary: %r" % text)
        check(len(a.transactions) == 20, "delivered %d" % len(a.transactions))
    finally:
        a.close()
        d.cleanup()


@case
def batch_server_gone():
    """The server goes away for good in the middle of a batch: the message in flight and what
    is left are deferred (75)."""
    holder = {}

    def script(p):
        p.send(b"220 mx.test ESMTP\r\n")
        ehlo(p, [b"PIPELINING"])
        for n in range(1, 11):
            for _ in range(3):  # MAIL, RCPT, DATA
                p.line()
            p.send(b"250 Ok\r\n250 Ok\r\n354 go\r\n")
            while p.line() not in (b".", None):
                pass
            if n == 5:  # stop listening, then drop the connection before the reply
                holder["srv"].sock.close()
                return
            p.send(b"250 Ok\r\n")

    srv = Scripted(script)
    holder["srv"] = srv
    d = Dir()
    try:
        folder = os.path.join(d.path, "batch")
        os.mkdir(folder)
        for i in range(10):
            with open(os.path.join(folder, "%02d" % i), "wb") as f:
                f.write(b"Subject: %d\r\n\r\nx\r\n" % i)
        rc, _, err = send("--server", srv.server, "--starttls", "never", "--from", "a@example.org",
                          "--to", "b@example.net", "--batch", folder)
        check(rc == 75, "server gone: %d %s" % (rc, err))
        check("Connection refused" in err, "the reconnection: %s" % err)
        check("10 messages: 4 sent, 0 refused, 6 deferred" in err, "summary: %s" % err)
    finally:
        srv.close()
        d.cleanup()


def main():
    global SEND, SINK
    ap = argparse.ArgumentParser()
    ap.add_argument("--send", required=True)
    ap.add_argument("--sink", required=True)
    ap.add_argument("case", choices=sorted(CASES) + ["all"])
    a = ap.parse_args()
    SEND = os.path.abspath(a.send)
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
