#!/usr/bin/env python3
"""`gazette serve` under load on loopback: sign-ups and one-click unsubscribes per second, and
the service's memory when idle.

    python3 bench/serve.py --gazette target/release/gazette [--signups 5000]
                           [--unsubscribes 5000] [--threads 8] [--time-limit 120]

`bench/run.py --serve` runs it and puts its figures in the report. Steps, all in a temporary
folder and only on 127.0.0.1:

  1. A small site (zh-CN, three categories, a week of posts) whose `digest:` mails into the
     outbox, with `serve_url` set and rate limits far above what the run sends (one client may
     send everything at once), so that the limiter never answers 429 and the figures are the
     service's own work.
  2. --unsubscribes subscribers imported into the store (`gazette subscribers import`), and a
     digest sent to them into the outbox (`gazette digest --week`): each mail's
     `List-Unsubscribe` URL (signed, as a mailbox provider would get it) is kept; the outbox is
     then emptied.
  3. `gazette serve --listen 127.0.0.1:0` started; after it printed its address and then sat
     idle for a second, its resident memory (VmRSS, and VmHWM, from /proc/PID/status).
  4. Sign-ups: --signups `POST /subscribe` with distinct addresses, from --threads threads each
     on its own keep-alive connection (http.client); each is validated, limited, stored as
     pending (committed) and mailed into the outbox before it is answered. Every answer must be
     200.
  5. One-click unsubscribes: `POST` of `List-Unsubscribe=One-Click` to each URL of step 2, the
     same way; every answer must be 200.
  6. Memory again, after a second idle; then SIGTERM, and the exit status must be 0; the
     store must hold every sign-up answered 200 as pending and every unsubscribe answered 200
     as unsubscribed (`gazette subscribers list`), and the outbox one mail per sign-up.

A phase stops early at --time-limit seconds (the rate is then over the requests done). The
figures are printed as JSON on stdout (`--json`) or as text. Stdlib only, Python 3.11.
"""

import argparse
import csv
import http.client
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from email import message_from_bytes
from pathlib import Path

SERVICE = "https://news.example.org/newsletter"
WEEK = "2022-W02"
CATEGORIES = [("xinhuashe", "新华社"), ("zhengquanribao", "证券日报"), ("markets", "市场")]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def write_site(site, client_burst):
    """The bench site: three posts in WEEK, the digest into the outbox, generous limits."""
    (site / "_posts").mkdir(parents=True)
    for i, (name, _) in enumerate(CATEGORIES):
        (site / "_posts" / ("2022-01-1%d-post-%d.md" % (i, i))).write_text(
            "---\ntitle: 第%d篇\ndate: 2022-01-1%d 09:00:00 +0800\ncategories: [%s]\n---\n"
            "正文 %d。\n" % (i + 1, i, name, i), encoding="utf-8")
    (site / "digest-secret.txt").write_text("gazette-bench-serve-secret-0123456789\n")
    names = "".join("    %s: %s\n" % pair for pair in CATEGORIES)
    (site / "_config.yml").write_text(
        'title: 基准站\nurl: "https://finews.example.com"\ntimezone: Asia/Shanghai\n'
        "lang: zh-CN\ngazette:\n  category_names:\n%s"
        "  digest:\n"
        '    from: "基准站 <digest@finews.example.com>"\n'
        '    subject: "{{site.title}} {{period.label}}"\n'
        "    secret_file: digest-secret.txt\n"
        "    state: _gazette\n"
        "    outbox: _gazette/outbox\n"
        '    archive: ""\n'
        '    serve_url: "%s"\n'
        "    serve:\n"
        "      client_burst: %d\n"
        "      client_interval_secs: 1\n"
        "      address_burst: 10\n"
        "      request_timeout_secs: 30\n" % (names, SERVICE, client_burst),
        encoding="utf-8")


def run(argv, cwd):
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv[1:3]), r.returncode,
                                                   r.stderr.strip()[-2000:]))
    return r


