#!/usr/bin/env python3
"""Cross-checks audit-analyze against reference.py, an independent reading of
issue 2's rules (the generic format and unknown_user_burst) written from the
issue text by someone who never saw the Rust code.

For every folder in testdata/cases whose args ask for `report --format json`
of generic-format input, it runs reference.py on the same files and compares
what both must agree on: the summary counts and time span, every user and
event row, and the unknown_user_burst findings (without severity, which
issue 4 raised to critical for fast bursts). Later additions (ips, timeline,
rules, per-file objects in summary.files) are not compared.

    python3 tools/reference/check.py       # prints one line per case; exit 1 on a difference
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFERENCE = os.path.join(ROOT, "tools", "reference", "reference.py")
CASES = os.path.join(ROOT, "testdata", "cases")
# Cases of issue 3's input and value rules (containers, directories,
# compression, value streams, ip and user placeholders), which issue 2 and
# so the reference do not have.
ISSUE_3 = {"containers", "directory", "truncated-gzip", "value-ips", "value-users", "value-stream"}
# Options the reference does not know: cases using them are not compared.
UNKNOWN = {"--rules", "--disable", "--since", "--until", "--user", "--event", "--ip",
           "--failed", "--bucket", "--log-format", "--log-format-file", "--field",
           "--ip-list", "--fail-on", "--section", "--top", "--threads", "--max-line-bytes"}


def main():
    differences = 0
    for name in sorted(os.listdir(CASES)):
        case = os.path.join(CASES, name)
        args_path = os.path.join(case, "args")
        expected_path = os.path.join(case, "expected.stdout")
        if name in ISSUE_3 or not os.path.isfile(args_path) or not os.path.isfile(expected_path):
            continue
        args = [a for a in open(args_path).read().split("\n") if a]
        if args[:1] != ["report"] or "--format" not in args or args[args.index("--format") + 1] != "json":
            continue
        if any(a in UNKNOWN for a in args):
            continue
        rest = args[1:]
        i = rest.index("--format")
        del rest[i:i + 2]
        if "--strict" in rest:
            rest.remove("--strict")
        ours = json.load(open(expected_path))
        if any(f.get("format") not in (None, "generic") for f in ours["summary"]["files"]):
            continue
        run = subprocess.run([sys.executable, REFERENCE] + rest, cwd=case, capture_output=True, text=True)
        try:
            ref = json.loads(run.stdout)
        except ValueError:
            print(f"{name}: the reference failed: {run.stderr.strip()[:300]}")
            differences += 1
            continue
        same = True
        for key in ["records", "malformed", "blank", "untimed", "first", "last"]:
            if ours["summary"][key] != ref["summary"][key]:
                print(f"{name}: summary.{key}: ours {ours['summary'][key]!r}, reference {ref['summary'][key]!r}")
                same = False
        for key in ["users", "events"]:
            if ours[key] != ref[key]:
                print(f"{name}: {key} differ")
                same = False
        strip = lambda fs: [{k: v for k, v in f.items() if k not in ("severity", "user", "ips")} for f in fs]
        burst = [f for f in ours["findings"] if f["rule"] == "unknown_user_burst"]
        if strip(burst) != strip(ref["findings"]):
            print(f"{name}: unknown_user_burst findings differ")
            same = False
        print(f"{name}: {'same' if same else 'DIFFERENT'}")
        differences += not same
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
