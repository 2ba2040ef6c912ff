"""Run audit-analyze over many logs on a Spark cluster.

    spark-submit contrib/spark/audit_analyze_spark.py \
        's3a://bucket/logs/2026/11/*/*.jsonl.gz' --format json

prints exactly what `audit-analyze report --format json` would print on the
same files, read in sorted path order (only the file list differs in how it
names them). Spark only moves shards and partial results; every piece of
meaning stays in the audit-analyze binary:

1. The driver lists the inputs through Hadoop's FileSystem API (local
   paths, hdfs://, s3a://, ...), sorts each glob's matches by path, and
   cuts them into shards with consecutive ordinals: a file is one shard, a
   big plain local file is cut into byte ranges of --split-bytes.
2. One task per shard runs `audit-analyze report --partial` on the shard
   itself and returns the partial (a few MB of zstd bytes). A local file
   (file:, or a path mounted on every executor) is read by the binary
   directly; any other URI is streamed into it with `hadoop fs -cat`,
   which must be on the executors' PATH. No log line passes through Python.
3. The partials are reduced with treeReduce over `audit-analyze merge
   --partial`. `merge --plan` on the driver says which shards must be read
   a second time for success_after_failures; those shards are rerun with
   `--probe PLAN` and their new partials replace the first ones (the first
   pass is cached, so nothing else is read again).
4. `audit-analyze merge` renders the report on the driver, to standard
   output or -o, and this script exits with merge's exit code (0, 1 for
   --fail-on, 2 for unreadable inputs, 3 for --strict).

Options after `--` go to `report --partial` (rules, filters, formats:
`-- --rules rules.toml --since 2026-11-01 --log-format k8s-audit`); the
options before it choose the shards and the rendering. See
contrib/README.md for the binary to ship (a static musl build for
executors with an old glibc) and for recipes on other engines.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import namedtuple
from functools import reduce

# One unit of work. `name` is what the report calls the file (the URI, or
# the local path); `local` is the path to open on an executor, None when
# the file has to be streamed with `hadoop fs -cat`; `range` is (start,
# end) in bytes, or None for the whole file.
Shard = namedtuple("Shard", "ordinal name local range")

# Names read when a glob matches a directory: the same rule as `report DIR`.
LOG_NAME = re.compile(r"\.(jsonl|json|log|ndjson)(\.[0-9]+)?(\.gz|\.zst)?$")
# First bytes of the compressed formats the binary reads (gzip, zstd): such
# a file is one task, since a compressed stream cannot be entered midway.
COMPRESSED_MAGIC = (b"\x1f\x8b", b"\x28\xb5\x2f\xfd")

MERGE_USAGE = """the options before `--` are this script's; the ones after
it go to every `audit-analyze report --partial` task (rules, thresholds,
filters, formats), e.g. -- --rules rules.toml --since 2026-11-01"""


def parse_args(argv):
    ours, report_args = argv, []
    if "--" in argv:
        cut = argv.index("--")
        ours, report_args = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser(
        prog="audit_analyze_spark.py",
        description="audit-analyze report over many files, on Spark.",
        epilog=MERGE_USAGE,
    )
    p.add_argument("inputs", nargs="+", metavar="GLOB",
                   help="files, directories or globs (Hadoop syntax); "
                        "local paths, hdfs://, s3a://, ...")
    p.add_argument("--binary", default=shutil.which("audit-analyze"),
                   help="the audit-analyze binary to ship to the executors "
                        "(a local path or any URI SparkContext.addFile takes; "
                        "default: audit-analyze on PATH)")
    p.add_argument("--split-bytes", type=size, default=size("256M"),
                   help="cut plain local files bigger than this into byte "
                        "ranges of this size, one task each (default 256M; 0: "
                        "never)")
    p.add_argument("--hadoop", default="hadoop",
                   help="the hadoop command the executors stream non-local "
                        "files with (default: hadoop on PATH)")
    # Rendering: passed to the final `merge`.
    p.add_argument("--format", choices=["table", "json", "ndjson", "markdown",
                                        "csv", "html"])
    p.add_argument("--section")
    p.add_argument("--top")
    p.add_argument("--fail-on")
    p.add_argument("--strict", action="store_true")
    p.add_argument("--color")
    p.add_argument("-o", "--output",
                   help="write the report to this file on the driver instead "
                        "of standard output, or to a URI (hdfs://, s3a://, "
                        "...: for --deploy-mode cluster)")
    args = p.parse_args(ours)
    if not args.binary:
        p.error("no audit-analyze on PATH: give --binary")
    args.report_args = report_args
    return args


def size(text):
    """'268435456', '256M', '1G' -> bytes."""
    m = re.fullmatch(r"([0-9]+)([KMG]?)(i?B)?", text.strip(), re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    return int(m.group(1)) * 1024 ** " KMG".index(m.group(2).upper() or " ")


# spark-submit runs this script with its stderr merged into its stdout
# (PythonRunner), where the report goes. Messages are therefore written to
# the JVM's System.err, spark-submit's own standard error, once the
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


# ---- the driver: listing and cutting the inputs ---------------------------

def list_inputs(sc, patterns):
    """[(name, local path or None, length)]: each pattern's matches sorted
    by path, patterns in the order given, a file listed twice kept once."""
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
                matches.append((uri.getPath(), uri.getPath(), st.getLen()))
            else:
                matches.append((st.getPath().toString(), None, st.getLen()))
        # Sorted per pattern, as a shell sorts each glob it expands.
        for name, local, length in sorted(matches):
            if name not in seen:
                seen.add(name)
                files.append((name, local, length))
    return files


def cut_shards(files, split_bytes):
    """Shards in input order with consecutive ordinals; a big plain local
    file becomes ranges [0, s), [s, 2s), ... whose ordinals increase with
    the offset."""
    shards = []
    for name, local, length in files:
        if local and split_bytes and length > split_bytes and is_plain(local):
            for start in range(0, length, split_bytes):
                end = min(start + split_bytes, length)
                shards.append(Shard(len(shards), name, local, (start, end)))
        else:
            shards.append(Shard(len(shards), name, local, None))
    return shards


def is_plain(path):
    """Not gzip or zstd, whatever the file is called (the binary detects
    compression by these bytes too, and refuses --range on it)."""
    with open(path, "rb") as f:
        head = f.read(4)
    return not head.startswith(COMPRESSED_MAGIC)


# ---- the tasks: run the binary on one shard, merge partials --------------

def binary_path(name):
    """The shipped binary on this executor (or the driver), executable."""
    from pyspark import SparkFiles
    path = SparkFiles.get(name)
    if not os.access(path, os.X_OK):
        os.chmod(path, 0o755)
    return path


def run_report(shard, binary, report_args, hadoop, plan=None):
    """(ordinal, partial bytes) for one shard; `plan` (text) makes it the
    probe pass of that shard."""
    exe = binary_path(binary)
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
            proc = subprocess.run(cmd + ["--", shard.local],
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
            cat_rc, cat_err = 0, b""
        else:
            # Not on a local filesystem: stream it into the binary's stdin,
            # under its own name. `hadoop fs -cat` hands over the bytes as
            # stored (a .gz stays compressed; the binary decompresses it).
            if not shutil.which(hadoop):
                raise RuntimeError(
                    f"{shard.name}: not a local file, and no `{hadoop}` on "
                    f"this executor's PATH to stream it with; install the "
                    f"Hadoop client there (or give --hadoop), or mount the "
                    f"files on every executor and pass local paths")
            cat = subprocess.Popen([hadoop, "fs", "-cat", shard.name],
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
            proc = subprocess.run(cmd + ["--stdin-name", shard.name, "-"],
                                  stdin=cat.stdout,
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
            cat.stdout.close()
            cat_err = cat.stderr.read()
            cat_rc = cat.wait()
        # A failed copy would make a silently short partial: fail the task
        # (Spark retries it) rather than report on part of the file.
        if cat_rc != 0:
            raise RuntimeError(f"{hadoop} fs -cat {shard.name} exited "
                               f"{cat_rc}: {cat_err.decode(errors='replace')}")
        # 2: the input could not be read to the end; the partial records
        # it, and the final merge reports it and exits 2, as report does.
        if proc.returncode not in (0, 2):
            raise RuntimeError(f"{' '.join(cmd)} on {shard.name} exited "
                               f"{proc.returncode}: "
                               f"{proc.stderr.decode(errors='replace')}")
        with open(out, "rb") as f:
            return shard.ordinal, f.read()


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


def run_binary(binary, args):
    """Its standard output; an error naming the command if it fails."""
    proc = subprocess.run([binary_path(binary)] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"audit-analyze {' '.join(args)} exited "
                           f"{proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def reduce_partials(rdd, binary, width):
    """One partial from an RDD of (ordinal, partial): `width` tasks each
    merge their share in one `merge --partial`, then treeReduce merges
    those pairwise (the last level on the driver)."""
    def per_task(items):
        items = [data for _, data in items]
        if items:
            yield merge_partials(binary, items)
    return (rdd.coalesce(width).mapPartitions(per_task)
            .treeReduce(lambda a, b: merge_partials(binary, [a, b])))


def read_shards(sc, shards, binary, report_args, hadoop, plan=None):
    """The shards' partials, one task per shard, computed now and kept
    (memory, else local disk) so that a probe pass reads no shard twice."""
    from pyspark import StorageLevel
    rdd = (sc.parallelize(shards, len(shards))
           .map(lambda s: run_report(s, binary, report_args, hadoop,
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
        # A task's error arrives wrapped in Spark's (Py4JJavaError, with
        # the executor's Python traceback): say the reason in one line.
        # Exit 2, as report does for an input it cannot read; 1 and 3 keep
        # their meaning (--fail-on, --strict).
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
    report_args = list(args.report_args)
    if "--threads" not in report_args:
        # One task per core Spark gives it: no oversubscription.
        report_args += ["--threads", sc.getConf().get("spark.task.cpus", "1")]
    hadoop = args.hadoop

    files = list_inputs(sc, args.inputs)
    shards = cut_shards(files, args.split_bytes)
    total = sum(length for _, _, length in files)
    stage(f"{len(files)} files, {total / 1e6:.1f} MB, {len(shards)} shards")

    width = max(1, min(len(shards), sc.defaultParallelism))
    first = read_shards(sc, shards, binary, report_args, hadoop)
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
            # success_after_failures: read again the shards active in the
            # candidate windows, with the plan; their new partials replace
            # their first ones.
            by_ordinal = {s.ordinal: s for s in shards}
            again = [by_ordinal[p["ordinal"]] for p in probe]
            redo = set(s.ordinal for s in again)
            second = read_shards(sc, again, binary, report_args, hadoop,
                                 sc.broadcast(plan_text))
            kept = first.filter(lambda kv: kv[0] not in redo)
            merged = reduce_partials(kept.union(second), binary, width)
            with open(merged_file, "wb") as f:
                f.write(merged)
            stage(f"pass 2 (probe): {len(again)} shards read again")
        else:
            stage("pass 2 (probe): not needed")

        rc = render(sc, binary, args, merged_file, tmp)
    stage(f"report written (merge exited {rc})")
    return rc


def render(sc, binary, args, merged_file, tmp):
    """The final `merge` on the driver: to stdout, a local -o, or (-o with
    a scheme, for cluster deploy mode) a file copied there through Hadoop
    FS. Returns merge's exit code."""
    cmd = [binary_path(binary), "merge"]
    for opt, flag in (("format", "--format"), ("section", "--section"),
                      ("top", "--top"), ("fail_on", "--fail-on"),
                      ("color", "--color")):
        value = getattr(args, opt)
        if value is not None:
            cmd += [flag, value]
    if args.strict:
        cmd.append("--strict")
    remote = args.output and re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://", args.output)
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
