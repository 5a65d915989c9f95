#!/usr/bin/env python3
"""e2e_concurrency.py — two indexers on one library, searches while indexing.

- While the library's writer lock (indexer.lock) is held, clipsearch-index
  exits 5 at once with a message and leaves the database as it was;
  `--wait` waits and then indexes; `clipsearch check --repair` says busy.
- Two clipsearch-index started at the same moment: one indexes, the other
  exits 5 (or, if the first was already done, finds nothing to do); the
  library then holds every photo exactly once.
- CLI searches during an indexing run all succeed (exit 0; exit 3 only
  before the first batch is committed), and so do HTTP searches to a
  running `clipsearch serve` while photos are added; the server then finds
  the new photos.

clip-shapes model and photos; Python standard library only.  Skips (77)
without the fixtures.
"""
import fcntl
import hashlib
import http.client
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse

BIN = os.environ.get("CLIPSEARCH_BIN_DIR")
FIX = os.environ.get("CLIPSEARCH_FIXTURES_DIR")
if not BIN or not FIX:
    print("CLIPSEARCH_BIN_DIR / CLIPSEARCH_FIXTURES_DIR not set")
    sys.exit(1)
MODEL = os.path.join(FIX, "clip-shapes")
for f in ("clip-shapes/model.safetensors", "clip-shapes/vocab.json", "clip-shapes/photos"):
    if not os.path.exists(os.path.join(FIX, f)):
        print("SKIP: fixture %s missing" % f)
        sys.exit(77)
CS = os.path.join(BIN, "clipsearch")
IDX = os.path.join(BIN, "clipsearch-index")
T = tempfile.mkdtemp(prefix="e2e_concurrency.")
env = dict(os.environ, HOME=T, XDG_CACHE_HOME=os.path.join(T, "cache"))
env.pop("CLIPSEARCH_DB", None)
env.pop("CLIPSEARCH_MODEL", None)
fails = 0
checks = 0


def check(what, cond, detail=""):
    global fails, checks
    checks += 1
    if not cond:
        fails += 1
        print("FAIL: %s %s" % (what, detail), file=sys.stderr)
    return cond


def index(db, folder, *extra, wait=True):
    args = [IDX, "--db", db, "--model", MODEL, "-q", "--threads", "1"] + list(extra) + [folder]
    if not wait:
        return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    return subprocess.run(args, env=env, capture_output=True, text=True)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def embeddings(db):
    c = sqlite3.connect(os.path.join(db, "library.sqlite3"))
    try:
        n = c.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        dup = c.execute("SELECT count(*) FROM (SELECT 1 FROM embeddings GROUP BY file_id,"
                        " model_id HAVING count(*) > 1)").fetchone()[0]
        files = c.execute("SELECT count(*) FROM files").fetchone()[0]
        return n, dup, files
    finally:
        c.close()


