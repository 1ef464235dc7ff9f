# IMAP transcript runner for the end-to-end tests (tests/imap_transcript.rs).
#
# Reads the transcript named by $TRANSCRIPT and plays it against the server on
# $IMAPS_PORT over TLS (certificate in $CERT), one raw socket per connection.
# Prints every line sent and received; exits 1 if any step did not match.
#
# Transcript lines:
#   @name            switch to connection `name`, opening it (and reading the
#                    greeting as a step) on first use; `@name plain` opens it
#                    on the cleartext port (STARTTLS upgrades it)
#   C: text          send `text` CRLF, then read until the command's tagged
#                    reply or a `+` continuation; a `{n}` synchronizing literal
#                    inside waits for `+` before the rest is sent
#   S: pattern       a line the server must send in this step (any order; the
#                    step must use every received line unless `S: ...` is there)
#   O: pattern       like S:, and the O: lines of a step arrive in this order
#   ?: pattern       like S:, but the line may also be absent
#   X: 3,4,7,11      the step's `* n EXPUNGE` lines, applied in the order
#                    sent, remove exactly these (original) sequence numbers
#   N: pattern       no line of this step may match
#   W: pattern       read (bounded) until a line matching each W: of the step
#                    arrived, without sending anything (IDLE notifications);
#                    S:, ?: and N: lines after W: lines check the same step
#   !C: text         setup command: must end in tagged OK, untagged ignored
#   !SMTP: to subject  deliver a short message to `to` over SMTP ($SMTP_PORT)
#   BUG: text        the next step is known to deviate from the RFC: it must
#                    still mismatch (a fix makes the run fail, to drop the mark)
#   # comment
# Patterns are literal text with <<regex>> parts: <<*>> is .*, <<n>> is \d+,
# <<name=regex>> captures, <<$name>> is a captured value (also in C: lines).
# In C: lines <<lit:TEXT>> becomes {len}CRLF TEXT (a synchronizing literal) and
# <<lit+:TEXT>> a non-synchronizing one (<<lit8:TEXT>> and <<lit8+:TEXT>>
# the binary ~{n} forms); in TEXT the four characters \r\n are
# a CRLF. A literal the server sends shows up inline as {n} followed by its
# bytes with CR and LF written as \r and \n. Flag lists (`FLAGS (...)`,
# `PERMANENTFLAGS (...)`) and LIST/LSUB attributes are sorted
# case-insensitively before matching, as their order means nothing: write
# them sorted in patterns.
import os, re, smtplib, socket, ssl, sys, time, zlib

PORT = int(os.environ["IMAPS_PORT"])
PLAIN_PORT = int(os.environ["IMAP_PORT"])
ctx = ssl.create_default_context(cafile=os.environ["CERT"])
ctx.check_hostname = False
TIMEOUT = 15.0
V = {}
failures = []
known = []


def log(*a):
    print(*a, flush=True)


class Conn:
    def __init__(self, name, plain):
        self.name = name
        if plain:
            self.s = socket.create_connection(("127.0.0.1", PLAIN_PORT), timeout=TIMEOUT)
        else:
            raw = socket.create_connection(("127.0.0.1", PORT), timeout=TIMEOUT)
            self.s = ctx.wrap_socket(raw, server_hostname="localhost")
        self.buf = b""
        self.pending = None
        self.inflate = None
        self.deflate = None
        self.n = 0

    def send(self, data):
        log("%s C: %r" % (self.name, data))
        if self.deflate:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.s.sendall(data)

    def fill(self, deadline):
        self.s.settimeout(max(0.05, deadline - time.monotonic()))
        d = self.s.recv(65536)
        if not d:
            raise EOFError("connection closed by server")
        if self.inflate:
            d = self.inflate.decompress(d)
        self.buf += d

    def raw_line(self, deadline):
        while b"\r\n" not in self.buf:
            self.fill(deadline)
        i = self.buf.index(b"\r\n")
        l, self.buf = self.buf[:i], self.buf[i + 2 :]
        return l

    def exact(self, n, deadline):
        while len(self.buf) < n:
            self.fill(deadline)
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def line(self, deadline=None):
        """One response line with its literals inline, as text."""
        deadline = deadline or time.monotonic() + TIMEOUT
        out = ""
        while True:
            l = self.raw_line(deadline)
            out += l.decode("utf-8", "replace")
            m = re.search(rb"~?\{(\d+)\}$", l)
            if not m:
                break
            lit = self.exact(int(m.group(1)), deadline)
            out += lit.decode("utf-8", "replace").replace("\r", "\\r").replace("\n", "\\n")
        log("%s S: %s" % (self.name, out))
        out = re.sub(r"^(\* (?:LIST|LSUB) )\(([^()]*)\)", sort_flags, out)
        return re.sub(r"(FLAGS )\(([^()]*)\)", sort_flags, out)


