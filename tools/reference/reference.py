#!/usr/bin/env python3
"""Independent reference implementation of the log-analysis spec (stdlib only).

Choices made where the spec is silent (each marked CHOICE in the code too):
 1. --threshold must be a plain ASCII decimal integer >= 1; --window must match
    [Nh][Nm][Ns] (at least one part, ASCII digits, in that order, e.g. 0s, 90s,
    1h30m, 2h5s).  Bad arguments, no FILE, or an unreadable file -> message on
    stderr, exit status 2, nothing on stdout.
 2. Only one trailing '\r' is removed from a line (the CR of CRLF); any other
    '\r' is left to the JSON parser (JSON whitespace outside strings).
 3. Lone-surrogate check: any \\uD800-\\uDFFF escape not forming a valid pair,
    anywhere in the line (keys or values, even unused ones) -> malformed.
    JSON nested deeper than Python's recursion limit (~1000) -> malformed.
 4. Integer user id is taken as the decimal text of its value: -0 -> "0",
    other integers keep their text.
 5. Numeric/epoch timestamps: unit chosen by the signed value (so every
    negative number is seconds); sub-nanosecond digits are floored (toward
    -infinity) to whole nanoseconds.  Epoch strings: ASCII digits, optionally
    '.' followed by >= 1 digit; no sign, no whitespace, no exponent.
 6. Zone offsets: hours 00-23, minutes 00-59, else the string is not usable.
    The whole string must match (no surrounding whitespace).  Fraction digits
    beyond 9 are truncated.  Range check (years 0000-9999) is applied after
    converting to UTC.
 7. Path normalisation happens after the "non-empty" check, so a path like
    "?q" yields event "GET " (method, space, empty path) or "" (path alone).
 8. The user "-" is never unknown, even if passed as --unknown-user -.
    Unknown-user matching is exact (case-sensitive) on the resolved user text.
 9. Outcome lower-casing uses Python str.lower(); no trimming.
10. findings are sorted by the exact (nanosecond) first time, then ip string.
    Output timestamps are floor(ns / 1e6) ms.
11. `-` given twice reads stdin twice (second read is empty); each is listed
    as "<stdin>".
"""
import json
import re
import sys

sys.set_int_max_str_digits(0)

NS = 10 ** 9


# ---------------------------------------------------------------- calendar
def days_from_civil(y, m, d):
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return y + (m <= 2), m, d


MIN_NS = days_from_civil(0, 1, 1) * 86400 * NS
MAX_NS = (days_from_civil(9999, 12, 31) * 86400 + 86399) * NS + NS - 1


def is_leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def days_in_month(y, m):
    if m == 2:
        return 29 if is_leap(y) else 28
    return 30 if m in (4, 6, 9, 11) else 31


def fmt_ts(ns):
    ms = ns // 10 ** 6
    secs, msr = divmod(ms, 1000)
    days, sod = divmod(secs, 86400)
    y, m, d = civil_from_days(days)
    hh, rem = divmod(sod, 3600)
    mi, ss = divmod(rem, 60)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (y, m, d, hh, mi, ss, msr)


# ---------------------------------------------------------------- JSON
class Num:
    """A JSON number kept as its raw text."""
    __slots__ = ("raw",)

    def __init__(self, raw):
        self.raw = raw

    @property
    def is_int(self):
        return not any(c in self.raw for c in ".eE")


def _reject_constant(name):
    raise ValueError("non-standard JSON constant %s" % name)


SURR = re.compile("[\ud800-\udfff]")


def has_surrogate(v):
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            if SURR.search(x):
                return True
        elif isinstance(x, dict):
            for k, val in x.items():
                if SURR.search(k):
                    return True
                stack.append(val)
        elif isinstance(x, list):
            stack.extend(x)
    return False


def parse_line(raw):
    """Return (obj, None) or (None, reason)."""
    try:
        text = raw.decode("utf-8")  # strict
    except UnicodeDecodeError as e:
        return None, "invalid UTF-8 (%s)" % e.reason
    try:
        v = json.loads(text, parse_int=Num, parse_float=Num,
                       parse_constant=_reject_constant)
    except RecursionError:
        return None, "invalid JSON: nesting too deep"
    except ValueError as e:
        return None, "invalid JSON: %s" % e
    if has_surrogate(v):
        return None, "invalid JSON: lone surrogate in string"
    if not isinstance(v, dict):
        return None, "not a JSON object"
    return v, None


