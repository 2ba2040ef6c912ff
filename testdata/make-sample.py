#!/usr/bin/env python3
"""Generate testdata/sample.jsonl: a deterministic, realistic JSON-lines log of
the "orders" API of a small shop (JWT protected), 2023-09-22 08:00-11:00 UTC.

Stdlib only; fixed seed, so running it twice writes the same bytes.
Planted incidents are documented in testdata/SAMPLE.md.

    python3 testdata/make-sample.py            # writes testdata/sample.jsonl
    python3 testdata/make-sample.py -o FILE    # writes FILE ("-" for stdout)
"""

import calendar
import datetime as dt
import json
import os
import random
import sys
import uuid

SEED = 20230922
rng = random.Random(SEED)

T0 = calendar.timegm((2023, 9, 22, 8, 0, 0)) * 1000  # epoch ms, 08:00:00Z
T_END = T0 + 3 * 3600 * 1000  # 11:00:00Z
UTC = dt.timezone.utc
CEST = dt.timezone(dt.timedelta(hours=2))


def at(hh, mm, ss=0, ms=0):
    """Epoch milliseconds for 2023-09-22 hh:mm:ss.ms UTC."""
    return T0 + (((hh - 8) * 60 + mm) * 60 + ss) * 1000 + ms


def new_uuid():
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def new_request_id():
    return "%016x" % rng.getrandbits(64)


# ---------------------------------------------------------------- timestamps
def fmt_rfc3339(ms, tz=UTC, sep="T"):
    sec, frac = divmod(ms, 1000)
    d = dt.datetime.fromtimestamp(sec, tz)
    suffix = "Z" if tz is UTC else d.strftime("%z")[:3] + ":" + d.strftime("%z")[3:]
    return d.strftime("%Y-%m-%d" + sep + "%H:%M:%S") + ".%03d" % frac + suffix


def ts_field(ms, form):
    """Return (key, value) for a timestamp in the given form."""
    if form == "z":
        return "timestamp", fmt_rfc3339(ms)
    if form == "offset":
        return "timestamp", fmt_rfc3339(ms, CEST)
    if form == "space":
        return "timestamp", fmt_rfc3339(ms, sep=" ")
    if form == "ts_z":
        return "ts", fmt_rfc3339(ms)
    if form == "ts_float":
        return "ts", ms / 1000
    if form == "ts_ms":
        return "ts", ms
    if form == "ts_s":
        return "ts", ms // 1000
    raise ValueError(form)


def pick(weighted):
    r = rng.random()
    acc = 0.0
    for value, w in weighted:
        acc += w
        if r < acc:
            return value
    return weighted[-1][0]


ACCESS_FORMS = [("z", 0.88), ("offset", 0.04), ("space", 0.04), ("ts_float", 0.04)]
AUDIT_FORMS = [("ts_z", 0.45), ("ts_float", 0.25), ("ts_ms", 0.18),
               ("ts_s", 0.06), ("offset", 0.06)]

# ---------------------------------------------------------------- records
records = []  # (time_ms, seq, line)
_seq = [0]


def emit(ms, obj_or_line):
    line = obj_or_line if isinstance(obj_or_line, str) else json.dumps(obj_or_line)
    assert len(line.encode()) <= 400, line
    records.append((ms, _seq[0], line))
    _seq[0] += 1


def access(ms, method, path, status, user, ip, dur=None, rid=None, form=None):
    if form is None:
        form = pick(ACCESS_FORMS)
    if dur is None:
        dur = rng.randint(3, 40)
    key, val = ts_field(ms, form)
    level = "info" if status < 400 else ("warn" if status < 500 else "error")
    rec = {key: val, "level": level, "kind": "access", "method": method,
           "path": path, "status": status}
    if user is not None:
        rec["user_id"] = user
    rec["ip"] = ip
    rec["duration_ms"] = dur
    rec["request_id"] = rid or new_request_id()
    emit(ms, rec)
    return rec["request_id"]


def audit(ms, event, user, ip, outcome, rid=None, form=None, **extra):
    if form is None:
        form = pick(AUDIT_FORMS)
    key, val = ts_field(ms, form)
    rec = {key: val, "level": "info" if outcome == "success" else "warn",
           "kind": "audit", "event_type": event, "user_id": user,
           "client_ip": ip, "outcome": outcome}
    rec.update(extra)
    rec["request_id"] = rid or new_request_id()
    emit(ms, rec)
    return rec["request_id"]


