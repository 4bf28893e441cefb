#!/usr/bin/env python3
"""How long `gazette build --watch` takes from a saved post to the rebuilt feeds (issue #15:
100 ms at 10,000 posts). A measuring script, not a test: it asserts nothing about time.

    cargo build --release
    python3 bench/watch_latency.py --site /tmp/gazette-bench/site-n10000-k40-s1-40dd50a16f7d \\
        [--gazette target/release/gazette] [--edits 5] [--gap 1.0]

Starts `gazette build --watch --site SITE --out TMPDIR`, waits for the first build's summary
line on standard output, then --edits times: appends a distinct sentence to the body of the
newest post in `_posts/` (the last name: YYYY-MM-DD-...), saved in place as most editors do
(truncate, write, close), notes the time the save was done, and waits for the summary line of
the rebuild; then checks that TMPDIR/feed.atom.xml holds the sentence (when it does not, the
next build's line is waited for and counted instead, and the edit is marked). Prints the
save-to-summary-line time of each edit and their median, and the machine's load average
before and after (other work on the machine shows in the numbers).

Between edits the watcher is left quiet for --gap seconds, so that each edit is measured from
an idle watcher. At the end gazette is stopped, the post is put back as it was (its bytes and
its modification time) and TMPDIR is removed; gazette's cache in SITE/.gazette is left updated.
"""

import argparse
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SUMMARY = " feeds from "


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site", required=True, type=Path, help="a generated corpus (gen_corpus.py)")
    ap.add_argument("--gazette", type=Path, default=REPO / "target" / "release" / "gazette")
    ap.add_argument("--edits", type=int, default=5)
    ap.add_argument("--gap", type=float, default=1.0, help="quiet seconds before each edit")
    ap.add_argument("--first-build-limit", type=float, default=600.0,
                    help="seconds to wait for the first build (a hang guard)")
    ap.add_argument("--rebuild-limit", type=float, default=60.0,
                    help="seconds to wait for a rebuild (a hang guard)")
    args = ap.parse_args()

    site = args.site.resolve()
    posts = site / "_posts"
    if not posts.is_dir():
        sys.exit("%s has no _posts folder" % site)
    if not args.gazette.is_file():
        sys.exit("%s not found (cargo build --release)" % args.gazette)
    victim = posts / sorted(os.listdir(posts))[-1]
    original = victim.read_bytes()
    stat = victim.stat()
    out = Path(tempfile.mkdtemp(prefix="gazette-watch-"))
    feed = out / "feed.atom.xml"
    load_before = os.getloadavg()
    # The posts' warnings, every build, would bury the numbers: kept aside, and gazette's own
    # lines among them (a watch that fell back to looking every 100 ms) shown at the end.
    errors = tempfile.TemporaryFile()

    proc = subprocess.Popen(
        [str(args.gazette), "build", "--watch", "--site", str(site), "--out", str(out)],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, stderr=errors, bufsize=0)
    lines = queue.Queue()

    def read():
        # Each line with the time it was read: the time of the summary is taken here, not when
        # the main thread gets to it.
        for raw in iter(proc.stdout.readline, b""):
            lines.put((time.perf_counter(), raw.decode("utf-8", "replace").rstrip("\n")))
        lines.put((time.perf_counter(), None))

    threading.Thread(target=read, daemon=True).start()

    def next_summary(limit):
        deadline = time.perf_counter() + limit
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            try:
                at, line = lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                sys.exit("gazette stopped (status %s)" % proc.wait())
            if SUMMARY in line:
                return at, line

    def drain(quiet):
        """Summary lines until none came for `quiet` seconds: how many."""
        n = 0
        while next_summary(quiet) is not None:
            n += 1
        return n

    results = []
    try:
        started = time.perf_counter()
        first = next_summary(args.first_build_limit)
        if first is None:
            sys.exit("no first build within %.0f s" % args.first_build_limit)
        print("first build after %.2f s: %s" % (first[0] - started, first[1]))
        print("editing %s" % victim.relative_to(site))
        for i in range(1, args.edits + 1):
            extra = drain(args.gap)
            if extra:
                print("  (%d more builds before edit %d)" % (extra, i))
            sentence = "Watch latency check %d %s." % (i, uuid.uuid4().hex[:12])
            text = original.rstrip(b"\n") + b"\n\n" + sentence.encode() + b"\n"
            with open(victim, "wb") as f:  # truncate, write, close: a save in place
                f.write(text)
            saved = time.perf_counter()
            got = next_summary(args.rebuild_limit)
            if got is None:
                sys.exit("edit %d: no rebuild within %.0f s" % (i, args.rebuild_limit))
            note = ""
            while sentence not in feed.read_text("utf-8"):
                # A build that started before the save (none should): the next one counts.
                note = " (not in the first rebuild's feed: a later build's time)"
                got = next_summary(args.rebuild_limit)
                if got is None:
                    sys.exit("edit %d: the feed never held the sentence" % i)
            ms = (got[0] - saved) * 1000
            results.append(ms)
            print("edit %d: %7.1f ms  %s%s" % (i, ms, got[1], note))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        victim.write_bytes(original)
        os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        shutil.rmtree(out, ignore_errors=True)

    load_after = os.getloadavg()
    errors.seek(0)
    said = [l for l in errors.read().decode("utf-8", "replace").splitlines()
            if l.startswith("gazette: ")]
    for line in dict.fromkeys(said):
        print("stderr: " + line)
    if results:
        print("median save -> summary line: %.1f ms over %d edits (min %.1f, max %.1f)"
              % (statistics.median(results), len(results), min(results), max(results)))
    print("load average (1, 5, 15 min) before: %.2f %.2f %.2f, after: %.2f %.2f %.2f; %d cores"
          % (*load_before, *load_after, os.cpu_count()))


if __name__ == "__main__":
    main()