def sort_flags(m):
    return "%s(%s)" % (m.group(1), " ".join(sorted(m.group(2).split(), key=str.lower)))


conns = {}


def deliver(to, subject):
    body = (
        "From: Sender <sender@elsewhere.test>\r\nTo: %s\r\nSubject: %s\r\n"
        "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%s@elsewhere.test>\r\n\r\n"
        "Hello from SMTP\r\n" % (to, subject, subject.replace(" ", "."))
    )
    log("SMTP to %s: %s" % (to, subject))
    s = smtplib.SMTP("127.0.0.1", int(os.environ["SMTP_PORT"]), timeout=TIMEOUT)
    s.sendmail("sender@elsewhere.test", [to], body.encode())
    s.quit()


def subst(text):
    return re.sub(r"<<\$(\w+)>>", lambda m: V[m.group(1)], text)


def client_bytes(text):
    """A C: line as bytes, with literals expanded; returns the pieces to send
    (split after each synchronizing literal's {n}CRLF)."""
    text = subst(text)
    pieces, cur = [], ""
    pos = 0
    for m in re.finditer(r"<<lit(8?)(\+?):(.*?)>>", text, re.S):
        body = m.group(3).replace("\\r\\n", "\r\n")
        n = len(body.encode())
        cur += text[pos : m.start()] + ("~" if m.group(1) else "")
        if m.group(2):
            cur += "{%d+}\r\n" % n
        else:
            cur += "{%d}\r\n" % n
            pieces.append(cur)
            cur = ""
        cur += body
        pos = m.end()
    cur += text[pos:] + "\r\n"
    pieces.append(cur)
    return [p.encode() for p in pieces]


def compile_pattern(p):
    out, caps, pos = "", [], 0
    for m in re.finditer(r"<<(.*?)>>", p):
        out += re.escape(p[pos : m.start()])
        inner = m.group(1)
        if inner == "*":
            out += ".*"
        elif inner == "n":
            out += r"\d+"
        elif inner.startswith("$"):
            out += re.escape(V[inner[1:]])
        else:
            cm = re.match(r"(\w+)=(.*)$", inner)
            if cm:
                out += "(?P<%s>%s)" % (cm.group(1), cm.group(2))
                caps.append(cm.group(1))
            else:
                out += "(?:%s)" % inner
        pos = m.end()
    out += re.escape(p[pos:])
    return re.compile(out + r"\Z", re.S)


def is_tagged(line, tag):
    return line.startswith(tag + " ")


def run_command(c, text, received):
    pieces = client_bytes(text)
    tag = c.pending or text.split(" ", 1)[0]
    c.pending = None
    for i, piece in enumerate(pieces):
        c.send(piece)
        last = i == len(pieces) - 1
        while True:
            l = c.line()
            received.append(l)
            if is_tagged(l, tag):
                if not last:
                    log("%s: literal refused, rest not sent" % c.name)
                if re.match(r"\S+ OK", l) and re.match(r"\S+ STARTTLS$", text, re.I):
                    c.s = ctx.wrap_socket(c.s, server_hostname="localhost")
                if re.match(r"\S+ OK", l) and re.match(r"\S+ COMPRESS DEFLATE", text, re.I):
                    c.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
                    c.inflate = zlib.decompressobj(-15)
                return
            if l.startswith("+"):
                if last:
                    c.pending = tag
                    return
                break


def check(step, received):
    """Matches one step's expectations against the lines received; returns the
    reasons it failed (empty when it matched)."""
    errs = []
    used = [False] * len(received)
    loose = False
    after = 0
    for kind, p in step["expect"]:
        if kind == "S" and p == "...":
            loose = True
            continue
        if kind == "X":
            errs += check_expunges(p, received, used)
            continue
        rx = compile_pattern(p)
        if kind == "N":
            for l in received:
                if rx.match(l):
                    errs.append("forbidden line present: %s" % l)
            continue
        for i, l in enumerate(received):
            if not used[i] and (kind != "O" or i >= after):
                m = rx.match(l)
                if m:
                    used[i] = True
                    V.update(m.groupdict())
                    if kind == "O":
                        after = i + 1
                    break
        else:
            if kind != "?":
                errs.append("expected, not received: %s" % p)
    if not loose:
        for i, l in enumerate(received):
            if not used[i]:
                errs.append("received, not expected: %s" % l)
    return errs


