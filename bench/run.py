#!/usr/bin/env python3
"""gazette's end-to-end benchmark: one command, whole-process wall time and peak memory.

    python3 bench/run.py [--sizes 1000,10000,100000] [--runs 5] [--out BENCHMARKS.md]
                         [--compare [--compare-sizes 1000,10000] [--compare-runs N]]
                         [--chart bench/chart.svg]
    python3 bench/run.py --quick          # 200 posts, 1 run, 100 subscribers, prints only
    python3 bench/run.py --quick --compare   # the same, plus Jekyll and Hugo at 200 posts
    python3 bench/run.py --serve [--serve-signups 5000] [--serve-unsubscribes 5000]
    python3 bench/run.py --serve-only     # only the subscription service's section

Steps: `cargo build --release`; generate (or reuse) a synthetic site per size with
bench/gen_corpus.py in a cache folder; compile bench/floor.c with `cc -O2`; then for each
size time, on a warm page cache (one untimed warm-up run first, then the median of --runs):

  * floor             bench/floor.c: read every post with 2 threads, find its front matter;
  * check             `gazette check --site SITE`;
  * cold build        `gazette build` into an emptied output folder, without gazette's cache in
                      the site (both removed before each run: see SITE_STATE);
  * no-change build   `gazette build` again, nothing changed (should write nothing);
  * one-change build  `gazette build` after one post's body was edited (the newest post, so
                      its feeds change; a different edit before each run);
  * digest rows       `gazette digest` for one complete ISO week (the one before the newest
                      post's) and 10,000 subscribers: rendered into the outbox, and sent to a
                      local SMTP sink that this script runs; the ledger is emptied before each
                      run so every run sends everything. Skipped as "not yet implemented" when
                      `gazette digest --help` fails (see DIGEST SCENARIOS below).

With --compare, for each of --compare-sizes (default 1000,10000: Jekyll takes minutes at
100k posts; 200 with --quick) the same corpus is also built, cold (output folder and the tool's
own cache removed before each run), timed the same way with --compare-runs (default --runs):

  * Jekyll + jekyll-feed, whole site  `jekyll build` of the corpus as it is (its _config.yml
                      has `plugins: [jekyll-feed]` and jekyll-feed's `feed:` settings; every
                      post is rendered and written through _layouts/post.html);
  * Jekyll + jekyll-feed, feeds only  the same with a second config file whose plugins_dir
                      holds a small plugin that keeps posts out of layouts and off the disk
                      (they are still rendered: jekyll-feed reads post.content);
  * Hugo              the corpus converted (untimed) into a minimal Hugo site: same bodies and
                      front matter, same baseURL, taxonomies categories and tags, RSS the only
                      output (home, each category and tag), posts linked but not written;

next to the floor and gazette's cold and one-change builds at that size (taken from the main
run when it measured that size with as many runs). A tool that is not installed (Debian:
`apt-get install jekyll ruby-jekyll-feed hugo`) is skipped with a note. bench/compare.py
says exactly what each tool is asked to do; the report says it too.

The chart (--chart; default bench/chart.svg when the report goes to BENCHMARKS.md, else
beside --out with the extension .svg; none when the report is only printed) is an SVG made by
bench/chart.py from the measured medians: time against posts, both axes logarithmic, one line
each for the floor, gazette's cold build, gazette's one-change rebuild and, with --compare,
Jekyll (both ways) and Hugo. The report embeds it.

Wall time is measured around the whole process (start to exit, from this script). Peak
memory (max RSS) comes from `/usr/bin/time -v` (Debian package `time`); without it, from
the rusage that wait4() returns for that one process (the per-child form of
getrusage(RUSAGE_CHILDREN).ru_maxrss, which would otherwise only report the maximum over all
children so far). For builds, "output" counts the files in the output folder that the timed
run added, removed or rewrote (new inode, mtime or size): a no-change rebuild should show 0.

With --serve (or --serve-only, which skips the corpora), `gazette serve` is measured too, by
bench/serve.py (its docstring says how): sign-up POSTs per second (mail into the outbox, rate
limits set far above the load), one-click unsubscribe POSTs per second (to the List-Unsubscribe
URLs of a digest sent to that many subscribers), and the service's resident memory after start
and after the run, all on 127.0.0.1 with --serve-threads client threads. The report gets a
section for it, with the issue's targets (thousands of requests per second, under 30 MB idle).

The report (machine, date, command, one Markdown table per size, the targets) is printed
and, except with --quick unless --out is given, written to --out (default BENCHMARKS.md in
the repository). The exit status is 1 when any run failed (gazette's, the floor's, or with
--compare Jekyll's or Hugo's; a tool that is not installed is skipped, not failed).

Stdlib only, Python 3.11.
"""

import argparse
import datetime as dt
import hashlib
import os
import platform
import random
import re
import shlex
import shutil
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
sys.path.insert(0, str(BENCH))
sys.dont_write_bytecode = True  # no bench/__pycache__ in the work tree
import gen_corpus  # noqa: E402  (the category names, for the digest's subscribers)
import compare  # noqa: E402  (Jekyll and Hugo, for --compare)
import serve as serve_bench  # noqa: E402  (gazette serve, for --serve)
import chart  # noqa: E402  (the SVG chart)
TIME = "/usr/bin/time"
DEFAULT_CATEGORIES = 40
DIGEST_SUBSCRIBERS = 10_000  # --subscribers; --quick uses QUICK_SUBSCRIBERS
QUICK_SUBSCRIBERS = 100

# Targets the report checks (see the project's goals).
TARGET_COLD_VS_FLOOR = 1.5  # cold build at most 1.5x the floor
TARGET_RSS_MB = 128  # peak memory below 128 MB at 100k posts (#15)
TARGET_RSS_AT = 100_000
TARGET_ONE_CHANGE_SPEEDUP = 10  # one-change rebuild at least 10x faster than cold
TARGET_NO_CHANGE_SPEEDUP = 20  # no-change rebuild at least 20x faster than cold (#15)
DEFAULT_COMPARE_SIZES = "1000,10000"  # --compare: Jekyll takes minutes at 100k posts
SERVE_REQUESTS = 5_000  # --serve: sign-ups, and one-click unsubscribes; --quick uses QUICK_SERVE
QUICK_SERVE = 300
SERVE_THREADS = 8
TARGET_SERVE_PER_S = 1000  # "thousands per second" on loopback
TARGET_SERVE_IDLE_MB = 30  # idle memory of gazette serve


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------
# Running one process and measuring it.


@dataclass
class Run:
    wall: float  # seconds, start to exit
    rss_kb: int | None  # peak resident set size
    cpu: float  # user + system seconds
    rc: int
    stdout: str
    stderr: str