# ---------------------------------------------------------------- population
USERS = {  # user_id -> home ip
    "alice": "203.0.113.10",
    "bob": "203.0.113.24",
    "carol": "198.51.100.14",
    "dave": "198.51.100.31",
    "erin": "192.0.2.45",
    "frank": "192.0.2.60",
    "grace": "203.0.113.52",
    "heidi": "198.51.100.77",
    4021: "192.0.2.81",  # legacy account with a numeric id
    "mallory": "192.0.2.150",
}
UUIDS = {u: new_uuid() for u in USERS}
LB_IP = "10.0.0.5"          # load-balancer health checks
BILLING_IP = "10.0.4.21"    # svc-billing
REPORTS_IP = "10.0.4.22"    # svc-reports

existing_orders = list(range(1001, 1180))
next_order = [1180]
UNKNOWN = "unknown_user"


def jitter(ms, spread=1500):
    return ms + rng.randint(0, spread)


# ---------------------------------------------------------------- normal traffic
def login(user, ip, ms, form=None):
    rid = new_request_id()
    access(ms, "POST", "/api/login", 200, None, ip, rng.randint(60, 140), rid)
    audit(ms + rng.randint(1, 30), "auth.login", user, ip, "success", rid, form,
          method="password")


def refresh(user, ip, ms):
    rid = new_request_id()
    access(ms, "POST", "/api/auth/refresh", 200, user, ip, rng.randint(4, 15), rid)
    audit(ms + rng.randint(1, 20), "auth.token.refresh", user, ip, "success", rid)


def action(user, ip, ms, kind):
    if kind == "list":
        q = rng.choice(["?page=1", "?status=open", "?status=open&page=2",
                        "?page=1&limit=20", "?sort=-created_at", ""])
        access(ms, "GET", "/api/orders" + q, 200, user, ip, rng.randint(15, 80))
    elif kind == "view":
        oid = rng.choice(existing_orders)
        q = rng.choice(["?expand=items", "", "?expand=items,customer"])
        access(ms, "GET", "/api/orders/%d%s" % (oid, q), 200, user, ip)
        if rng.random() < 0.35:
            access(ms + rng.randint(120, 900), "GET", "/api/orders/%d/items" % oid,
                   200, user, ip)
    elif kind == "missing":
        oid = rng.choice([999, 10042, 1800 + rng.randint(0, 99)])
        access(ms, "GET", "/api/orders/%d" % oid, 404, user, ip, rng.randint(2, 9))
    elif kind == "create":
        oid = next_order[0]
        next_order[0] += 1
        existing_orders.append(oid)
        rid = access(ms, "POST", "/api/orders", 201, user, ip, rng.randint(25, 120))
        audit(ms + rng.randint(2, 40), "order.create", user, ip, "success", rid,
              order_id=oid, total_cents=rng.randint(8, 400) * 50)
        for i in range(rng.randint(0, 2)):
            access(ms + 700 + i * rng.randint(400, 2500), "POST",
                   "/api/orders/%d/items" % oid, 201, user, ip, rng.randint(15, 60))
    elif kind == "delete":
        oid = rng.choice(existing_orders[-40:])
        existing_orders.remove(oid)
        rid = access(ms, "DELETE", "/api/orders/%d" % oid, 204, user, ip,
                     rng.randint(10, 40))
        audit(ms + rng.randint(2, 40), "order.delete", user, ip, "success", rid,
              order_id=oid)
    elif kind == "profile":
        access(ms, "GET", "/api/users/%s" % UUIDS[user], 200, user, ip)
    else:
        raise ValueError(kind)


ACTIONS = [("list", 0.26), ("view", 0.35), ("create", 0.18), ("profile", 0.08),
           ("missing", 0.08), ("delete", 0.05)]

# (user, first login, last activity, number of actions)
SESSIONS = [
    ("alice", at(8, 3, 12), at(10, 55), 16),
    ("bob", at(8, 7, 40), at(9, 35), 10),
    ("carol", at(8, 11, 5), at(10, 50), 14),
    ("dave", at(8, 19, 30), at(10, 40), 13),
    ("erin", at(8, 33, 41), at(10, 30), 12),
    ("frank", at(8, 48, 2), at(10, 58), 12),
    ("grace", at(9, 2, 15), at(10, 45), 13),
    ("heidi", at(8, 25, 50), at(10, 12), 9),
    (4021, at(9, 20, 9), at(10, 20), 9),
    ("mallory", at(9, 55, 10), at(10, 2, 30), 4),
]