def check_expunges(want, received, used):
    """The EXPUNGE lines of a step, applied in order to the sequence numbers
    1..n, must remove exactly the numbers in `want`."""
    want = sorted(int(x) for x in want.split(","))
    live = list(range(1, max(want) + 100))
    gone = []
    for i, l in enumerate(received):
        m = re.match(r"\* (\d+) EXPUNGE\Z", l)
        if m:
            used[i] = True
            n = int(m.group(1))
            if n > len(live):
                return ["EXPUNGE of a number past the end: %s" % l]
            gone.append(live.pop(n - 1))
    if sorted(gone) != want:
        return ["EXPUNGE lines removed %s, expected %s" % (sorted(gone), want)]
    return []


def parse(text):
    steps, cur, conn, bug = [], None, None, None
    for raw in text.splitlines():
        l = raw.strip()
        if not l or l.startswith("#"):
            continue
        if l.startswith("@"):
            conn, _, how = l[1:].partition(" ")
            cur = {"kind": "open", "conn": conn, "expect": [], "bug": None, "plain": how == "plain"}
            steps.append(cur)
        elif l.startswith("!SMTP:"):
            to, _, subject = l[6:].strip().partition(" ")
            steps.append({"kind": "smtp", "conn": conn, "to": to, "subject": subject, "expect": [], "bug": None})
        elif l.startswith("BUG:"):
            bug = l[4:].strip()
        elif l.startswith("C:") or l.startswith("!C:"):
            setup = l.startswith("!")
            cur = {"kind": "setup" if setup else "cmd", "conn": conn, "text": l.split(":", 1)[1][1:], "expect": [], "bug": bug}
            bug = None
            steps.append(cur)
        elif l[:2] in ("S:", "N:", "O:", "?:", "X:"):
            cur["expect"].append((l[0], l[3:]))
        elif l.startswith("W:"):
            if cur is None or cur["kind"] != "wait":
                cur = {"kind": "wait", "conn": conn, "expect": [], "bug": bug}
                bug = None
                steps.append(cur)
            cur["expect"].append(("W", l[3:]))
        else:
            raise SystemExit("bad transcript line: %r" % raw)
    return steps


def wait_for(c, step, received):
    pats = [compile_pattern(p) for k, p in step["expect"] if k == "W"]
    deadline = time.monotonic() + TIMEOUT
    pending = list(pats)
    while pending:
        l = c.line(deadline)
        received.append(l)
        for rx in pending:
            if rx.match(l):
                pending.remove(rx)
                break


def main():
    steps = parse(open(os.environ["TRANSCRIPT"]).read())
    for n, step in enumerate(steps):
        name = step["conn"]
        received = []
        try:
            if step["kind"] == "smtp":
                deliver(step["to"], step["subject"])
                continue
            if step["kind"] == "open":
                if name in conns:
                    if step["expect"]:
                        failures.append("step %d: @%s is already open, its S: lines go nowhere" % (n, name))
                    continue
                conns[name] = Conn(name, step["plain"])
                received.append(conns[name].line())
                if not step["expect"]:
                    continue
            elif step["kind"] == "wait":
                wait_for(conns[name], step, received)
            elif step["kind"] == "setup":
                run_command(conns[name], step["text"], received)
                if not re.match(r"\S+ OK", received[-1]):
                    failures.append("setup command failed: %s -> %s" % (step["text"], received[-1]))
                continue
            else:
                run_command(conns[name], step["text"], received)
        except (OSError, EOFError) as e:
            log("  ERROR: %s" % e)
            received.append("<<%s>>" % e)
        errs = check(step, received)
        if received and received[-1].startswith("<<"):
            errs.append("connection error: %s" % received[-1])
        what = step.get("text", step["kind"])
        if step["bug"]:
            if errs:
                known.append(step["bug"])
                log("  KNOWN BUG still present: %s" % step["bug"])
                for e in errs:
                    log("    " + e)
            else:
                failures.append("step %d (%s) now matches: drop its BUG mark (%s)" % (n, what, step["bug"]))
        elif errs:
            failures.append("step %d on @%s: %s\n    %s" % (n, name, what, "\n    ".join(errs)))
            log("  MISMATCH: " + "; ".join(errs))
    log("TRANSCRIPT DONE: %d steps, %d failures, %d known bugs" % (len(steps), len(failures), len(known)))
    for k in known:
        log("KNOWN BUG: " + k)
    if failures:
        log("\nFAILURES:\n" + "\n".join(failures))
        sys.exit(1)


main()