def unsubscribe_targets(gazette, site, count):
    """Imports `count` subscribers, sends them WEEK's digest into the outbox and returns each
    mail's List-Unsubscribe URL as a path and query on the service; empties the outbox."""
    path = site / "bench-subscribers.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["address", "name", "categories"])
        for i in range(count):
            w.writerow(["leaver%06d@example.com" % i, "读者%d" % i, ""])
    run([str(gazette), "subscribers", "import", "--site", ".", str(path)], site)
    run([str(gazette), "digest", "--site", ".", "--week", WEEK], site)
    outbox = site / "_gazette" / "outbox"
    targets = []
    for mail in sorted(p for p in outbox.rglob("*") if p.is_file()):
        header = message_from_bytes(mail.read_bytes()).get("List-Unsubscribe", "")
        for part in header.replace("\n", " ").split(","):
            url = part.strip().strip("<>").strip()
            if url.startswith(SERVICE + "/unsubscribe?"):
                targets.append(url[len(SERVICE):])
    shutil.rmtree(outbox)
    if len(targets) != count:
        raise RuntimeError("the digest gave %d unsubscribe URLs for %d subscribers"
                           % (len(targets), count))
    return targets


def memory_kb(pid):
    """VmRSS and VmHWM of `pid`, in kB, from /proc/PID/status."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


class Service:
    """`gazette serve` on 127.0.0.1 with a free port; stopped with SIGTERM."""

    def __init__(self, gazette, site):
        self.proc = subprocess.Popen(
            [str(gazette), "serve", "--site", ".", "--listen", "127.0.0.1:0"], cwd=site,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr = []
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()
        found = []

        def first_line():
            line = self.proc.stdout.readline()
            found.append(line)
            for _ in self.proc.stdout:  # keep the pipe drained
                pass

        reader = threading.Thread(target=first_line, daemon=True)
        reader.start()
        reader_deadline = time.monotonic() + 60
        while not found and time.monotonic() < reader_deadline and self.proc.poll() is None:
            time.sleep(0.01)
        line = found[0] if found else ""
        if "http://" not in line:
            self.kill()
            raise RuntimeError("gazette serve printed no address: %r %s" % (line, "".join(self.stderr)))
        host, _, port = line.split("http://", 1)[1].split()[0].rpartition(":")
        if host != "127.0.0.1":
            self.kill()
            raise RuntimeError("gazette serve listens on %s, not loopback" % host)
        self.port = int(port)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def stop(self):
        """SIGTERM; the exit status (None when it had to be killed after 30 s)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            return None


def hammer(port, requests, threads, time_limit):
    """Sends `requests` ((path, body) pairs) as form POSTs from `threads` threads, each on its
    own keep-alive connection; returns (done, seconds, statuses by count)."""
    lock = threading.Lock()
    statuses = {}
    done = [0]
    errors = []
    next_index = [0]
    deadline = time.monotonic() + time_limit
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while time.monotonic() < deadline:
                with lock:
                    i = next_index[0]
                    if i >= len(requests):
                        return
                    next_index[0] = i + 1
                path, body = requests[i]
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                    status = resp.status
                    if resp.getheader("Connection", "").lower() == "close":
                        conn.close()
                except (OSError, http.client.HTTPException) as e:
                    conn.close()
                    with lock:
                        errors.append(repr(e))
                    continue
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    done[0] += 1
        finally:
            conn.close()

    started = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    if errors:
        statuses["error"] = len(errors)
    return done[0], elapsed, statuses