def run_measured(argv, cwd=None):
    """Runs argv once; returns its wall time, peak RSS, CPU time, exit code and output."""
    use_time = os.access(TIME, os.X_OK)
    with tempfile.TemporaryDirectory(prefix="gazette-bench-run-") as tmp:
        out_p, err_p, time_p = (os.path.join(tmp, n) for n in ("out", "err", "time"))
        full = [TIME, "-v", "-o", time_p, *argv] if use_time else list(argv)
        with open(out_p, "wb") as out, open(err_p, "wb") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(full, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
        stdout = Path(out_p).read_text(errors="replace")
        stderr = Path(err_p).read_text(errors="replace")
        # wait4's rusage covers the child and what it waited for (the command under
        # /usr/bin/time): CPU time in microseconds (time -v rounds to 10 ms), max RSS in KiB.
        rss_kb = usage.ru_maxrss
        cpu = usage.ru_utime + usage.ru_stime
        rc = proc.returncode
        if use_time and os.path.exists(time_p):
            report = Path(time_p).read_text(errors="replace")
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report)
            if m:
                rss_kb = int(m.group(1))
            m = re.search(r"Exit status: (\d+)", report)
            if m:
                rc = int(m.group(1))
            if "Command terminated by signal" in report:
                rc = rc or -1
    return Run(wall, rss_kb, cpu, rc, stdout, stderr)


def snapshot(folder):
    """path -> (inode, mtime_ns, size) for every file below folder."""
    files = {}
    if not os.path.isdir(folder):
        return files
    for root, _dirs, names in os.walk(folder):
        for n in names:
            p = os.path.join(root, n)
            st = os.stat(p)
            files[os.path.relpath(p, folder)] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return files


def changed_files(before, after):
    return sum(1 for p in before.keys() | after.keys() if before.get(p) != after.get(p))


# ----------------------------------------------------------------------------------------
# A local SMTP server that accepts and counts every message, for the digest "send" row.


class SmtpSink:
    """Accepts every message on 127.0.0.1:<port> (no TLS, no AUTH) and counts them.

    Reads in large chunks and looks for the end of DATA with bytes.find, so that it keeps up
    with a sender of thousands of large messages (it runs in this script's threads)."""

    def __init__(self):
        self.messages = 0
        self.bytes = 0
        self.lock = threading.Lock()
        sink = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                sock = self.request
                sock.sendall(b"220 localhost gazette-bench SMTP sink\r\n")
                buf = b""
                in_data = False
                size = 0
                while True:
                    if in_data:
                        end = buf.find(b"\r\n.\r\n")
                        if end >= 0:
                            size += end
                            buf = buf[end + 5:]
                            in_data = False
                            with sink.lock:
                                sink.messages += 1
                                sink.bytes += max(size, 0)
                            sock.sendall(b"250 2.0.0 OK queued\r\n")
                            continue
                        keep = max(len(buf) - 4, 0)  # the terminator may straddle two reads
                        size += keep
                        buf = buf[keep:]
                    elif b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        verb = line.strip().split(b" ", 1)[0].upper()
                        if verb == b"EHLO":
                            sock.sendall(b"250-localhost\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
                                         b"250 SIZE 104857600\r\n")
                        elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                            sock.sendall(b"250 2.0.0 OK\r\n")
                        elif verb == b"DATA":
                            sock.sendall(b"354 end with <CRLF>.<CRLF>\r\n")
                            in_data, size = True, -2
                            buf = b"\r\n" + buf  # so an empty message's "." is found too
                        elif verb == b"QUIT":
                            sock.sendall(b"221 2.0.0 bye\r\n")
                            return
                        else:  # STARTTLS, AUTH, VRFY, ...: a plain local sink offers none
                            sock.sendall(b"502 5.5.1 command not implemented\r\n")
                        continue
                    chunk = sock.recv(1 << 18)
                    if not chunk:
                        return
                    buf += chunk

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reset(self):
        with self.lock:
            self.messages = 0
            self.bytes = 0

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ----------------------------------------------------------------------------------------
# Scenarios.


@dataclass
class Ctx:
    """Everything a scenario needs for one size."""

    size: int
    site: Path
    out: Path
    gazette: Path
    floor: Path
    victim: Path  # the post the one-change rebuild edits
    victim_original: bytes
    work: Path  # scratch folder for this size (digest state, outbox, subscribers)
    categories: list  # the corpus's category names, most frequent first
    digest_week: str  # the week the digest rows send, e.g. 2024-W51 (see digest_week())
    digest_posts: int  # posts in that week
    subscribers: int  # how many the digest rows send to
    smtp: SmtpSink | None = None
    edits: int = 0


@dataclass
class Scenario:
    key: str
    label: str
    argv: object  # Ctx -> list[str]
    setup: object = None  # Ctx -> None, once before the warm-up (untimed)
    before_each: object = None  # Ctx -> None, before every run (untimed)
    result: object = None  # (Ctx, Run, before-snapshot) -> output note
    teardown: object = None  # Ctx -> None, after the last run, also on failure
    gazette: bool = True  # a gazette run: failures count
    needs_smtp: bool = False
    unit: str = "posts"  # the rate column: size (or `count`) per second, in this unit
    count: int | None = None  # items a run handles, when not the corpus size
    tool: str = ""  # --compare: "jekyll" or "hugo", the tool that must be installed


# What gazette keeps inside the site between runs (its cache of what it read from each post,
# `gazette: cache:`, default .gazette/posts.cache). A cold build starts without it, and every
# size starts from a corpus without it. Follow the setting here if its default moves.
SITE_STATE = [".gazette"]


def clear_site_state(site):
    for rel in SITE_STATE:
        p = site / rel
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def empty_out(c):
    """Cold: no output folder and no cache in the site."""
    shutil.rmtree(c.out, ignore_errors=True)
    clear_site_state(c.site)


