#!/usr/bin/env python3
"""soak.py — memory under long runs (not part of CTest: minutes, not seconds).

  python3 scripts/soak.py [--photos 10000] [--searches 10000] [--bin build/release]
                          [--model DIR] [--keep DIR]

1. Generates N distinct small PNGs (pure Python: zlib), indexes them in ONE
   clipsearch-index run (the clip-shapes test model by default: 64 px) and samples the
   indexer's resident memory (VmRSS from /proc) as the committed count
   passes 1k, 2k, 5k and N photos, plus its peak (VmHWM).
2. Starts one `clipsearch serve` on that library and sends it N searches
   (different words each time, sequentially), sampling the server's VmRSS
   after 1k, 2k, 5k and N searches.
Peak memory is flat when the late samples are close to the early ones.
"""
import argparse
import http.client
import os
import random
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def png(width, height, seed):
    rnd = random.Random(seed)
    base = [rnd.randrange(256) for _ in range(3)]
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows += bytes(((base[0] + x * 7) & 255, (base[1] + y * 5) & 255,
                           (base[2] + (x ^ y) * seed) & 255))

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                                  0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(bytes(rows))) + chunk(b"IEND", b""))


def rss_kb(pid, key="VmRSS"):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def committed(db):
    try:
        c = sqlite3.connect("file:%s?mode=ro" % os.path.join(db, "library.sqlite3"), uri=True,
                            timeout=1)
        try:
            return c.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        finally:
            c.close()
    except sqlite3.Error:
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=10000)
    ap.add_argument("--searches", type=int, default=10000)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--model", default=os.path.join(ROOT, "..", "shared", "fixtures",
                                                     "clip-shapes"))
    ap.add_argument("--keep", help="work folder to keep (default: a temporary one)")
    a = ap.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="clipsearch-soak.")
    photos, db = os.path.join(work, "photos"), os.path.join(work, "lib")
    os.makedirs(photos, exist_ok=True)
    t = time.time()
    for i in range(a.photos):
        d = os.path.join(photos, "d%02d" % (i % 50))
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, "p%06d.png" % i)
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.write(png(40, 30, i + 1))
    print("%d photos generated in %.1f s" % (a.photos, time.time() - t))

    marks = [m for m in (1000, 2000, 5000, a.photos) if m <= a.photos]
    idx = subprocess.Popen([os.path.join(a.bin, "clipsearch-index"), "--db", db, "--model",
                            a.model, "-q", photos], stdout=subprocess.DEVNULL)
    t = time.time()
    samples, hwm, last = [], -1, (0, -1)
    while idx.poll() is None:
        n = committed(db)
        r = rss_kb(idx.pid)
        hwm = max(hwm, rss_kb(idx.pid, "VmHWM"))
        if r > 0:
            last = (n, r)
        while marks and n >= marks[0]:
            samples.append((marks.pop(0), n, r))
        time.sleep(0.05)
    if marks and last[1] > 0:
        samples.append((marks[0], last[0], last[1]))  # the last sample before it exited
    print("indexing: exit %d, %.1f s" % (idx.returncode, time.time() - t))
    for m, n, r in samples:
        print("  indexer RSS at %6d photos committed (mark %d): %7.1f MB" % (n, m, r / 1024))
    print("  indexer peak RSS (VmHWM, last sample): %7.1f MB" % (hwm / 1024))

    srv = subprocess.Popen([os.path.join(a.bin, "clipsearch"), "serve", "--db", db, "--model",
                            a.model, "--port", "0", "--cache", ""],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = srv.stdout.readline().strip()
    u = urllib.parse.urlsplit(url)
    words = ["dog", "beach", "red", "car", "sunset", "a photo", "mountain", "cat", "city",
             "night", "tree", "blue sky", "people", "food", "snow", "river"]
    marks = [m for m in (1, 1000, 2000, 5000, a.searches) if m <= a.searches]
    t = time.time()
    bad = 0
    ssamples = []
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    for i in range(1, a.searches + 1):
        q = "%s %s %d" % (words[i % len(words)], words[(i * 7) % len(words)], i)
        try:
            conn.request("GET", "/api/search?n=20&q=" + urllib.parse.quote(q),
                         headers={"Host": "127.0.0.1:%d" % u.port})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                bad += 1
        except (OSError, http.client.HTTPException):
            bad += 1
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        if marks and i == marks[0]:
            ssamples.append((marks.pop(0), rss_kb(srv.pid)))
    conn.close()
    el = time.time() - t
    print("searching: %d searches in %.1f s (%.0f/s), %d failed" %
          (a.searches, el, a.searches / el, bad))
    for n, r in ssamples:
        print("  server RSS after %6d searches: %7.1f MB" % (n, r / 1024))
    srv.send_signal(signal.SIGTERM)
    srv.wait(timeout=30)
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if bad or idx.returncode != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
