"""Run audit-analyze over many logs on a Spark cluster.

    spark-submit contrib/spark/audit_analyze_spark.py \
        's3a://bucket/logs/2026/11/*/*.jsonl.gz' --format json

prints exactly what `audit-analyze report --format json` prints on the same
files in the same order (each glob's matches sorted by path); only the file
list names them differently (full URIs, absolute paths). Spark only moves
shards and partial results; every piece of meaning stays in the binary:

1. The driver lists the inputs through Hadoop's FileSystem API (local
   paths, hdfs://, s3a://, ...) and cuts them into shards with consecutive
   ordinals: a big plain local file is cut into byte ranges of
   --split-bytes, small local files are packed together up to that size,
   and any other file is a shard of its own.
2. One task per shard runs `audit-analyze report --partial` on the shard
   itself and returns the partial (zstd bytes, a few MB at most). A local
   file (file:, or a path mounted on every executor) is read by the binary
   directly; any other URI is streamed into its standard input by `hadoop
   fs -cat` (--cat), which must work on the executors. No log line passes
   through Python.
3. The partials are reduced with treeReduce over `audit-analyze merge
   --partial`. `merge --plan` on the driver says which shards must be read
   again for success_after_failures; they are, with `--probe PLAN`, and
   their new partials replace their first ones (the first pass is cached:
   nothing else is read twice). A quiet log needs no second pass.
4. `audit-analyze merge` renders the report on the driver, to standard
   output or -o, and the script exits with merge's exit code: 0, 1 for
   --fail-on, 2 for inputs that could not be read (or a failed job), 3 for
   --strict.

Options after `--` go to every `report --partial` (rules, filters, formats:
`-- --rules rules.toml --log-format k8s-audit`; a relative --since needs
--anchor). The options before it choose the shards and the rendering.
contrib/README.md says which binary to ship (a static musl build for
executors with an old glibc) and how to do the same on other engines.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import namedtuple

# One unit of work. `names`: the files, as the report will name them (local
# paths, or one URI); `local`: whether the executor opens them itself, or
# streams the one URI with --cat; `range`: (start, end) bytes of the one
# file, or None for whole files.
Shard = namedtuple("Shard", "ordinal names local range")

# Names read when a glob matches a directory: the same rule as `report DIR`.
LOG_NAME = re.compile(r"\.(jsonl|json|log|ndjson)(\.[0-9]+)?(\.gz|\.zst)?$")
# gzip and zstd, recognised by their first bytes as the binary does.
COMPRESSED_MAGIC = (b"\x1f\x8b", b"\x28\xb5\x2f\xfd")
# Packing small files: at most this many in one shard (command-line length).
MAX_FILES_PER_SHARD = 500

EPILOG = """The options after `--` go to every `audit-analyze report --partial`
task (rules, thresholds, filters, formats), e.g. -- --rules rules.toml
--log-format k8s-audit. Exit code: merge's (0, 1 --fail-on, 2 unreadable
input or failed job, 3 --strict)."""

# spark-submit runs this script with its stderr merged into its stdout
# (PythonRunner), where the report goes. Messages therefore go to the
# JVM's System.err, spark-submit's own standard error, once the
# SparkContext is up (to Python's stderr before that).
STDERR = sys.stderr


def log(msg):
    STDERR.write(f"audit_analyze_spark: {msg}\n")
    STDERR.flush()


class JvmStderr:
    def __init__(self, sc):
        self.err = sc._jvm.java.lang.System.err

    def write(self, text):
        self.err.print(text)

    def flush(self):
        self.err.flush()


def parse_args(argv):
    ours, report_args = argv, []
    if "--" in argv:
        cut = argv.index("--")
        ours, report_args = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser(
        prog="audit_analyze_spark.py", epilog=EPILOG,
        description="audit-analyze report over many files, on Spark.")
    p.add_argument("inputs", nargs="+", metavar="GLOB",
                   help="files, directories or globs (Hadoop syntax): local "
                        "paths, hdfs://, s3a://, ...")
    p.add_argument("--binary", default=shutil.which("audit-analyze"),
                   help="the audit-analyze binary to ship to the executors: "
                        "a path or any URI SparkContext.addFile takes "
                        "(default: audit-analyze on PATH)")
    p.add_argument("--split-bytes", type=size, default=size("256M"),
                   help="cut plain local files bigger than this into byte "
                        "ranges, and pack smaller local files into shards, "
                        "of about this size (default 256M; 0: one file per "
                        "shard, never cut)")
    p.add_argument("--cat", default="hadoop fs -cat {}",
                   help="the command that writes a non-local file to stdout "
                        "on an executor, {} standing for its URI (default: "
                        "%(default)s)")
    render = p.add_argument_group("rendering (the final merge)")
    render.add_argument("--format", choices=["table", "json", "ndjson",
                                             "markdown", "csv", "html"])
    render.add_argument("--section")
    render.add_argument("--top")
    render.add_argument("--fail-on")
    render.add_argument("--strict", action="store_true")
    render.add_argument("--color")
    render.add_argument("-o", "--output",
                        help="write the report to this file on the driver, "
                             "or to a URI (hdfs://, s3a://, ...: for "
                             "--deploy-mode cluster), not standard output")
    args = p.parse_args(ours)
    if not args.binary:
        p.error("no audit-analyze on PATH: give --binary")
    if "{}" not in shlex.split(args.cat):
        p.error("--cat needs {} where the URI goes")
    args.report_args = report_args
    return args


def size(text):
    """'268435456', '256M', '1G' -> bytes."""
    m = re.fullmatch(r"([0-9]+)([KMG]?)(i?B)?", text.strip(), re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    return int(m.group(1)) * 1024 ** " KMG".index(m.group(2).upper() or " ")


# ---- the driver: listing and cutting the inputs ---------------------------

def list_inputs(sc, patterns):
    """[(name, is_local, length)]: each pattern's matches sorted by path,
    patterns in the order given, a file matched twice kept once."""
    jvm = sc._jvm
    conf = sc._jsc.hadoopConfiguration()
    files, seen = [], set()
    for pattern in patterns:
        path = jvm.org.apache.hadoop.fs.Path(pattern)
        fs = path.getFileSystem(conf)
        found = []
        for st in fs.globStatus(path) or []:
            if st.isDirectory():
                it = fs.listFiles(st.getPath(), True)
                while it.hasNext():
                    f = it.next()
                    if LOG_NAME.search(f.getPath().getName()):
                        found.append(f)
            else:
                found.append(st)
        if not found:
            raise RuntimeError(f"no file matches {pattern}")
        matches = []
        for st in found:
            uri = st.getPath().toUri()
            if uri.getScheme() == "file":
                matches.append((uri.getPath(), True, st.getLen()))
            else:
                matches.append((st.getPath().toString(), False, st.getLen()))
        # Sorted per pattern, as a shell sorts each glob it expands.
        for name, local, length in sorted(matches):
            if name not in seen:
                seen.add(name)
                files.append((name, local, length))
    return files


def cut_shards(files, split_bytes, can_split):
    """Shards in input order with consecutive ordinals. A big local file
    that `can_split` becomes ranges [0, s), [s, 2s), ... (ordinals increase
    with the offset); consecutive small local files share a shard up to
    split_bytes; a non-local file is a shard of its own."""
    shards, pack, packed = [], [], 0

    def flush():
        nonlocal pack, packed
        if pack:
            shards.append(Shard(len(shards), tuple(pack), True, None))
        pack, packed = [], 0

    for name, local, length in files:
        if local and split_bytes and (packed + length <= split_bytes
                                      and len(pack) < MAX_FILES_PER_SHARD):
            pack.append(name)
            packed += length
            continue
        flush()
        if local and split_bytes and length <= split_bytes:
            pack, packed = [name], length
        elif local and split_bytes and can_split(name):
            for start in range(0, length, split_bytes):
                end = min(start + split_bytes, length)
                shards.append(Shard(len(shards), (name,), True, (start, end)))
        else:
            shards.append(Shard(len(shards), (name,), local, None))
    flush()
    return shards


def splitter(binary, report_args):
    """can_split(path): may this file be cut into byte ranges? Only when it
    is plain JSON lines (not compressed, not a JSON array or pretty-printed
    values, no container prefix on its first line) and its format does not
    pair records (Vault's requests and responses are paired within a shard
    only). The binary itself says which format it detects. Never cutting is
    always right, only slower, so anything unsure stays whole."""
    pairs = {}

    def format_pairs(fmt):
        if fmt not in pairs:
            format_file = option_value(shipped_args(report_args),
                                       "--log-format-file")
            if format_file:
                toml = open(format_file).read()
            else:
                toml = run_binary(binary, ["formats", fmt])
            pairs[fmt] = re.search(r"^\s*\[pair\]", toml, re.M) is not None
        return pairs[fmt]

    def can_split(path):
        with open(path, "rb") as f:
            head = f.read(1 << 20)
        if head.startswith(COMPRESSED_MAGIC) or b"\n" not in head:
            return False
        head = head[:head.rindex(b"\n") + 1]
        try:
            first = json.loads(head.split(b"\n", 1)[0].decode("utf-8-sig"))
        except ValueError:
            return False
        if not isinstance(first, dict):
            return False
        detect = run_binary(binary, ["report", "--format", "json", "-q"]
                            + shipped_args(report_args)
                            + ["--stdin-name", path, "-"],
                            stdin=head, ok=(0, 1, 2, 3))
        files = json.loads(detect)["summary"]["files"]
        return bool(files) and not format_pairs(files[0]["format"])

    return can_split


# ---- the tasks: run the binary on one shard, merge partials --------------

def binary_path(name):
    """The shipped binary on this executor (or the driver), executable."""
    from pyspark import SparkFiles
    path = SparkFiles.get(name)
    if not os.access(path, os.X_OK):
        os.chmod(path, 0o755)
    return path


def run_binary(binary, args, stdin=None, ok=(0,)):
    """Its standard output (text); an error naming the command if its exit
    code is not in `ok`."""
    proc = subprocess.run([binary_path(binary)] + args, input=stdin,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode not in ok:
        raise RuntimeError(f"audit-analyze {' '.join(args)} exited "
                           f"{proc.returncode}: "
                           f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode()


# Report options naming a file: shipped with addFile, and read on each
# executor from its SparkFiles copy.
SHIPPED_OPTIONS = ("--rules", "--log-format-file")


def ship_files(sc, report_args):
    """addFile the files named by SHIPPED_OPTIONS; the arguments the tasks
    get name them by SparkFiles name (shipped_args resolves it)."""
    args = []
    for a in report_args:
        opt, eq, value = a.partition("=")
        if args and args[-1] in SHIPPED_OPTIONS or eq and opt in SHIPPED_OPTIONS:
            path = value if eq else a
            sc.addFile(path)
            a = (opt + "=" if eq else "") + "sparkfiles:" + os.path.basename(path)
        args.append(a)
    return args


def shipped_args(report_args):
    from pyspark import SparkFiles
    return [re.sub(r"^(--[a-z-]+=)?sparkfiles:(.*)$",
                   lambda m: (m[1] or "") + SparkFiles.get(m[2]), a)
            for a in report_args]


def option_value(args, opt):
    """The value of `opt` in args (`opt VALUE` or `opt=VALUE`), or None."""
    for i, a in enumerate(args):
        if a == opt and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(opt + "="):
            return a[len(opt) + 1:]
    return None


def run_report(shard, binary, report_args, cat, plan=None):
    """(ordinal, probed, partial bytes) of one shard; with `plan` (text),
    its probe pass."""
    exe = binary_path(binary)
    report_args = shipped_args(report_args)
    with tempfile.TemporaryDirectory(prefix="audit-analyze-") as tmp:
        out = os.path.join(tmp, "partial.zst")
        cmd = [exe, "report", "--partial", "--ordinal", str(shard.ordinal),
               "-o", out]
        if shard.range:
            cmd += ["--range", "%d:%d" % shard.range]
        if plan is not None:
            plan_file = os.path.join(tmp, "plan.json")
            with open(plan_file, "w") as f:
                f.write(plan)
            cmd += ["--probe", plan_file]
        cmd += report_args
        if shard.local:
            proc = subprocess.run(cmd + ["--"] + list(shard.names),
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        else:
            # Stream it into the binary under its own name. The bytes come
            # as stored (a .gz stays compressed; the binary decompresses).
            uri = shard.names[0]
            argv = [uri if a == "{}" else a for a in shlex.split(cat)]
            if not shutil.which(argv[0]):
                raise RuntimeError(
                    f"{uri} is not a local file, and `{argv[0]}` is not on "
                    f"this executor's PATH to stream it with: install the "
                    f"Hadoop client there, give --cat, or mount the files "
                    f"on every executor and pass local paths")
            # Its stderr goes to a file: a pipe left unread could fill up
            # and stall the copy.
            with open(os.path.join(tmp, "cat.err"), "w+b") as src_err:
                src = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                       stderr=src_err)
                proc = subprocess.run(cmd + ["--stdin-name", uri, "-"],
                                      stdin=src.stdout,
                                      stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE)
                src.stdout.close()
                src_rc = src.wait()
                src_err.seek(0)
                src_msg = src_err.read().decode(errors="replace").strip()
        # 2: an input could not be read to the end. The partial records it;
        # the final merge names it and exits 2, as report does.
        if proc.returncode not in (0, 2):
            raise RuntimeError(f"{' '.join(cmd)} on {' '.join(shard.names)} "
                               f"exited {proc.returncode}: "
                               f"{proc.stderr.decode(errors='replace')}")
        # A failed copy would give a silently short partial: fail the task
        # (Spark retries it) rather than report on part of a file.
        if not shard.local and src_rc != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {src_rc}: {src_msg}")
        with open(out, "rb") as f:
            return shard.ordinal, plan is not None, f.read()


def merge_partials(binary, partials):
    """One partial from several (`merge --partial`)."""
    partials = list(partials)
    if len(partials) == 1:
        return partials[0]
    with tempfile.TemporaryDirectory(prefix="audit-analyze-") as tmp:
        names = []
        for i, data in enumerate(partials):
            names.append(os.path.join(tmp, f"{i}.zst"))
            with open(names[-1], "wb") as f:
                f.write(data)
        out = os.path.join(tmp, "merged.zst")
        run_binary(binary, ["merge", "--partial", "-o", out, "--"] + names)
        with open(out, "rb") as f:
            return f.read()


def reduce_partials(rdd, binary, width, replaced=frozenset()):
    """One partial from an RDD of (ordinal, probed, partial), leaving out
    the first-pass partials of the `replaced` ordinals: `width` tasks each
    merge their share in one `merge --partial`, then treeReduce merges
    those pairwise, the last level on the driver. (The selection is made
    after coalesce: a Python filter before it would cost one Python round
    trip per shard.)"""
    def per_task(items):
        items = [data for ordinal, probed, data in items
                 if probed or ordinal not in replaced]
        if items:
            yield merge_partials(binary, items)
    return (rdd.coalesce(width).mapPartitions(per_task)
            .treeReduce(lambda a, b: merge_partials(binary, [a, b])))


def read_shards(sc, shards, binary, report_args, cat, plan=None):
    """The shards' partials, one task per shard, computed now and kept
    (memory, else local disk) so that a probe pass reads no shard twice."""
    from pyspark import StorageLevel
    rdd = (sc.parallelize(shards, len(shards))
           .map(lambda s: run_report(s, binary, report_args, cat,
                                     plan and plan.value))
           .persist(StorageLevel.MEMORY_AND_DISK))
    rdd.count()
    return rdd


# ---- the driver: the passes ----------------------------------------------

def main(argv):
    args = parse_args(argv)
    from pyspark import SparkContext
    sc = SparkContext.getOrCreate()
    sc.setLogLevel("WARN")
    global STDERR
    STDERR = JvmStderr(sc)
    try:
        return run(sc, args)
    except Exception as e:
        # A task's error arrives wrapped in Spark's (Py4JJavaError, with the
        # executor's Python traceback): say the reason in one line. Exit 2,
        # as report does for an input it cannot read; 1 and 3 keep their
        # meaning (--fail-on, --strict).
        text = str(e)
        reasons = re.findall(r"^RuntimeError: (.*)$", text, re.M)
        log("failed: " + (reasons[0] if reasons else text.strip()))
        return 2
    finally:
        sc.stop()


def run(sc, args):
    t0 = time.monotonic()

    def stage(msg):
        log(f"{time.monotonic() - t0:7.2f}s  {msg}")

    sc.addFile(args.binary)
    binary = os.path.basename(args.binary)
    report_args = ship_files(sc, args.report_args)
    if "--threads" not in report_args:
        # One task per core Spark gives it: no oversubscription.
        report_args += ["--threads", sc.getConf().get("spark.task.cpus", "1")]

    files = list_inputs(sc, args.inputs)
    shards = cut_shards(files, args.split_bytes,
                        splitter(binary, report_args))
    total = sum(length for _, _, length in files)
    stage(f"{len(files)} files, {total / 1e6:.1f} MB, {len(shards)} shards")

    width = max(1, min(len(shards), sc.defaultParallelism))
    first = read_shards(sc, shards, binary, report_args, args.cat)
    stage(f"pass 1: {len(shards)} shards read")
    merged = reduce_partials(first, binary, width)
    stage(f"pass 1: partials merged ({len(merged)} bytes)")

    with tempfile.TemporaryDirectory(prefix="audit-analyze-") as tmp:
        merged_file = os.path.join(tmp, "merged.zst")
        with open(merged_file, "wb") as f:
            f.write(merged)
        plan_text = run_binary(binary, ["merge", "--plan", "--", merged_file])
        probe = json.loads(plan_text)["probe"]
        if probe:
            # success_after_failures: read again, with the plan, the shards
            # active in the candidate windows; their new partials replace
            # their first ones.
            by_ordinal = {s.ordinal: s for s in shards}
            again = [by_ordinal[p["ordinal"]] for p in probe]
            second = read_shards(sc, again, binary, report_args, args.cat,
                                 sc.broadcast(plan_text))
            stage(f"pass 2 (probe): {len(again)} shards read again")
            replaced = frozenset(s.ordinal for s in again)
            merged = reduce_partials(first.union(second), binary, width,
                                     replaced)
            with open(merged_file, "wb") as f:
                f.write(merged)
            stage(f"pass 2 (probe): partials merged ({len(merged)} bytes)")
        else:
            stage("pass 2 (probe): not needed")
        rc = render(sc, binary, args, merged_file, tmp)
    stage(f"report written (merge exited {rc})")
    return rc


def render(sc, binary, args, merged_file, tmp):
    """The final `merge` on the driver: to stdout, to a local -o, or (-o
    with a scheme) to a file copied there through Hadoop FS. Returns
    merge's exit code."""
    cmd = [binary_path(binary), "merge"]
    for opt, flag in (("format", "--format"), ("section", "--section"),
                      ("top", "--top"), ("fail_on", "--fail-on"),
                      ("color", "--color")):
        value = getattr(args, opt)
        if value is not None:
            cmd += [flag, value]
    if args.strict:
        cmd.append("--strict")
    remote = args.output and re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://",
                                      args.output)
    if args.output:
        out = os.path.join(tmp, "report") if remote else args.output
        cmd += ["-o", out]
    sys.stdout.flush()
    proc = subprocess.run(cmd + ["--", merged_file], stderr=subprocess.PIPE)
    # merge's stderr (malformed lines, unreadable inputs) to real stderr.
    STDERR.write(proc.stderr.decode(errors="replace"))
    STDERR.flush()
    if remote and os.path.exists(out):
        jvm = sc._jvm
        dst = jvm.org.apache.hadoop.fs.Path(args.output)
        fs = dst.getFileSystem(sc._jsc.hadoopConfiguration())
        fs.copyFromLocalFile(False, True,
                             jvm.org.apache.hadoop.fs.Path("file://" + out),
                             dst)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