def bench(gazette, signups, unsubscribes, threads, time_limit, keep=None):
    """Runs the whole benchmark; returns its figures (a dict)."""
    gazette = Path(gazette).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="gazette-bench-serve-"))
    site = tmp / "site"
    service = None
    try:
        write_site(site, client_burst=signups + unsubscribes + 1000)
        log("serve: %d subscribers and a digest for their unsubscribe URLs ..." % unsubscribes)
        targets = unsubscribe_targets(gazette, site, unsubscribes) if unsubscribes else []
        service = Service(gazette, site)
        time.sleep(1.0)
        idle = memory_kb(service.proc.pid)
        log("serve: listening on 127.0.0.1:%d, idle VmRSS %d kB" % (service.port, idle["VmRSS"]))

        signup_requests = [
            ("/subscribe", urllib.parse.urlencode(
                [("address", "joiner%06d@example.com" % i), ("name", "读者"),
                 ("categories", CATEGORIES[i % len(CATEGORIES)][0])]))
            for i in range(signups)]
        log("serve: %d sign-ups from %d threads ..." % (signups, threads))
        s_done, s_secs, s_status = hammer(service.port, signup_requests, threads, time_limit)
        log("serve: %d unsubscribes from %d threads ..." % (len(targets), threads))
        one_click = [(t, "List-Unsubscribe=One-Click") for t in targets]
        u_done, u_secs, u_status = hammer(service.port, one_click, threads, time_limit)
        time.sleep(1.0)
        after = memory_kb(service.proc.pid)
        code = service.stop()
        outbox = site / "_gazette" / "outbox"
        mails = sum(1 for p in outbox.rglob("*") if p.is_file()) if outbox.is_dir() else 0
        # What the store holds now: every sign-up pending, every one-click unsubscribed.
        listed = run([str(gazette), "subscribers", "list", "--site", "."], site).stdout
        last = listed.strip().splitlines()[-1] if listed.strip() else ""
        store = {k: int(n) for n, k in re.findall(r"(\d+) (confirmed|pending|unsubscribed)", last)}
        return {
            "threads": threads,
            "signups": {"asked": signups, "done": s_done, "seconds": s_secs,
                        "per_second": s_done / s_secs if s_secs else None,
                        "statuses": s_status, "mails": mails},
            "unsubscribes": {"asked": unsubscribes, "done": u_done, "seconds": u_secs,
                             "per_second": u_done / u_secs if u_secs else None,
                             "statuses": u_status},
            "rss_kb": {"idle": idle["VmRSS"], "after": after["VmRSS"], "peak": after["VmHWM"]},
            "store": store,
            "exit": code,
            "stderr_tail": "".join(service.stderr)[-2000:],
        }
    finally:
        if service is not None:
            service.kill()
        if keep:
            log("serve: the bench site is kept in %s" % site)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def failures(figures):
    """What went wrong in a run, in words (empty when nothing did)."""
    out = []
    for phase in ("signups", "unsubscribes"):
        f = figures[phase]
        if f["done"] < f["asked"]:
            out.append("%s: %d of %d done (time limit)" % (phase, f["done"], f["asked"]))
        other = {k: v for k, v in f["statuses"].items() if k != 200}
        if other:
            out.append("%s: answers other than 200: %s" % (phase, other))
    if figures["signups"]["mails"] != figures["signups"]["statuses"].get(200, 0):
        out.append("sign-ups: %d mails in the outbox for %d answered 200"
                   % (figures["signups"]["mails"], figures["signups"]["statuses"].get(200, 0)))
    store = figures["store"]
    if store.get("pending") != figures["signups"]["statuses"].get(200, 0):
        out.append("sign-ups: the store holds %s pending for %d answered 200"
                   % (store.get("pending"), figures["signups"]["statuses"].get(200, 0)))
    if store.get("unsubscribed") != figures["unsubscribes"]["statuses"].get(200, 0):
        out.append("unsubscribes: the store holds %s unsubscribed for %d answered 200"
                   % (store.get("unsubscribed"), figures["unsubscribes"]["statuses"].get(200, 0)))
    if figures["exit"] != 0:
        out.append("gazette serve exited with %s after SIGTERM" % figures["exit"])
    if "panicked" in figures["stderr_tail"]:
        out.append("gazette serve panicked")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gazette", required=True, help="the gazette binary")
    ap.add_argument("--signups", type=int, default=5000, help="sign-up POSTs (default 5000)")
    ap.add_argument("--unsubscribes", type=int, default=5000,
                    help="one-click unsubscribe POSTs, one per subscriber (default 5000)")
    ap.add_argument("--threads", type=int, default=8, help="client threads (default 8)")
    ap.add_argument("--time-limit", type=float, default=120,
                    help="seconds each phase may take at most (default 120)")
    ap.add_argument("--keep", action="store_true", help="keep the bench site")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    if args.signups < 1 or args.unsubscribes < 0 or args.threads < 1 or args.time_limit <= 0:
        ap.error("need --signups >= 1, --unsubscribes >= 0, --threads >= 1, --time-limit > 0")
    figures = bench(args.gazette, args.signups, args.unsubscribes, args.threads,
                    args.time_limit, keep=args.keep)
    if args.json:
        print(json.dumps(figures, indent=2, ensure_ascii=False))
    else:
        s, u, m = figures["signups"], figures["unsubscribes"], figures["rss_kb"]
        print("sign-ups: %d in %.2f s, %.0f/s" % (s["done"], s["seconds"], s["per_second"] or 0))
        print("one-click unsubscribes: %d in %.2f s, %.0f/s"
              % (u["done"], u["seconds"], u["per_second"] or 0))
        print("RSS: idle %.1f MB, after %.1f MB, peak %.1f MB"
              % (m["idle"] / 1024, m["after"] / 1024, m["peak"] / 1024))
    bad = failures(figures)
    for b in bad:
        log("serve: FAILED: " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