try:
    shapes = sorted(os.listdir(os.path.join(FIX, "clip-shapes", "photos")))
    shapes = [p for p in shapes if p.endswith(".jpg")]
    P = os.path.join(T, "photos")
    os.makedirs(P)
    for name in shapes:
        shutil.copy(os.path.join(FIX, "clip-shapes", "photos", name), P)
    n_all = len(shapes)

    # ---- the writer lock held (as by a running indexer) ------------------------
    DB = os.path.join(T, "lib")
    r = index(DB, P, "--batch", "64")
    check("first index", r.returncode == 0, r.stderr)
    extra = os.path.join(T, "extra")
    os.makedirs(extra)
    shutil.copy(os.path.join(FIX, "images", "astronaut.jpg"), extra)
    before = digest(os.path.join(DB, "library.sqlite3"))
    with open(os.path.join(DB, "indexer.lock"), "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        t = time.time()
        r = index(DB, extra)
        check("busy: exit 5", r.returncode == 5, "%d %s" % (r.returncode, r.stderr))
        check("busy: says so", "another clipsearch-index" in r.stderr and "--wait" in r.stderr,
              r.stderr)
        check("busy: at once", time.time() - t < 20, "%.1f s" % (time.time() - t))
        check("busy: nothing written", digest(os.path.join(DB, "library.sqlite3")) == before)
        r = subprocess.run([CS, "check", "--repair", "--db", DB], env=env, capture_output=True,
                           text=True)
        check("check --repair while an indexer runs: exit 1, busy",
              r.returncode == 1 and "another clipsearch-index" in r.stderr,
              "%d %s" % (r.returncode, r.stderr))
        p = index(DB, extra, "--wait", wait=False)
        time.sleep(1.0)
        check("--wait: still waiting while the lock is held", p.poll() is None)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    check("--wait: indexes once the lock is free", p.returncode == 0, err)
    n, dup, files = embeddings(DB)
    check("--wait: the photo was added", n == n_all + 1, "%d" % n)

    # ---- two indexers at the same moment ----------------------------------------
    DB2 = os.path.join(T, "lib2")
    a = index(DB2, P, "--batch", "8", wait=False)
    b = index(DB2, P, "--batch", "8", wait=False)
    ra, rb = a.wait(timeout=300), b.wait(timeout=300)
    ea, eb = a.stderr.read(), b.stderr.read()
    a.stdout.close(), b.stdout.close(), a.stderr.close(), b.stderr.close()
    check("two indexers: one indexes, the other is refused (or found it done)",
          sorted((ra, rb)) in ([0, 5], [0, 0]), "%d %d %s %s" % (ra, rb, ea, eb))
    n, dup, files = embeddings(DB2)
    check("two indexers: every photo exactly once", n == n_all and dup == 0 and files == n_all,
          "%d embeddings, %d duplicates, %d files for %d photos" % (n, dup, files, n_all))

    # ---- CLI searches during indexing -------------------------------------------
    DB3 = os.path.join(T, "lib3")
    p = index(DB3, P, "--batch", "2", wait=False)
    codes = []
    while True:
        done = p.poll() is not None
        r = subprocess.run([CS, "--db", DB3, "--model", MODEL, "-n", "3", "a red circle"],
                           env=env, capture_output=True, text=True)
        codes.append(r.returncode)
        if r.returncode not in (0, 3):
            check("a search during indexing failed", False, "%d %s" % (r.returncode, r.stderr))
        if done:
            break
    p.communicate()
    check("indexing under searches: exit 0", p.returncode == 0)
    check("CLI searches during indexing: all succeed (%d searches, %d while the library "
          "was still empty)" % (len(codes), codes.count(3)),
          all(c in (0, 3) for c in codes) and codes[-1] == 0 and codes.count(0) >= 1,
          str(codes))
    print("%d CLI searches during an indexing run: %d found photos, %d before the first "
          "commit" % (len(codes), codes.count(0), codes.count(3)))

    # ---- HTTP searches to a server during indexing -------------------------------
    DB4 = os.path.join(T, "lib4")
    half = os.path.join(T, "half")
    os.makedirs(half)
    for name in shapes[: n_all // 2]:
        os.link(os.path.join(P, name), os.path.join(half, name))
    r = index(DB4, half)
    check("index half", r.returncode == 0, r.stderr)
    S = subprocess.Popen([CS, "serve", "--db", DB4, "--model", MODEL, "--port", "0", "--cache",
                          ""], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    url = S.stdout.readline().strip()
    if not check("server starts", url.startswith("http://"), url):
        raise SystemExit(1)
    u = urllib.parse.urlsplit(url)

    def search(q):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        try:
            c.request("GET", "/api/search?n=400&q=" + urllib.parse.quote(q),
                      headers={"Host": "127.0.0.1:%d" % u.port})
            resp = c.getresponse()
            return resp.status, resp.read()
        finally:
            c.close()

    for name in shapes[n_all // 2:]:
        os.link(os.path.join(P, name), os.path.join(half, name))
    p = index(DB4, half, "--batch", "2", wait=False)
    statuses = []
    while True:
        done = p.poll() is not None
        st, body = search("a blue square")
        statuses.append(st)
        if st != 200:
            check("an HTTP search during indexing failed", False, "%d %s" % (st, body[:200]))
        if done:
            break
    p.communicate()
    check("indexing under the server: exit 0", p.returncode == 0)
    print("%d HTTP searches during an indexing run, statuses %s" %
          (len(statuses), sorted(set(statuses))))
    check("HTTP searches during indexing: all 200 (%d)" % len(statuses),
          all(s == 200 for s in statuses) and len(statuses) >= 1)
    deadline = time.time() + 30
    n_seen = 0
    while time.time() < deadline:
        st, body = search("a blue square")
        n_seen = len(json.loads(body)["results"]) if st == 200 else -1
        if n_seen == n_all:
            break
        time.sleep(0.5)
    check("the server finds every photo after indexing", n_seen == n_all,
          "%d of %d" % (n_seen, n_all))
    S.send_signal(signal.SIGTERM)
    try:
        check("server stops: exit 0", S.wait(timeout=20) == 0)
    except subprocess.TimeoutExpired:
        S.kill()
        check("server stops", False)
    S.stdout.close()
    S.stderr.close()
finally:
    shutil.rmtree(T, ignore_errors=True)

print("e2e_concurrency: %d checks, %d failed" % (checks, fails))
sys.exit(1 if fails else 0)