def build_untimed(c):
    r = subprocess.run([str(c.gazette), "build", "--quiet", "--site", str(c.site), "--out", str(c.out)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("gazette build failed before a timed run:\n" + r.stdout + r.stderr)


def edit_victim(c):
    """Edit the newest post's first paragraph, differently every time, and touch it."""
    c.edits += 1
    text = c.victim_original.decode("utf-8")
    marker = "</p>" if "</p>" in text else "\n\n"
    head, sep, rest = text.partition(marker)
    if not sep:  # no paragraph to edit: append one
        head, sep, rest = text, "", ""
    text = head + "（本文第%d次修订）" % c.edits + sep + rest
    c.victim.write_bytes(text.encode("utf-8"))
    now = time.time()
    os.utime(c.victim, (now, now))


def out_files(c, run, before):
    return "%d files" % changed_files(before, snapshot(c.out))


def posts_read(c, run, before):
    m = re.search(r"^(\d+) posts", run.stdout, re.M)
    if not m:
        return ""
    n = int(m.group(1))
    return "%d posts" % n + ("" if n == c.size else " (**expected %d**)" % c.size)


def floor_files(c, run, before):
    n = int(run.stdout.split()[0]) if run.stdout.split() else -1
    return "%d files" % n + ("" if n == c.size else " (**expected %d**)" % c.size)


def gazette_build(c):
    return [str(c.gazette), "build", "--site", str(c.site), "--out", str(c.out)]


SCENARIOS = [
    Scenario("floor", "floor (C, 2 threads: read all posts)",
             lambda c: [str(c.floor), str(c.site)], gazette=False, result=floor_files),
    Scenario("check", "gazette check",
             lambda c: [str(c.gazette), "check", "--site", str(c.site)], result=posts_read),
    Scenario("cold", "gazette build, cold (no out dir, no cache)", gazette_build,
             before_each=empty_out, result=out_files),
    Scenario("nochange", "gazette build, nothing changed", gazette_build,
             setup=build_untimed, result=out_files),
    Scenario("onechange", "gazette build, one post changed", gazette_build,
             setup=build_untimed, before_each=edit_victim, result=out_files,
             teardown=lambda c: c.victim.write_bytes(c.victim_original)),
]

# ========================================================================================
# DIGEST SCENARIOS
#
# Skipped ("not yet implemented") when `gazette digest --help` fails. Otherwise each runs
# `gazette digest --site SITE --week WEEK --subscribers FILE` with its settings in
# SITE/gazette.yml (which wins over _config.yml's `gazette:` key by key; written by setup,
# removed by teardown), so that the ledger, the outbox and the secret live in the work folder,
# never in the cached corpus. The ledger is emptied before every run: the digest is sent
# exactly once per subscriber and week, so a second run would otherwise send nothing.
# If the digest's options or settings change, this is the place to follow them.
# ========================================================================================


def write_subscribers(c):
    """c.subscribers subscribers (CSV): 60 % want every category, the others 1-3
    categories, drawn as skewed as the posts are."""
    path = c.work / "subscribers.csv"
    rng = random.Random(20240101)
    cum, acc = [], 0.0
    for rank in range(1, len(c.categories) + 1):
        acc += 1.0 / rank ** 1.1
        cum.append(acc)
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
    given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
    lines = ["address,name,categories"]
    for i in range(1, c.subscribers + 1):
        name = rng.choice(surnames) + rng.choice(given) + (rng.choice(given) if rng.random() < 0.5 else "")
        cats = ""
        if rng.random() >= 0.6:
            picked = {c.categories[j] for j in rng.choices(range(len(c.categories)), cum_weights=cum,
                                                           k=rng.randint(1, 3))}
            cats = ";".join(sorted(picked))
        lines.append("reader%05d@example.com,%s,%s" % (i, name, cats))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def digest_settings(c, smtp_port=None):
    """The `digest:` section, as gazette.yml."""
    state = c.work / "digest-state"
    (c.work / "secret.txt").write_text("gazette-bench-secret\n")
    text = (
        "digest:\n"
        '  from: "财经快讯镜像站 <digest@news.example.org>"\n'
        '  subject: "{{site.title}} · 每周摘要 {{period.label}}"\n'
        "  subscribers: %s\n"
        "  unsubscribe_mailto: unsubscribe@news.example.org\n"
        '  unsubscribe_url: "https://news.example.org/unsubscribe?address={address}&token={token}"\n'
        "  secret_file: %s\n"
        "  state: %s\n"
        "  outbox: %s\n" % (c.work / "subscribers.csv", c.work / "secret.txt", state, state / "outbox")
    )
    if smtp_port is not None:
        text += ("  smtp:\n"
                 "    host: 127.0.0.1\n"
                 "    port: %d\n"
                 "    tls: none\n" % smtp_port)
    return text


def digest_setup(c, smtp):
    if not (c.work / "subscribers.csv").exists():
        write_subscribers(c)
    if smtp and c.smtp is None:
        c.smtp = SmtpSink()
    (c.site / "gazette.yml").write_text(
        digest_settings(c, c.smtp.port if smtp else None), encoding="utf-8")


def digest_teardown(c):
    (c.site / "gazette.yml").unlink(missing_ok=True)
    shutil.rmtree(c.work / "digest-state", ignore_errors=True)


def digest_reset(c):
    shutil.rmtree(c.work / "digest-state", ignore_errors=True)
    if c.smtp:
        c.smtp.reset()


def digest_argv(c):
    return [str(c.gazette), "digest", "--site", str(c.site), "--week", c.digest_week,
            "--subscribers", str(c.work / "subscribers.csv")]


def sent_note(c, run):
    m = re.search(r": (\d+) sent ", run.stdout)
    return "%s sent, week %s: %d posts" % (m.group(1) if m else "?", c.digest_week, c.digest_posts)


def outbox_result(c, run, before):
    box = c.work / "digest-state" / "outbox"
    files = [os.path.join(r, f) for r, _, fs in os.walk(box) for f in fs] if box.is_dir() else []
    mb = sum(os.path.getsize(f) for f in files) / 1e6
    return "%d files, %.1f MB in outbox (%s)" % (len(files), mb, sent_note(c, run))


def smtp_result(c, run, before):
    return "%d mails, %.1f MB received (%s)" % (c.smtp.messages, c.smtp.bytes / 1e6, sent_note(c, run))


def digest_scenarios(subscribers):
    return [
        Scenario("digest-outbox",
                 "gazette digest: a week for {:,} subscribers, to the outbox".format(subscribers),
                 digest_argv, setup=lambda c: digest_setup(c, smtp=False),
                 before_each=digest_reset, result=outbox_result, teardown=digest_teardown,
                 unit="mails", count=subscribers),
        Scenario("digest-smtp",
                 "gazette digest: a week for {:,} subscribers, via local SMTP".format(subscribers),
                 digest_argv, setup=lambda c: digest_setup(c, smtp=True),
                 before_each=digest_reset, result=smtp_result, teardown=digest_teardown,
                 needs_smtp=True, unit="mails", count=subscribers),
    ]


def digest_available(gazette):
    r = subprocess.run([str(gazette), "digest", "--help"], capture_output=True)
    return r.returncode == 0


# ========================================================================================
# COMPARISON SCENARIOS (--compare)
#
# Jekyll with jekyll-feed, and Hugo, on the same corpus, timed as gazette is (whole process,
# warm page cache, one untimed warm-up, the median of --compare-runs). Each starts cold, as
# gazette's cold build does: its output folder and its own cache are removed before every run.
# What each is asked to do, and why, is in bench/compare.py's docstring and in the report.
# ========================================================================================


def tool_output(folder):
    def note(c, run, before):
        files, feeds = compare.count_output(c.work / folder)
        return "%d files written, %d of them feeds" % (files, feeds)
    return note


def jekyll_feeds_only_setup(c):
    compare.jekyll_feeds_only(c.work)


def hugo_setup(c):
    started = time.perf_counter()
    n = compare.hugo_site(c.site, c.work / "hugo-site")
    log("  converted %d posts into a Hugo site in %.1f s (untimed)" % (n, time.perf_counter() - started))


def compare_scenarios():
    jekyll_out = lambda c: c.work / "jekyll-out"  # noqa: E731
    jekyll_clean = lambda c: compare.jekyll_clean(c.site, jekyll_out(c))  # noqa: E731
    hugo_clean = lambda c: compare.hugo_clean(c.work / "hugo-site", c.work / "hugo-out",  # noqa: E731
                                              c.work / "hugo-cache")
    return [
        Scenario("jekyll", "Jekyll + jekyll-feed, whole site (every page and the feeds)",
                 lambda c: compare.jekyll_argv(c.site, jekyll_out(c)),
                 before_each=jekyll_clean, teardown=jekyll_clean, result=tool_output("jekyll-out"),
                 gazette=False, tool="jekyll"),
        Scenario("jekyll-feeds", "Jekyll + jekyll-feed, feeds only (no page written, no layout)",
                 lambda c: compare.jekyll_argv(c.site, jekyll_out(c),
                                               c.work / "jekyll-feeds-only.yml"),
                 setup=jekyll_feeds_only_setup, before_each=jekyll_clean, teardown=jekyll_clean,
                 result=tool_output("jekyll-out"), gazette=False, tool="jekyll"),
        Scenario("hugo", "Hugo, RSS only (home, categories, tags)",
                 lambda c: compare.hugo_argv(c.work / "hugo-site", c.work / "hugo-out",
                                             c.work / "hugo-cache"),
                 setup=hugo_setup, before_each=hugo_clean, teardown=hugo_clean,
                 result=tool_output("hugo-out"), gazette=False, tool="hugo"),
    ]


# ----------------------------------------------------------------------------------------
# Preparing: the release build, the floor, the corpora.


def cargo_build():
    log("building gazette (cargo build --release) ...")
    if subprocess.run(["cargo", "build", "--release"], cwd=REPO, stdout=sys.stderr).returncode:
        sys.exit("bench: `cargo build --release` failed")
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not target.is_absolute():
        target = REPO / target
    exe = target / "release" / "gazette"
    if not exe.exists():
        sys.exit("no gazette binary at %s" % exe)
    return exe


def file_hash(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def compile_floor(cache):
    src = BENCH / "floor.c"
    exe = cache / ("floor-" + file_hash(src))
    if not exe.exists():
        tmp = exe.with_suffix(".tmp%d" % os.getpid())
        subprocess.run(["cc", "-O2", "-pthread", "-o", str(tmp), str(src)], check=True)
        tmp.rename(exe)
    return exe


def corpus(cache, n, k, seed):
    """The site for n posts, generated once per (n, k, seed, generator version)."""
    key = "site-n%d-k%d-s%d-%s" % (n, k, seed, file_hash(BENCH / "gen_corpus.py"))
    site = cache / key
    pristine = cache / (key + ".victim")
    if not site.is_dir() or not pristine.exists():
        shutil.rmtree(site, ignore_errors=True)
        tmp = cache / ("%s.tmp%d" % (key, os.getpid()))
        shutil.rmtree(tmp, ignore_errors=True)
        for stale in cache.glob("site-n%d-k%d-s%d-*" % (n, k, seed)):  # older generators
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
        log("generating %d posts into %s ..." % (n, site))
        started = time.perf_counter()
        subprocess.run([sys.executable, str(BENCH / "gen_corpus.py"), "--posts", str(n),
                        "--categories", str(k), "--seed", str(seed), "--out", str(tmp)],
                       check=True, stdout=subprocess.DEVNULL)
        victim = newest_post(tmp)
        (cache / (key + ".victim.tmp")).write_bytes(victim.read_bytes())
        (cache / (key + ".victim.tmp")).rename(pristine)
        tmp.rename(site)
        log("  generated in %.1f s" % (time.perf_counter() - started))
    else:
        log("reusing %s" % site)
    # Start clean: no cache from an earlier run; undo what an interrupted run may have left
    # (an edited post, digest settings).
    clear_site_state(site)
    (site / "gazette.yml").unlink(missing_ok=True)
    victim = newest_post(site)
    original = pristine.read_bytes()
    if victim.read_bytes() != original:
        victim.write_bytes(original)
    return site, victim, original


def newest_post(site):
    names = sorted(os.listdir(site / "_posts"))  # YYYY-MM-DD-... : the last is the newest day
    return site / "_posts" / names[-1]


def corpus_bytes(site):
    total = count = 0
    with os.scandir(site / "_posts") as it:
        for e in it:
            total += e.stat().st_size
            count += 1
    return count, total


def digest_week(site, newest, busiest=False):
    """The latest ISO week with posts before the newest post's week (for the larger corpora,
    simply the week before it), or with `busiest` the week with the most posts, and how many
    posts it has (by the dates in the file names, which are the site's local dates)."""
    per_week = {}
    for name in os.listdir(site / "_posts"):
        try:
            y, w, _ = dt.date.fromisoformat(name[:10]).isocalendar()
        except ValueError:
            continue
        per_week[(y, w)] = per_week.get((y, w), 0) + 1
    m = re.search(rb"^date: (\d{4})-(\d\d)-(\d\d)", newest.read_bytes(), re.M)
    y, w, _ = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isocalendar()
    earlier = [k for k in per_week if k < (y, w)] or [(y, w)]
    week = max(earlier)
    if busiest:
        week = max(per_week, key=lambda k: (per_week[k], k))
    return "%d-W%02d" % week, per_week.get(week, 0)


# ----------------------------------------------------------------------------------------
# Measuring.


@dataclass
class Row:
    scenario: Scenario
    runs: list = field(default_factory=list)
    skipped: str = ""
    failed: str = ""
    output: str = ""

    @property
    def median(self):
        return statistics.median(r.wall for r in self.runs) if self.runs else None

    @property
    def rss_mb(self):
        vals = [r.rss_kb for r in self.runs if r.rss_kb is not None]
        return max(vals) / 1024 if vals else None

    @property
    def cpu(self):
        return statistics.median(r.cpu for r in self.runs) if self.runs else None


def measure(sc, c, runs):
    row = Row(sc)
    try:
        if sc.setup:
            try:
                sc.setup(c)
            except (RuntimeError, OSError) as e:
                row.failed = "setup: %s" % str(e).strip().splitlines()[-1]
                log("  %s FAILED in setup:\n%s" % (sc.label, e))
                return row
        for i in range(runs + 1):  # the first run warms up and is not counted
            if sc.before_each:
                sc.before_each(c)
            before = snapshot(c.out)
            r = run_measured(sc.argv(c))
            if r.rc != 0:
                tail = "\n".join((r.stderr or r.stdout).strip().splitlines()[-8:])
                row.failed = "exit %d" % r.rc
                log("  %s FAILED (exit %d):\n%s" % (sc.label, r.rc, tail))
                row.runs = []
                return row
            note = sc.result(c, r, before) if sc.result else ""
            if i > 0:
                row.runs.append(r)
                row.output = note
    finally:
        if sc.teardown:
            sc.teardown(c)
    log("  %-40.40s %8.3f s  %7.1f MB  %s" % (sc.label, row.median, row.rss_mb or 0, row.output))
    return row


def make_ctx(n, args, cache, gazette, floor, work_name):
    site, victim, original = corpus(cache, n, args.categories, args.seed)
    work = cache / work_name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    week, week_posts = digest_week(site, victim, args.digest_busiest)
    return Ctx(size=n, site=site, out=work / "out", gazette=gazette, floor=floor, victim=victim,
               victim_original=original, work=work,
               categories=[py for py, _ in gen_corpus.categories(args.categories)],
               digest_week=week, digest_posts=week_posts, subscribers=args.subscribers)


def cleanup(c):
    """Leaves the cached corpus as it was generated, and removes the work folder."""
    c.victim.write_bytes(c.victim_original)
    (c.site / "gazette.yml").unlink(missing_ok=True)
    clear_site_state(c.site)
    compare.jekyll_clean(c.site, c.work / "jekyll-out")
    if c.smtp:
        c.smtp.close()
    shutil.rmtree(c.work, ignore_errors=True)


def bench_size(n, args, cache, gazette, floor, digest_ok):
    c = make_ctx(n, args, cache, gazette, floor, "work-n%d" % n)
    files, nbytes = corpus_bytes(c.site)
    log("%d posts (%.1f MB) in %s" % (files, nbytes / 1e6, c.site))
    rows = []
    try:
        for sc in SCENARIOS:
            rows.append(measure(sc, c, args.runs))
        for sc in digest_scenarios(args.subscribers):
            if not digest_ok:
                rows.append(Row(sc, skipped="not yet implemented"))
            elif args.digest_sizes is not None and n not in args.digest_sizes:
                rows.append(Row(sc, skipped="not measured at this size (--digest-sizes)"))
            else:
                rows.append(measure(sc, c, args.runs))
    finally:
        cleanup(c)
    return {"n": n, "files": files, "bytes": nbytes, "site": c.site, "rows": rows}


# The rows a comparison shows of gazette's own (measured again at a size the main run did not
# measure, taken from it otherwise).
COMPARE_OWN = ("floor", "cold", "onechange")


def compare_size(n, args, cache, gazette, floor, tools, main_result=None):
    """floor, gazette's cold and one-change builds, Jekyll (twice) and Hugo at n posts."""
    c = make_ctx(n, args, cache, gazette, floor, "work-compare-n%d" % n)
    files, nbytes = corpus_bytes(c.site)
    log("compare: %d posts (%.1f MB) in %s" % (files, nbytes / 1e6, c.site))
    rows = []
    try:
        if main_result:
            rows += [r for r in main_result["rows"] if r.scenario.key in COMPARE_OWN]
        else:
            for sc in SCENARIOS:
                if sc.key in COMPARE_OWN:
                    rows.append(measure(sc, c, args.compare_runs))
        clear_site_state(c.site)
        for sc in compare_scenarios():
            ok, note = tools[sc.tool]
            rows.append(measure(sc, c, args.compare_runs) if ok else Row(sc, skipped=note))
    finally:
        cleanup(c)
    return {"n": n, "files": files, "bytes": nbytes, "site": c.site, "rows": rows}


# ----------------------------------------------------------------------------------------
# Reporting.


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
                break
    except OSError:
        pass
    os_name = platform.system()
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                          capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "src", "Cargo.toml",
                            "Cargo.lock"], cwd=REPO).returncode != 0
    return {
        "nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
        or str(os.cpu_count()),
        "cpu": cpu, "mem": mem, "os": "%s, kernel %s" % (os_name, platform.release()),
        "rustc": rustc or "unknown",
        "commit": head + (" plus uncommitted changes to src/ or Cargo.*" if dirty else ""),
        "load": "%.2f %.2f %.2f" % os.getloadavg(),
        "rss_source": "`/usr/bin/time -v`" if os.access(TIME, os.X_OK)
        else "the rusage of wait4() (no /usr/bin/time)",
    }


def fmt_s(x):
    return "—" if x is None else ("%.3f" % x if x < 10 else "%.1f" % x)


def table(result):
    rows = result["rows"]
    n = result["n"]
    floor = next((r.median for r in rows if r.scenario.key == "floor" and r.runs), None)
    lines = ["| scenario | wall, median (s) | min–max (s) | rate | × floor | peak RSS (MB) "
             "| CPU user+sys (s) | output |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        if r.skipped or r.failed:
            lines.append("| %s | %s | | | | | | |" % (r.scenario.label, r.skipped or
                                                       "**FAILED** (%s)" % r.failed))
            continue
        walls = [x.wall for x in r.runs]
        sc = r.scenario
        ratio = ("%.2f×" % (r.median / floor)) if floor and sc.key != "floor" else ""
        rate = "{:,.0f} {}/s".format((sc.count or n) / r.median, sc.unit) if r.median else "—"
        lines.append("| %s | %s | %s–%s | %s | %s | %s | %s | %s |" % (
            sc.label, fmt_s(r.median), fmt_s(min(walls)), fmt_s(max(walls)), rate, ratio,
            "%.1f" % r.rss_mb if r.rss_mb is not None else "—", fmt_s(r.cpu), r.output))
    return "\n".join(lines)


def targets(results):
    lines = ["| posts | cold build ÷ floor (≤ %.1f) | peak RSS of any gazette run (< %d MB at %s) "
             "| no-change rebuild: out files changed (0) | cold ÷ no-change rebuild (≥ %d) "
             "| cold ÷ one-change rebuild (≥ %d) |"
             % (TARGET_COLD_VS_FLOOR, TARGET_RSS_MB, "{:,}".format(TARGET_RSS_AT),
                TARGET_NO_CHANGE_SPEEDUP, TARGET_ONE_CHANGE_SPEEDUP),
             "| ---: | ---: | ---: | ---: | ---: | ---: |"]

    def verdict(ok):
        return "ok" if ok else "**missed**"

    for res in results:
        by = {r.scenario.key: r for r in res["rows"]}

        def med(k):
            r = by.get(k)
            return r.median if r and r.runs else None

        floor, cold, one, none = med("floor"), med("cold"), med("onechange"), med("nochange")
        cells = ["{:,}".format(res["n"])]
        if floor and cold:
            ratio = cold / floor
            cells.append("%.2f %s" % (ratio, verdict(ratio <= TARGET_COLD_VS_FLOOR)))
        else:
            cells.append("—")
        rss = [r.rss_mb for r in res["rows"] if r.scenario.gazette and r.runs and r.rss_mb]
        if rss:
            peak = max(rss)
            check = verdict(peak < TARGET_RSS_MB) if res["n"] >= TARGET_RSS_AT else "(target at 100k)"
            cells.append("%.1f MB %s" % (peak, check))
        else:
            cells.append("—")
        nc = by.get("nochange")
        if nc and nc.runs:
            changed = int(nc.output.split()[0])
            cells.append("%d %s" % (changed, verdict(changed == 0)))
        else:
            cells.append("—")
        if cold and none:
            cells.append("%.1f %s" % (cold / none, verdict(cold / none >= TARGET_NO_CHANGE_SPEEDUP)))
        else:
            cells.append("—")
        if cold and one:
            cells.append("%.1f %s" % (cold / one, verdict(cold / one >= TARGET_ONE_CHANGE_SPEEDUP)))
        else:
            cells.append("—")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compare_table(res):
    by = {r.scenario.key: r for r in res["rows"]}

    def med(k):
        r = by.get(k)
        return r.median if r and r.runs else None

    floor, cold = med("floor"), med("cold")
    lines = ["| tool and task | wall, median (s) | min–max (s) | × floor | × gazette cold "
             "| peak RSS (MB) | CPU user+sys (s) | output |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in res["rows"]:
        sc = r.scenario
        if r.skipped or r.failed:
            lines.append("| %s | %s | | | | | | |" % (sc.label, ("skipped: " + r.skipped)
                                                       if r.skipped else "**FAILED** (%s)" % r.failed))
            continue
        walls = [x.wall for x in r.runs]
        lines.append("| %s | %s | %s–%s | %s | %s | %s | %s | %s |" % (
            sc.label, fmt_s(r.median), fmt_s(min(walls)), fmt_s(max(walls)),
            "%.2f×" % (r.median / floor) if floor and sc.key != "floor" else "",
            "%.2f×" % (r.median / cold) if cold and sc.key not in ("floor", "cold") else "",
            "%.1f" % r.rss_mb if r.rss_mb is not None else "—", fmt_s(r.cpu), r.output))
    return "\n".join(lines)


# The chart's lines: (scenario key, legend, colour, dash pattern).
CHART_LINES = [
    ("floor", "floor (C: read every post)", "#7f7f7f", "7 5"),
    ("cold", "gazette, cold build", "#1f5fbf", ""),
    ("onechange", "gazette, one post changed", "#2ca02c", ""),
    ("jekyll", "Jekyll + jekyll-feed", "#d62728", ""),
    ("jekyll-feeds", "Jekyll + jekyll-feed, feeds only", "#d62728", "4 4"),
    ("hugo", "Hugo (RSS only)", "#ff7f0e", ""),
]


def chart_svg(results, comparisons, args, info, started):
    series = []
    for key, label, color, dash in CHART_LINES:
        pts = {}
        for res in results + comparisons:
            for r in res["rows"]:
                if r.scenario.key == key and r.runs:
                    pts[res["n"]] = r.median
        series.append({"label": label, "color": color, "dash": dash, "points": sorted(pts.items())})
    runs = str(args.runs) if not comparisons or args.compare_runs == args.runs else \
        "%d (%d for Jekyll and Hugo)" % (args.runs, args.compare_runs)
    return chart.svg(series, "Build time against posts (log–log)",
                     "%s, %s CPUs, warm page cache; median of %s run(s)"
                     % (started.strftime("%Y-%m-%d"), info["nproc"], runs))


def compare_method(args, tools):
    def ver(t):
        ok, note = tools[t]
        return note if ok else "skipped: " + note
    return [
        "## Compared with Jekyll and Hugo",
        "",
        "The same corpus, timed the same way (whole process, warm page cache, one untimed warm-up, "
        "the median of %d run(s), peak RSS over those runs); every tool starts cold: its output "
        "folder and its own cache are removed before each run, as for gazette's cold build. "
        "gazette's rows come from the same measurements as above where the size was measured "
        "there. What each tool is asked to do:" % args.compare_runs,
        "",
        "- **gazette**, cold build: RSS and Atom for the site, each category and each tag (20 "
        "items a feed), OPML and link tags; Liquid and kramdown-style Markdown rendered only for "
        "the posts a feed shows.",
        "- **Jekyll + jekyll-feed** (%s), whole site: `jekyll build --quiet` of the corpus as it "
        "is. Its `_config.yml` has `plugins: [jekyll-feed]` and `feed: {posts_limit: 20, tags: "
        "true, categories: [every category]}`: jekyll-feed writes `feed.xml` and one feed per "
        "category, Atom only (it makes no feed for a tag that is not an ASCII word, so none for "
        "this corpus's Chinese tags). Jekyll also renders every post (Liquid, then kramdown) and "
        "writes its page through the corpus's minimal `_layouts/post.html`, as it does for any "
        "site." % ver("jekyll"),
        "- **Jekyll, feeds only**: the same with a second config file whose `plugins_dir` holds "
        "a six-line plugin (in `bench/compare.py`) so that posts are neither placed in a layout "
        "nor written (no setting can do it: Jekyll forces `output: true` for posts, and a "
        "post's `layout:` wins over `defaults:`). Jekyll still renders every post's body (it "
        "renders every document of a collection, written or not, and jekyll-feed's template "
        "reads `post.content`): this is the least Jekyll can be asked to do for these feeds.",
        "- **Hugo** (%s): the corpus converted (untimed) into a Hugo site: each post a content "
        "file with the same body (`.md` for Goldmark, `.html` as HTML; Liquid stays as text, "
        "Hugo has none) and its front matter mapped to Hugo's (`title`, `date` in RFC 3339 with "
        "its offset, `categories`, `tags`, `url` = the Jekyll URL); `config.toml` with the same "
        "`baseURL`, title and time zone, `hasCJKLanguage`, taxonomies `categories` and `tags`, "
        "RSS the only output of the home page, each category and each tag (also the lists of "
        "categories and of tags), 20 items a feed, raw HTML passed through, and posts listed and "
        "linked but not written (`_build: {render: link}`), so Hugo renders only the bodies its "
        "feeds show. Its RSS template writes the summary and the full content, as gazette's RSS "
        "does. `hugo --quiet --source SITE --destination OUT --cacheDir CACHE`." % ver("hugo"),
        "- So the work differs: gazette writes the most feeds (RSS and Atom, tags too), Jekyll "
        "the fewest but renders every post, Hugo RSS only and no Liquid. “output” counts the "
        "files each wrote and how many are feeds (`.xml`).",
        "",
    ]


def serve_section(args, info, figures, error=None):
    """The report's section for `gazette serve` (bench/serve.py's figures)."""
    parts = [
        "## Subscription service (`gazette serve`)",
        "",
        "- `bench/serve.py`: a small zh-CN site whose digest mails into the outbox, with "
        "`serve_url` set and rate limits far above the load (one client may send everything), "
        "so that no request is limited; the service on 127.0.0.1 with a free port; %d client "
        "threads (`http.client`, each on its own keep-alive connection), all on loopback, on the "
        "same %s cores as the service." % (args.serve_threads, info["nproc"]),
        "- Sign-up: `POST /subscribe` with a new address each (validated, limited, stored as "
        "pending and committed, a confirmation mail written into the outbox) before the answer. "
        "One-click unsubscribe: `POST List-Unsubscribe=One-Click` to each `List-Unsubscribe` URL "
        "of a digest first sent (untimed) to that many imported subscribers. Every answer must "
        "be 200, the store must then hold each sign-up as pending and each unsubscribe as "
        "unsubscribed, and the service must stop cleanly on SIGTERM.",
        "- Memory: VmRSS of the `gazette serve` process from /proc/PID/status, one second after "
        "it printed its address, and one second after the last request (VmHWM: its peak).",
        "",
    ]
    if error:
        return parts + ["**FAILED**: %s" % error, ""]
    s, u, m = figures["signups"], figures["unsubscribes"], figures["rss_kb"]

    def verdict(ok):
        return "ok" if ok else "**missed**"

    def rate(f):
        return f["per_second"] or 0

    def answers(f):
        return ", ".join("%s × %s" % (n, k) for k, n in sorted(f["statuses"].items(),
                                                                 key=lambda kv: str(kv[0])))

    parts += [
        "| requests | count | seconds | per second (target ≥ %d) | answers |" % TARGET_SERVE_PER_S,
        "| --- | ---: | ---: | ---: | --- |",
        "| sign-up, `POST /subscribe` (mail into the outbox) | {:,} | {:.2f} | {:,.0f} {} | {} |"
        .format(s["done"], s["seconds"], rate(s), verdict(rate(s) >= TARGET_SERVE_PER_S),
                answers(s)),
        "| one-click unsubscribe, `POST /unsubscribe?token=…` | {:,} | {:.2f} | {:,.0f} {} | {} |"
        .format(u["done"], u["seconds"], rate(u), verdict(rate(u) >= TARGET_SERVE_PER_S),
                answers(u)),
        "",
        "| memory of `gazette serve` | MB |",
        "| --- | ---: |",
        "| idle, after start (target < %d) | %.1f %s |"
        % (TARGET_SERVE_IDLE_MB, m["idle"] / 1024, verdict(m["idle"] / 1024 < TARGET_SERVE_IDLE_MB)),
        "| after the run | %.1f |" % (m["after"] / 1024),
        "| peak (VmHWM) | %.1f |" % (m["peak"] / 1024),
        "",
    ]
    bad = serve_bench.failures(figures)
    if bad:
        parts += ["**FAILED**: %s" % "; ".join(bad), ""]
    return parts


def report(results, args, command, info, started, load_before, comparisons=(), tools=None,
           chart_rel=None, serve=None):
    parts = [
        "# gazette benchmarks",
        "",
        "Measured on %s with:" % started.strftime("%Y-%m-%d %H:%M UTC"),
        "",
        "    %s" % command,
        "",
        "## Machine",
        "",
        "- CPUs (nproc): %s — %s" % (info["nproc"], info["cpu"]),
        "- Memory: %s" % info["mem"],
        "- OS: %s" % info["os"],
        "- Rust: %s" % info["rustc"],
        "- gazette: commit %s, `cargo build --release`" % info["commit"],
        "- Load average (1, 5, 15 min) before: %s; after: %s. Other work on the machine "
        "inflates wall times; the CPU column suffers less." % (load_before, info["load"]),
        "",
    ]
    method = [
        "## Method",
        "",
        "- Each corpus is a synthetic Jekyll site from `bench/gen_corpus.py` (%d categories, "
        "seed %d): Chinese news posts of 2–8 KB in the shape of a mirrored article, a few "
        "percent Markdown and `.html` posts, and ~3 %% whose bodies run Liquid (site and page "
        "variables, `_data/`, an `{%% include %%}` from `_includes/`, `{%% post_url %%}`, "
        "`{%% highlight %%}`, `{%% raw %%}`, a `for` loop) and kramdown's Markdown (bold next to "
        "full-width punctuation, smart quotes, footnotes, tables, attribute lists); "
        "`_config.yml` asks for tag feeds and 20 items a feed." % (args.categories, args.seed),
        "- Every time is the wall time of the whole process, on a warm page cache: one untimed "
        "warm-up run, then the median of %d run(s). Peak RSS is the largest over those runs, "
        "from %s. CPU is user + system time of the process (from wait4; above the wall time "
        "when threads run in parallel)." % (args.runs, info["rss_source"]),
        "- The floor is `bench/floor.c` (`cc -O2`): list `_posts`, read every file whole with "
        "2 threads and find the end of its front matter with `memmem` — the least any feed "
        "builder must do. “× floor” is a row's median over the floor's (for the digest rows it "
        "only says how many floors a whole send takes: reading the posts is a small part of it).",
        "- Cold build: the output folder and gazette's cache in the site (%s) are removed "
        "before each run. Nothing changed: a build "
        "over an up-to-date output folder. One post changed: before each run the newest post's "
        "first paragraph is edited (differently each time) and its mtime updated. “output” "
        "counts the files in the output folder that the run added, removed or rewrote."
        % ", ".join("`%s`" % p for p in SITE_STATE),
        "- Digest: `gazette digest --week W` for the complete ISO week before the newest "
        "post's (for small corpora: the latest earlier week that has posts), to {:,} subscribers (CSV; 60 % take every category, the others 1–3), with "
        "unsubscribe tokens; the ledger is emptied before each run so that every run sends to "
        "everyone. “to the outbox”: no SMTP server configured. “via local SMTP”: to a plain "
        "SMTP sink on 127.0.0.1 run by `bench/run.py` itself (its CPU time is not in the CPU "
        "column but competes for the same cores). Rows read “not yet implemented” while "
        "`gazette digest --help` fails.".format(args.subscribers),
        "",
    ]
    if results:
        parts += method
    if chart_rel:
        parts += ["![Wall time against posts, log–log: the floor, gazette's cold build and "
                  "one-change rebuild%s](%s)" % (", Jekyll + jekyll-feed and Hugo" if comparisons
                                                  else "", chart_rel), ""]
    for res in results:
        parts += [
            "## {:,} posts".format(res["n"]),
            "",
            "{:,} files, {:.1f} MB.".format(res["files"], res["bytes"] / 1e6),
            "",
            table(res),
            "",
        ]
    if results:
        parts += ["## Targets", "", targets(results), ""]
    if serve is not None:
        parts += serve_section(args, info, *serve)
    if comparisons:
        parts += compare_method(args, tools)
        for res in comparisons:
            parts += ["### {:,} posts".format(res["n"]), "",
                      "{:,} files, {:.1f} MB.".format(res["files"], res["bytes"] / 1e6), "",
                      compare_table(res), ""]
    return "\n".join(parts)


# ----------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000",
                    help="comma-separated post counts (default 1000,10000,100000)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per scenario (default 5)")
    ap.add_argument("--digest-busiest", action="store_true",
                    help="the digest rows send the week with the most posts (default: the week "
                         "before the newest post's)")
    ap.add_argument("--digest-sizes", default=None,
                    help="comma-separated sizes at which to run the digest rows (default: every "
                         "size); at the others they read \"not measured at this size\"")
    ap.add_argument("--out", help="where to write the report (default BENCHMARKS.md in the "
                    "repository; nothing with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke test: --sizes 200 --runs 1 --subscribers %d, print only unless "
                    "--out is given" % QUICK_SUBSCRIBERS)
    ap.add_argument("--categories", type=int, default=DEFAULT_CATEGORIES,
                    help="categories in each corpus (default %d)" % DEFAULT_CATEGORIES)
    ap.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    ap.add_argument("--subscribers", type=int, default=DIGEST_SUBSCRIBERS,
                    help="subscribers for the digest rows (default {:,}; {} with --quick)".format(
                        DIGEST_SUBSCRIBERS, QUICK_SUBSCRIBERS))
    ap.add_argument("--cache", help="folder for corpora and the floor binary (default "
                    "$GAZETTE_BENCH_CACHE or <tmp>/gazette-bench)")
    ap.add_argument("--no-build", action="store_true",
                    help="use the existing release binary instead of running cargo first")
    ap.add_argument("--gazette", help="run this gazette binary (no build); `cargo test` uses it "
                    "to keep this script working with the test binary")
    ap.add_argument("--compare", action="store_true",
                    help="also time Jekyll + jekyll-feed and Hugo on the same corpus, where "
                    "installed (Debian: jekyll ruby-jekyll-feed hugo); skipped with a note if not")
    ap.add_argument("--compare-sizes", default=None,
                    help="post counts for --compare, which it implies (default %s; 200 with "
                    "--quick)"
                    % DEFAULT_COMPARE_SIZES)
    ap.add_argument("--compare-runs", type=int, default=None,
                    help="timed runs per scenario for --compare (default: --runs)")
    ap.add_argument("--chart", help="where to write the SVG chart (default bench/chart.svg when "
                    "the report goes to BENCHMARKS.md, else the report's path with .svg; none "
                    "when the report is only printed)")
    ap.add_argument("--serve", action="store_true",
                    help="also measure gazette serve (bench/serve.py): sign-ups and one-click "
                    "unsubscribes per second on 127.0.0.1, and its idle memory")
    ap.add_argument("--serve-only", action="store_true",
                    help="only the gazette serve section (no corpora, no builds)")
    ap.add_argument("--serve-signups", type=int, default=None,
                    help="sign-up POSTs for --serve (default {:,}; {} with --quick)".format(
                        SERVE_REQUESTS, QUICK_SERVE))
    ap.add_argument("--serve-unsubscribes", type=int, default=None,
                    help="one-click unsubscribe POSTs for --serve (default {:,}; {} with "
                    "--quick)".format(SERVE_REQUESTS, QUICK_SERVE))
    ap.add_argument("--serve-threads", type=int, default=SERVE_THREADS,
                    help="client threads for --serve (default %d)" % SERVE_THREADS)
    ap.add_argument("--serve-time-limit", type=float, default=120,
                    help="seconds each --serve phase may take at most (default 120)")
    args = ap.parse_args(argv)
    if args.serve_only:
        args.serve = True
    serve_default = QUICK_SERVE if args.quick else SERVE_REQUESTS
    if args.serve_signups is None:
        args.serve_signups = serve_default
    if args.serve_unsubscribes is None:
        args.serve_unsubscribes = serve_default
    if args.serve and (args.serve_signups < 1 or args.serve_unsubscribes < 0
                       or args.serve_threads < 1 or args.serve_time_limit <= 0):
        ap.error("need --serve-signups >= 1, --serve-unsubscribes >= 0, --serve-threads >= 1 "
                 "and --serve-time-limit > 0")
    if args.compare_sizes is not None:
        args.compare = True
    if args.quick:
        args.sizes, args.runs = "200", 1
        if args.subscribers == DIGEST_SUBSCRIBERS:
            args.subscribers = QUICK_SUBSCRIBERS
        if args.compare_sizes is None:
            args.compare_sizes = "200"
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if args.digest_sizes is not None:
        args.digest_sizes = [int(s.replace("_", "")) for s in args.digest_sizes.split(",")
                             if s.strip()]
    if args.serve_only:
        sizes = []
        args.compare = False
    if (not sizes and not args.serve_only) or (sizes and min(sizes) < 1) or args.runs < 1:
        ap.error("need positive --sizes and --runs >= 1")
    compare_sizes = [int(s.replace("_", "")) for s in (args.compare_sizes or DEFAULT_COMPARE_SIZES)
                     .split(",") if s.strip()] if args.compare else []
    if args.compare_runs is None:
        args.compare_runs = args.runs
    if args.compare and (not compare_sizes or min(compare_sizes) < 1 or args.compare_runs < 1):
        ap.error("need positive --compare-sizes and --compare-runs >= 1")
    out_path = Path(args.out) if args.out else (
        None if args.quick or args.serve_only else REPO / "BENCHMARKS.md")
    if args.chart:
        chart_path = Path(args.chart)
    elif out_path is None or args.serve_only:
        chart_path = None
    elif out_path.resolve() == (REPO / "BENCHMARKS.md").resolve():
        chart_path = BENCH / "chart.svg"
    else:
        chart_path = out_path.with_suffix(".svg")

    command = "python3 bench/run.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    started = dt.datetime.now(dt.timezone.utc)
    load_before = "%.2f %.2f %.2f" % os.getloadavg()
    cache = Path(args.cache or os.environ.get("GAZETTE_BENCH_CACHE")
                 or Path(tempfile.gettempdir()) / "gazette-bench")
    cache.mkdir(parents=True, exist_ok=True)

    if args.gazette:
        gazette = Path(args.gazette).resolve()
    elif args.no_build:
        gazette = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release" / "gazette"
        if not gazette.is_absolute():
            gazette = REPO / gazette
    else:
        gazette = cargo_build()
    floor = compile_floor(cache) if sizes else None
    digest_ok = digest_available(gazette)
    if not digest_ok and sizes:
        log("gazette digest is not available: the digest rows are skipped")

    tools = {}
    if args.compare:
        tools = {"jekyll": compare.jekyll_status(), "hugo": compare.hugo_status()}
        for name, (ok, note) in tools.items():
            log("compare: %s: %s" % (name, note if ok else "skipped, " + note))

    results = [bench_size(n, args, cache, gazette, floor, digest_ok) for n in sizes]
    by_size = {res["n"]: res for res in results}
    comparisons = [compare_size(n, args, cache, gazette, floor, tools,
                                by_size.get(n) if args.compare_runs == args.runs else None)
                   for n in compare_sizes]
    serve = None
    if args.serve:
        try:
            serve = (serve_bench.bench(gazette, args.serve_signups, args.serve_unsubscribes,
                                       args.serve_threads, args.serve_time_limit), None)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            serve = (None, str(e))
    info = machine()
    chart_rel = None
    if chart_path:
        chart_path.parent.mkdir(parents=True, exist_ok=True)
        chart_path.write_text(chart_svg(results, comparisons, args, info, started), encoding="utf-8")
        log("wrote %s" % chart_path)
        base = out_path.resolve().parent if out_path else Path.cwd()
        chart_rel = Path(os.path.relpath(chart_path.resolve(), base)).as_posix()
    text = report(results, args, command, info, started, load_before, comparisons, tools, chart_rel,
                  serve)
    print(text)
    if out_path:
        out_path.write_text(text)
        log("wrote %s" % out_path)
    # Any failed run, gazette's, the floor's or another tool's, fails the benchmark.
    failed = [r for res in results + comparisons for r in res["rows"] if r.failed]
    if serve is not None and (serve[1] or serve_bench.failures(serve[0])):
        failed.append("serve")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