# ---------------------------------------------------------------- timestamps
ISO_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:[.,]([0-9]+))?(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?")
EPOCH_STR_RE = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
JSON_NUM_RE = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?")


def in_range(ns):
    return ns if MIN_NS <= ns <= MAX_NS else None


def parse_iso(s):
    m = ISO_RE.fullmatch(s)
    if not m:
        return None
    y, mo, d, hh, mi, ss = (int(m.group(i)) for i in range(1, 7))
    frac, zone = m.group(7), m.group(8)
    if not (1 <= mo <= 12) or not (1 <= d <= days_in_month(y, mo)):
        return None
    if hh > 23 or mi > 59 or ss > 59:
        return None
    off = 0
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        body = zone[1:].replace(":", "")
        oh = int(body[:2])
        om = int(body[2:4]) if len(body) > 2 else 0
        if oh > 23 or om > 59:  # CHOICE 6
            return None
        off = sign * (oh * 3600 + om * 60)
    fns = int((frac + "000000000")[:9]) if frac else 0
    secs = days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - off
    return in_range(secs * NS + fns)


def epoch_to_ns(neg, mant, exp):
    """value = (-1 if neg) * mant * 10**exp, mant a non-negative int."""
    if mant == 0:
        return 0
    mag = exp + len(str(mant)) - 1  # floor(log10(|value|))
    if mag > 40:
        return None
    if mag < -40:
        return -1 if neg else 0  # seconds, floored (CHOICE 5)
    num = mant * 10 ** max(exp, 0)
    den = 10 ** max(-exp, 0)
    if neg:
        num = -num
    # unit by signed value (CHOICE 5)
    if num < 10 ** 11 * den:
        scale = NS
    elif num < 10 ** 14 * den:
        scale = 10 ** 6
    elif num < 10 ** 17 * den:
        scale = 10 ** 3
    else:
        scale = 1
    return in_range((num * scale) // den)


def parse_ts(v):
    if isinstance(v, Num):
        m = JSON_NUM_RE.fullmatch(v.raw)
        ip, fp, ep = m.group(2), m.group(3) or "", m.group(4)
        exp = (int(ep) if ep else 0) - len(fp)
        return epoch_to_ns(m.group(1) == "-", int(ip + fp), exp)
    if isinstance(v, str):
        m = EPOCH_STR_RE.fullmatch(v)
        if m:
            ip, fp = m.group(1), m.group(2) or ""
            return epoch_to_ns(False, int(ip + fp), -len(fp))
        return parse_iso(v)
    return None


# ---------------------------------------------------------------- fields
TS_KEYS = ("timestamp", "ts", "time", "@timestamp")
USER_KEYS = ("user_id", "user", "username", "uid", "sub")
EVENT_KEYS = ("event_type", "event", "action")
OUTCOME_KEYS = ("outcome", "result")
STATUS_KEYS = ("status", "status_code", "http_status")
IP_KEYS = ("ip", "client_ip", "remote_addr", "remote_ip", "source_ip", "src_ip")
PATH_KEYS = ("path", "uri", "url")
FAIL_WORDS = {"failure", "failed", "fail", "denied", "deny", "error",
              "unauthorized", "forbidden"}
DIGITS_RE = re.compile(r"[0-9]+")


def first(obj, keys, pred):
    for k in keys:
        if k in obj:
            r = pred(obj[k])
            if r is not None:
                return r
    return None


def nonempty_str(v):
    return v if isinstance(v, str) and v != "" else None


def user_val(v):
    if isinstance(v, str):
        return v if v else None
    if isinstance(v, Num) and v.is_int:
        return str(int(v.raw))  # CHOICE 4
    return None


def bool_val(v):
    return v if isinstance(v, bool) else None


def status_val(v):
    if isinstance(v, Num) and v.is_int:
        return int(v.raw)
    if isinstance(v, str) and DIGITS_RE.fullmatch(v):
        return int(v)
    return None


HEX16_RE = re.compile(r"[0-9a-fA-F]{16,}")
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def norm_path(p):
    cut = len(p)
    for ch in "?#":
        i = p.find(ch)
        if i != -1:
            cut = min(cut, i)
    p = p[:cut]
    segs = []
    for s in p.split("/"):
        if DIGITS_RE.fullmatch(s) or UUID_RE.fullmatch(s) or HEX16_RE.fullmatch(s):
            segs.append(":id")
        else:
            segs.append(s)
    return "/".join(segs)


def event_name(obj):
    ev = first(obj, EVENT_KEYS, nonempty_str)
    if ev is not None:
        return ev
    method = nonempty_str(obj.get("method"))
    path = first(obj, PATH_KEYS, nonempty_str)
    if path is not None:
        np = norm_path(path)
        return method + " " + np if method is not None else np
    return "-"


# ---------------------------------------------------------------- CLI
def die(msg):
    sys.stderr.write("error: %s\n" % msg)
    sys.exit(2)


def parse_duration(s):
    m = re.fullmatch(r"(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?", s)
    if not m or not s:
        die("bad --window %r" % s)
    h, mi, se = (int(g) if g else 0 for g in m.groups())
    return (h * 3600 + mi * 60 + se) * NS


def parse_args(argv):
    threshold, window, unknown, files = 5, 600 * NS, ["unknown_user"], []
    i, only_files = 0, False
    while i < len(argv):
        a = argv[i]
        if not only_files and a == "--":
            only_files = True
        elif not only_files and a.startswith("--") and a != "-":
            name, eq, val = a.partition("=")
            if name not in ("--threshold", "--window", "--unknown-user"):
                die("unknown option %s" % name)
            if not eq:
                i += 1
                if i >= len(argv):
                    die("%s needs a value" % name)
                val = argv[i]
            if name == "--threshold":
                if not re.fullmatch(r"[0-9]+", val) or int(val) < 1:
                    die("bad --threshold %r" % val)  # CHOICE 1
                threshold = int(val)
            elif name == "--window":
                window = parse_duration(val)
            else:
                unknown.append(val)
        else:
            files.append(a)
        i += 1
    if not files:
        die("no input files")
    return threshold, window, set(unknown) - {"-"}, files  # CHOICE 8


# ---------------------------------------------------------------- main
def main(argv):
    threshold, window, unknown, files = parse_args(argv)
    names, records = [], []
    malformed = blank = 0
    err = []
    seq = 0
    for f in files:
        name = "<stdin>" if f == "-" else f
        names.append(name)
        try:
            if f == "-":
                data = sys.stdin.buffer.read()
            else:
                with open(f, "rb") as fh:
                    data = fh.read()
        except OSError as e:
            die("cannot read %s: %s" % (f, e))
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()  # text after the last \n is a line only if non-empty
        for ln, line in enumerate(lines, 1):
            if line.endswith(b"\r"):
                line = line[:-1]  # CHOICE 2
            if all(b in b" \t\r" for b in line):
                blank += 1
                continue
            obj, reason = parse_line(line)
            if obj is None:
                malformed += 1
                err.append("%s:%d: %s" % (name, ln, reason))
                continue
            user = first(obj, USER_KEYS, user_val)
            if user is None:
                user = "-"
            outcome = first(obj, OUTCOME_KEYS, nonempty_str)
            success = bool_val(obj.get("success"))
            status = first(obj, STATUS_KEYS, status_val)
            if outcome is None and success is None and status is None:
                failure = user in unknown
            else:
                failure = ((outcome is not None and outcome.lower() in FAIL_WORDS)
                           or success is False
                           or (status is not None and status >= 400))
            ip = first(obj, IP_KEYS, nonempty_str)
            records.append({
                "seq": seq,
                "ts": first(obj, TS_KEYS, parse_ts),
                "user": user,
                "event": event_name(obj),
                "failure": failure,
                "ip": ip if ip is not None else "-",
            })
            seq += 1
    for e in err:
        sys.stderr.write(e + "\n")

    timed = [r["ts"] for r in records if r["ts"] is not None]
    summary = {
        "files": names,
        "records": len(records),
        "malformed": malformed,
        "blank": blank,
        "untimed": len(records) - len(timed),
        "first": fmt_ts(min(timed)) if timed else None,
        "last": fmt_ts(max(timed)) if timed else None,
    }

    users, events = {}, {}
    for r in records:
        u = users.setdefault(r["user"], {"total": 0, "failures": 0, "ts": [], "ev": set()})
        u["total"] += 1
        u["failures"] += r["failure"]
        if r["ts"] is not None:
            u["ts"].append(r["ts"])
        u["ev"].add(r["event"])
        e = events.setdefault(r["event"], {"total": 0, "failures": 0, "us": set()})
        e["total"] += 1
        e["failures"] += r["failure"]
        e["us"].add(r["user"])
    users_out = [{
        "user": n, "total": u["total"], "failures": u["failures"],
        "first_seen": fmt_ts(min(u["ts"])) if u["ts"] else None,
        "last_seen": fmt_ts(max(u["ts"])) if u["ts"] else None,
        "events": len(u["ev"]),
    } for n, u in sorted(users.items(), key=lambda kv: (-kv[1]["total"], kv[0]))]
    events_out = [{
        "event": n, "total": e["total"], "failures": e["failures"],
        "users": len(e["us"]),
    } for n, e in sorted(events.items(), key=lambda kv: (-kv[1]["total"], kv[0]))]

    groups = {}
    for r in records:
        if r["failure"] and r["ts"] is not None and r["user"] in unknown:
            groups.setdefault(r["ip"], []).append(r)
    findings = []
    k = threshold
    for ip, g in groups.items():
        g.sort(key=lambda r: (r["ts"], r["seq"]))
        t = [r["ts"] for r in g]
        incidents = []
        for j in range(len(g) - k + 1):
            if t[j + k - 1] - t[j] <= window:
                if incidents and j <= incidents[-1][1]:
                    incidents[-1][1] = j + k - 1
                else:
                    incidents.append([j, j + k - 1])
        for s, e in incidents:
            counts = {}
            for r in g[s:e + 1]:
                counts[r["event"]] = counts.get(r["event"], 0) + 1
            findings.append((t[s], ip, {
                "rule": "unknown_user_burst",
                "severity": "high",
                "ip": ip,
                "count": e - s + 1,
                "first": fmt_ts(t[s]),
                "last": fmt_ts(t[e]),
                "targets": [{"event": n, "count": c} for n, c in
                            sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))],
            }))
    findings.sort(key=lambda x: (x[0], x[1]))  # CHOICE 10

    doc = {
        "schema_version": 1,
        "summary": summary,
        "users": users_out,
        "events": events_out,
        "findings": [f[2] for f in findings],
    }
    sys.stdout.buffer.write((json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


if __name__ == "__main__":
    main(sys.argv[1:])