for user, start, end, n in SESSIONS:
    ip = USERS[user]
    start += rng.randint(0, 999)
    if user == "grace":
        # benign typo: one failed login, then success 20 s later
        rid = new_request_id()
        access(start - 21000, "POST", "/api/login", 401, None, ip, 95, rid)
        audit(start - 20985, "auth.login", user, ip, "failure", rid,
              method="password", reason="invalid_password")
    login(user, ip, start)
    times = sorted(rng.randint(start + 5000, end) for _ in range(n))
    for t in times:
        action(user, ip, t, pick(ACTIONS))
    # token refresh every ~20-28 min while active (access token TTL 30 min)
    t = start + rng.randint(20, 28) * 60000 + rng.randint(0, 59999)
    while t < end:
        refresh(user, ip, t)
        t += rng.randint(20, 28) * 60000 + rng.randint(0, 59999)

# carol: second benign failed login later in the day (typo), then success
rid = new_request_id()
access(at(10, 5, 33, 410), "POST", "/api/login", 401, None, USERS["carol"], 101, rid)
audit(at(10, 5, 33, 425), "auth.login", "carol", USERS["carol"], "failure", rid,
      method="password", reason="invalid_password")
login("carol", USERS["carol"], at(10, 5, 52, 77))

# heidi (admin) promotes dave, and exports a report
rid = access(at(9, 44, 18, 300), "PUT", "/api/users/%s/role" % UUIDS["dave"], 200,
             "heidi", USERS["heidi"], 22)
audit(at(9, 44, 18, 320), "user.role.change", "heidi", USERS["heidi"], "success",
      rid, form="ts_z", target_user="dave", old_role="staff", new_role="manager")
rid = access(at(10, 14, 2, 90), "GET", "/api/reports/daily?date=2023-09-21&format=csv",
             200, "heidi", USERS["heidi"], 840)
audit(at(10, 14, 2, 950), "report.export", "heidi", USERS["heidi"], "success", rid,
      report="daily", date="2023-09-21", rows=412)

# benign 403s: dave tries the reports page before his promotion, grace tries delete
access(at(9, 12, 48, 640), "GET", "/api/reports/daily", 403, "dave", USERS["dave"], 4)
access(at(10, 37, 2, 15), "DELETE", "/api/orders/1033", 403, "grace",
       USERS["grace"], 5)

# health checks from the load balancer, every ~10 min
t = at(8, 0, 1, 123)
while t < T_END:
    access(t, "GET", "/health", 200, None, LB_IP, rng.randint(0, 2))
    t += rng.randint(540000, 660000)

# svc-billing polls paid orders every ~15 min, refreshes its token hourly
login("svc-billing", BILLING_IP, at(8, 0, 4, 500), form="ts_z")
t = at(8, 1, 0, 377)
while t < T_END:
    access(t, "GET", "/api/orders?status=paid&page=1&limit=100", 200,
           "svc-billing", BILLING_IP, rng.randint(30, 90))
    if rng.random() < 0.4:
        access(t + rng.randint(200, 600), "GET",
               "/api/orders?status=paid&page=2&limit=100", 200, "svc-billing",
               BILLING_IP, rng.randint(20, 70))
    t += rng.randint(840000, 960000)
for hh, mm in ((8, 29), (8, 58), (9, 27), (9, 56), (10, 25), (10, 54)):
    refresh("svc-billing", BILLING_IP, at(hh, mm, rng.randint(5, 40), rng.randint(0, 999)))

# svc-reports: daily export at 09:00 (ok); at 10:00 first try 500s, retry ok
login("svc-reports", REPORTS_IP, at(8, 59, 58, 10), form="ts_z")
for ms, status in ((at(9, 0, 0, 200), 200), (at(10, 0, 1, 480), 500),
                   (at(10, 1, 2, 30), 200)):
    rid = access(ms, "GET", "/api/reports/daily?date=2023-09-21&format=csv", status,
                 "svc-reports", REPORTS_IP,
                 rng.randint(900, 2500) if status == 200 else 30000)
    if status == 200:
        audit(ms + rng.randint(900, 2500), "report.export", "svc-reports",
              REPORTS_IP, "success", rid, report="daily", date="2023-09-21",
              rows=412)

# a 500 on POST /api/orders for frank, with the worker panic logged as plain text
access(at(10, 33, 17, 802), "POST", "/api/orders", 500, "frank", USERS["frank"], 3)

# ---------------------------------------------------------------- incidents
# (1) burst A: 45.80.235.53, forged tokens, 14 failures in < 3 min
BURST_A = "45.80.235.53"
paths_a = [("GET", "/api/orders"), ("GET", "/api/orders?page=1&limit=500"),
           ("GET", "/api/orders/1001"), ("GET", "/api/orders/1002?expand=items"),
           ("GET", "/api/users/%s" % UUIDS["alice"]), ("GET", "/api/reports/daily"),
           ("DELETE", "/api/orders/1050"), ("POST", "/api/orders"),
           ("GET", "/api/orders/1003/items"), ("GET", "/api/users/%s" % UUIDS["bob"]),
           ("GET", "/api/reports/daily?date=2023-09-21&format=csv"),
           ("GET", "/api/orders/1004")]
t = at(9, 12, 4, 310)
for i in range(14):
    if i in (5, 11):  # two of them logged by the auth middleware's audit hook
        audit(t, "auth.token.invalid", UNKNOWN, BURST_A, "failure",
              form="ts_float" if i == 5 else "ts_ms",
              reason="signature_invalid", alg="HS256")
    else:
        m, p = paths_a[i if i < 5 else (i - 1 if i < 11 else i - 2)]
        access(t, m, p, 401, UNKNOWN, BURST_A, rng.randint(1, 4))
    t += rng.randint(8000, 13500)

# (2) burst B: 185.220.101.7, 7 failures within 8 min, mixed timestamp forms
BURST_B = "185.220.101.7"
plan_b = [
    (at(10, 21, 10, 45), "access", "offset", ("GET", "/api/orders/1042")),
    (at(10, 22, 31, 900), "audit", "ts_ms", None),
    (at(10, 23, 44, 12), "access", "z", ("GET", "/api/users/%s" % UUIDS["carol"])),
    (at(10, 25, 2, 600), "access", "offset", ("GET", "/api/orders?page=1")),
    (at(10, 26, 20, 333), "audit", "ts_float", None),
    (at(10, 27, 35, 70), "access", "space", ("POST", "/api/orders")),
    (at(10, 28, 49, 501), "audit", "ts_z", None),
]
for ms, kind, form, mp in plan_b:
    if kind == "access":
        access(ms, mp[0], mp[1], 401, UNKNOWN, BURST_B, rng.randint(1, 4), form=form)
    else:
        audit(ms, "auth.token.invalid", UNKNOWN, BURST_B, "failure", form=form,
              reason="token_expired")

# (3) not a burst: 198.51.100.200, 4 failures within 10 min
for ms, p in [(at(8, 41, 0, 250), "/api/orders"),
              (at(8, 43, 31, 777), "/api/orders/1010"),
              (at(8, 46, 12, 404), "/api/orders?status=open"),
              (at(8, 50, 20, 9), "/api/orders/1011/items")]:
    access(ms, "GET", p, 401, UNKNOWN, "198.51.100.200", rng.randint(1, 4))

# (4) not a burst: 203.0.113.200, 6 failures spread over ~2 h (gaps >= 20 min)
for ms, kind, form in [(at(8, 22, 3, 111), "access", "z"),
                       (at(8, 44, 40, 512), "audit", "ts_float"),
                       (at(9, 7, 15, 0), "access", "z"),
                       (at(9, 31, 58, 730), "access", "offset"),
                       (at(9, 58, 2, 46), "audit", "ts_ms"),
                       (at(10, 19, 44, 880), "access", "z")]:
    if kind == "access":
        access(ms, "GET", "/api/orders?page=1", 401, UNKNOWN, "203.0.113.200",
               rng.randint(1, 4), form=form)
    else:
        audit(ms, "auth.token.invalid", UNKNOWN, "203.0.113.200", "failure",
              form=form, reason="token_expired")

# (5) lone failures: real browsers with expired tokens, who then log in again
access(at(8, 33, 12, 640), "GET", "/api/orders?status=open", 401, UNKNOWN,
       USERS["erin"], 2, form="z")            # erin logs in at 08:33:41
audit(at(10, 47, 5, 205), "auth.token.invalid", UNKNOWN, USERS["heidi"], "failure",
      form="ts_z", reason="token_expired")
login("heidi", USERS["heidi"], at(10, 47, 30, 818))

# (6) brute force on bob from two ips, then a successful login (compromise)
BF1, BF2 = "198.51.100.201", "198.51.100.202"
t = at(9, 40, 5, 150)
bf_ips = [BF1, BF1, BF2, BF1, BF2, BF1, BF1, BF2, BF1, BF2, BF1, BF2]
for ip in bf_ips:
    rid = access(t, "POST", "/api/login", 401, None, ip, rng.randint(80, 130))
    audit(t + rng.randint(5, 30), "auth.login", "bob", ip, "failure", rid,
          method="password", reason="invalid_password")
    t += rng.randint(30000, 48000)
login("bob", BF1, at(9, 52, 31, 404), form="ts_z")
access(at(9, 52, 40, 9), "GET", "/api/users/%s" % UUIDS["bob"], 200, "bob", BF1, 7)
access(at(9, 53, 2, 611), "GET", "/api/orders?page=1&limit=100", 200, "bob", BF1, 58)

# (7) password spray from one ip, 5 distinct users, one try each over ~1 h
SPRAY = "192.0.2.222"
for ms, user in [(at(8, 14, 22, 90), "alice"), (at(8, 27, 51, 300), "carol"),
                 (at(8, 43, 9, 870), "dave"), (at(8, 56, 40, 15), "erin"),
                 (at(9, 11, 18, 442), "frank")]:
    rid = access(ms, "POST", "/api/login", 401, None, SPRAY, rng.randint(80, 130))
    audit(ms + rng.randint(5, 30), "auth.login", user, SPRAY, "failure", rid,
          method="password", reason="invalid_password")

# (8) mallory (authenticated) probes for privileges: 11 x 403 in < 9 min
MAL = USERS["mallory"]
probe = [("GET", "/api/reports/daily", None),
         ("GET", "/api/users/%s" % UUIDS["alice"], None),
         ("GET", "/api/users/%s" % UUIDS["bob"], None),
         ("DELETE", "/api/orders/1042", None),
         ("PUT", "/api/users/%s/role" % UUIDS["mallory"], "role"),
         ("GET", "/api/admin/users", None),
         ("GET", "/api/reports/daily?date=2023-09-21&format=csv", "export"),
         ("GET", "/api/orders?user=all", None),
         ("POST", "/api/orders/1077/items", None),
         ("GET", "/api/orders/1042?expand=items", None),
         ("GET", "/api/admin/config", None)]
t = at(10, 3, 20, 520)
for m, p, ev in probe:
    rid = access(t, m, p, 403, "mallory", MAL, rng.randint(2, 8))
    if ev == "role":
        audit(t + 12, "user.role.change", "mallory", MAL, "denied", rid,
              form="ts_z", target_user="mallory", new_role="admin")
    elif ev == "export":
        audit(t + 9, "report.export", "mallory", MAL, "denied", rid,
              form="ts_float", report="daily", date="2023-09-21")
    t += rng.randint(35000, 55000)

# ---------------------------------------------------------------- malformed
truncated = json.dumps({"timestamp": fmt_rfc3339(at(8, 52, 7, 318)), "level": "info",
                        "kind": "access", "method": "GET",
                        "path": "/api/orders/1097?expand=items", "status": 200,
                        "user_id": "carol", "ip": USERS["carol"],
                        "duration_ms": 11, "request_id": new_request_id()})
emit(at(8, 52, 7, 318), truncated[:101])
emit(at(9, 5, 40, 0), {"level": "info", "kind": "access", "method": "GET",
                       "path": "/api/orders/1103", "status": 200, "user_id": "frank",
                       "ip": USERS["frank"], "duration_ms": 9,
                       "request_id": new_request_id()})
emit(at(9, 30, 0, 5), json.dumps(["metrics", {"open_conns": 14, "goroutines": 87,
                                              "heap_mb": 41.5}]))
emit(at(10, 0, 0, 0), "")
emit(at(10, 33, 17, 803), "panic: runtime error: invalid memory address or nil "
     "pointer dereference [signal SIGSEGV: segmentation violation code=0x1 "
     "addr=0x18 pc=0x6f2b1c]")

# ---------------------------------------------------------------- output
for ms, _, _ in records:
    assert T0 <= ms < T_END, ms
records.sort(key=lambda r: (r[0], r[1]))
lines = [r[2] for r in records]
times = [r[0] for r in records]

# multiple workers: a few neighbouring lines (< 2.5 s apart) are written swapped
cands = [i for i in range(len(lines) - 1)
         if lines[i].startswith("{") and lines[i + 1].startswith("{")
         and 0 < times[i + 1] - times[i] < 2500]
swapped = []
for i in rng.sample(cands, 6):
    if any(abs(i - j) < 2 for j in swapped):
        continue
    swapped.append(i)
    lines[i], lines[i + 1] = lines[i + 1], lines[i]

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample.jsonl")
if len(sys.argv) == 3 and sys.argv[1] == "-o":
    out = sys.argv[2]
data = "".join(line + "\n" for line in lines)
if out == "-":
    sys.stdout.write(data)
else:
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write(data)
