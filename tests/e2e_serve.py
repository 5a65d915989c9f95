#!/usr/bin/env python3
"""e2e_serve.py — end-to-end test of `clipsearch serve` and its HTTP API.

Indexes the clip-shapes photos (a small CLIP that was trained, so "a red
circle" must find red circles) plus an EXIF-rotated photo and a dated one,
starts a real server on 127.0.0.1 --port 0 (URL from the first stdout line)
and checks every endpoint, the security rules and the bad requests of
issue 10, then that SIGTERM stops it with exit 0.  Python standard library
only.  Skips (77) without the fixtures.
"""
import fcntl
import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

BIN = os.environ.get("CLIPSEARCH_BIN_DIR")
FIX = os.environ.get("CLIPSEARCH_FIXTURES_DIR")
HERE = os.path.dirname(os.path.abspath(__file__))
if not BIN or not FIX:
    print("CLIPSEARCH_BIN_DIR / CLIPSEARCH_FIXTURES_DIR not set")
    sys.exit(1)
SHAPES = os.path.join(FIX, "clip-shapes")
for f in ("clip-shapes/model.safetensors", "clip-shapes/vocab.json", "clip-shapes/photos",
          "images/coffee_exif8.jpg", "images/broken/huge_dimensions.jpg",
          "images/broken/truncated.jpg"):
    if not os.path.exists(os.path.join(FIX, f)):
        print("SKIP: fixture %s missing" % f)
        sys.exit(77)

CS = os.path.join(BIN, "clipsearch")
IDX = os.path.join(BIN, "clipsearch-index")
T = tempfile.mkdtemp(prefix="e2e_serve.")
fails = 0
checks = 0


def check(what, cond, detail=""):
    global fails, checks
    checks += 1
    if not cond:
        fails += 1
        print("FAIL: %s %s" % (what, detail), file=sys.stderr)
    return cond


def jpeg_size(data):
    """(width, height) from a JPEG's SOF marker, None if it is not a JPEG."""
    if data[:2] != b"\xff\xd8" or data[-2:] != b"\xff\xd9":
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        m = data[i + 1]
        n = struct.unpack(">H", data[i + 2:i + 4])[0]
        if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + n
    return None


env = dict(os.environ)
env.update(HOME=os.path.join(T, "home"), XDG_CACHE_HOME=os.path.join(T, "cache"),
           XDG_DATA_HOME=os.path.join(T, "data"))
for k in ("CLIPSEARCH_MODEL", "CLIPSEARCH_DB"):
    env.pop(k, None)
os.makedirs(env["HOME"])
OPENED = os.path.join(T, "opened.txt")
opener = os.path.join(T, "opener.sh")
with open(opener, "w") as f:
    f.write('#!/bin/sh\nprintf "%%s\\n" "$1" >> "%s"\n' % OPENED)
os.chmod(opener, 0o755)
env["CLIPSEARCH_OPENER"] = opener

# Photos: the shapes, and in other/ an EXIF-rotated photo, a dated copy and
# two photos that will become a symlink out of the library and a removed one.
P = os.path.join(T, "photos")
shutil.copytree(os.path.join(SHAPES, "photos"), os.path.join(P, "shapes"),
                ignore=shutil.ignore_patterns("*.json"))
O = os.path.join(P, "other")
os.makedirs(O)
shutil.copy(os.path.join(FIX, "images", "coffee_exif8.jpg"), O)
shutil.copy(os.path.join(FIX, "images", "chelsea_444.jpg"), os.path.join(O, "to_symlink.jpg"))
shutil.copy(os.path.join(FIX, "images", "astronaut.jpg"), os.path.join(O, "to_remove.jpg"))
subprocess.run([sys.executable, os.path.join(HERE, "exif_date.py"),
                os.path.join(FIX, "images", "rocket.jpg"), os.path.join(O, "dated_2015.jpg"),
                "2015:06:01 12:00:00"], check=True)
n_photos = len(os.listdir(os.path.join(P, "shapes"))) + len(os.listdir(O))
DB = os.path.join(T, "lib")
MODEL = SHAPES
r = subprocess.run([IDX, "--db", DB, "--model", MODEL, "-q", P], env=env,
                   capture_output=True, text=True)
if r.returncode != 0:
    print("FAIL: indexing failed: " + r.stderr)
    sys.exit(1)
outside = os.path.join(T, "secret.txt")
with open(outside, "w") as f:
    f.write("not a photo of the library\n")


class Server:
    def __init__(self, *args):
        self.p = subprocess.Popen([CS, "serve", "--db", DB, "--model", MODEL, "--port", "0"] +
                                  list(args), env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.url = self.p.stdout.readline().strip()
        if not self.url.startswith("http://"):
            err = self.p.stderr.read()
            raise SystemExit("FAIL: server did not start: %r %s" % (self.url, err))
        u = urllib.parse.urlsplit(self.url)
        self.host, self.port = u.hostname, u.port
        self.query = u.query

    def request(self, method, path, body=None, headers=None, host=None):
        h = {"Host": host if host is not None else "127.0.0.1:%d" % self.port}
        if headers:
            h.update(headers)
        c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for k, v in h.items():
                c.putheader(k, v)
            if body is not None:
                c.putheader("Content-Length", str(len(body)))
            c.endheaders(body)
            resp = c.getresponse()
            data = resp.read()
            return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), data
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def json(self, path, **kw):
        st, hd, data = self.get(path, **kw)
        try:
            return st, json.loads(data)
        except ValueError:
            return st, None

    def alive(self):
        st, _, _ = self.get("/api/stats")
        return st == 200

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return None


def names(results):
    return [os.path.basename(r["path"]) for r in results]


S = Server("--timeout", "2")
try:
    ORIGIN = {"Origin": "http://127.0.0.1:%d" % S.port}
    # ---- the page -----------------------------------------------------------
    st, hd, page = S.get("/")
    check("page 200", st == 200 and hd.get("content-type", "").startswith("text/html"))
    with open(os.path.join(os.environ.get("CLIPSEARCH_SOURCE_DIR", os.path.join(HERE, "..")),
                           "web", "index.html"), "rb") as f:
        check("page is web/index.html, embedded", page == f.read())
    check("page has a CSP", "default-src 'self'" in hd.get("content-security-policy", ""))
    for asset, ctype in (("/app.js", "text/javascript"), ("/style.css", "text/css")):
        st, hd, _ = S.get(asset)
        check("asset " + asset, st == 200 and hd.get("content-type", "").startswith(ctype))
    check("no CORS headers", "access-control-allow-origin" not in hd)

    # ---- stats ----------------------------------------------------------------
    st, stats = S.json("/api/stats")
    check("stats 200", st == 200, str(stats))
    check("stats photos", stats["photos"] == n_photos, "%s vs %d" % (stats["photos"], n_photos))
    check("stats model", stats["model"] == "clip-shapes" and stats["dim"] == 64, str(stats))
    check("stats library", stats["library"] == os.path.realpath(DB), stats["library"])
    check("stats generation", isinstance(stats["generation"], int))
    check("stats not indexing", stats["indexing"] is False)
    # The indexer holds an exclusive flock on indexer.lock while it runs.
    with open(os.path.join(DB, "indexer.lock"), "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        st, s2 = S.json("/api/stats")
        check("stats indexing while the lock is held", s2["indexing"] is True, str(s2))
    st, s2 = S.json("/api/stats")
    check("stats not indexing after", s2["indexing"] is False)

    # ---- search: shapes, meaning, paging ---------------------------------------
    st, res = S.json("/api/search?q=a+red+circle&n=10")
    check("search 200", st == 200, str(res))
    items = res["results"]
    check("search n", len(items) == 10)
    check("search total_ms", isinstance(res["total_ms"], float) and res["total_ms"] >= 0)
    keys = {"id", "path", "score", "width", "height", "taken", "camera"}
    check("result keys", all(keys <= set(r) for r in items), str(items[:1]))
    check("result types", all(isinstance(r["id"], int) and isinstance(r["score"], float) and
                              isinstance(r["width"], int) and r["width"] > 0 and
                              r["path"].startswith("/") for r in items))
    check("best first", all(items[i]["score"] >= items[i + 1]["score"]
                            for i in range(len(items) - 1)))
    red5 = sum("red_circle" in n for n in names(items[:5]))
    check("'a red circle' finds red circles", red5 >= 4, str(names(items[:5])))
    st, blue = S.json("/api/search?q=a%20blue%20square&n=5")
    check("'a blue square' finds blue squares",
          sum("blue_square" in n for n in names(blue["results"])) >= 4,
          str(names(blue["results"])))
    _, a = S.json("/api/search?q=a+red+circle&n=5&offset=0")
    _, b = S.json("/api/search?q=a+red+circle&n=5&offset=5")
    check("paging", [r["id"] for r in a["results"] + b["results"]] == [r["id"] for r in items])
    check("has_more", a["has_more"] is True)
    _, last = S.json("/api/search?q=a+red+circle&n=10&offset=%d" % (n_photos - 3))
    check("last page", len(last["results"]) == 3 and last["has_more"] is False, str(last))
    # Query arithmetic: subtracting "red" leaves fewer red photos than adding it.
    _, plus = S.json("/api/search?q=circle+%2Bred&n=20")
    _, minus = S.json("/api/search?q=circle+-red&n=20")
    nred = lambda rs: sum("red" in n for n in names(rs["results"]))
    check("query arithmetic (+red vs -red)", nred(plus) > nred(minus) + 5,
          "%d vs %d" % (nred(plus), nred(minus)))

    # ---- filters ----------------------------------------------------------------
    _, f = S.json("/api/search?q=a+photo&n=50&in=" + urllib.parse.quote(O + "/"))
    check("in= filter", len(f["results"]) == len(os.listdir(O)) and
          all(r["path"].startswith(O + "/") for r in f["results"]), str(names(f["results"])))
    _, f = S.json("/api/search?q=a+photo&n=50&after=2015&before=2016")
    check("after/before", names(f["results"]) == ["dated_2015.jpg"], str(names(f["results"])))
    check("taken", f["results"] and f["results"][0]["taken"] == "2015-06-01 12:00:00")
    _, f = S.json("/api/search?q=a+photo&n=50&after=2016")
    check("after excludes", f["results"] == [])
    _, f = S.json("/api/search?q=a+red+circle&n=500&threshold=0.8")
    check("threshold", f["results"] and all(r["score"] >= 0.8 for r in f["results"]) and
          len(f["results"]) < n_photos)

    # ---- similar and search by example ------------------------------------------
    rc = items[0]
    st, sim = S.json("/api/similar?id=%d&n=5" % rc["id"])
    check("similar 200", st == 200, str(sim))
    check("similar excludes the photo", rc["id"] not in [r["id"] for r in sim["results"]])
    check("similar finds red things and circles",
          sum("red_circle" in n for n in names(sim["results"])) >= 2 and
          all("red" in n or "circle" in n for n in names(sim["results"])),
          str(names(sim["results"])))
    with open(rc["path"], "rb") as fh:
        photo = fh.read()
    st, hd, data = S.request("POST", "/api/search?n=3", body=photo, headers=ORIGIN)
    ex = json.loads(data)
    check("POST by example 200", st == 200, str(ex))
    check("POST by example finds the photo",
          ex["results"][0]["id"] == rc["id"] and ex["results"][0]["score"] > 0.99, str(ex))
    st, _, _ = S.request("POST", "/api/search?n=3", body=photo)
    check("POST without Origin: 403", st == 403)
    st, _, _ = S.request("POST", "/api/search?n=3", body=photo,
                         headers={"Origin": "http://evil.example"})
    check("POST from another origin: 403", st == 403)

    # ---- thumbnails ------------------------------------------------------------
    _, f = S.json("/api/search?q=coffee&n=50&in=" + urllib.parse.quote(O))
    coffee = [r for r in f["results"] if r["path"].endswith("coffee_exif8.jpg")][0]
    with open(coffee["path"], "rb") as fh:
        stored = jpeg_size(fh.read())
    check("upright size recorded (EXIF 8 swaps the sides)",
          stored == (coffee["height"], coffee["width"]) and stored[0] != stored[1],
          "%s %s" % (stored, coffee))
    st, hd, th = S.get("/api/thumb?id=%d&size=128" % coffee["id"])
    check("thumb 200 JPEG", st == 200 and hd.get("content-type") == "image/jpeg")
    wh = jpeg_size(th)
    check("thumb is a JPEG, long side 128, upright",
          wh is not None and max(wh) == 128 and
          (wh[0] > wh[1]) == (coffee["width"] > coffee["height"]), str(wh))
    # Pixels upright too: the thumbnail, seen by `clipsearch preprocess`, matches
    # the EXIF-rotated original far better than any other rotation of it.
    tf = os.path.join(T, "thumb.jpg")
    with open(tf, "wb") as fh:
        fh.write(th)

    def tensor(path):
        out = subprocess.run([CS, "preprocess", path, "-o", "-", "--size", "32"],
                             capture_output=True, env=env).stdout
        return struct.unpack("<%df" % (len(out) // 4), out)

    up, mine = tensor(os.path.join(O, "coffee_exif8.jpg")), tensor(tf)

    def rot(t, k):  # rotate each 32x32 channel by k quarter turns
        out = []
        for c in range(3):
            ch = [t[c * 1024 + y * 32:(c * 1024) + y * 32 + 32] for y in range(32)]
            for _ in range(k):
                ch = [list(r) for r in zip(*ch[::-1])]
            out += [v for r in ch for v in r]
        return out

    dist = lambda a, b: sum(abs(x - y) for x, y in zip(a, b)) / len(a)
    d0 = dist(mine, up)
    others = [dist(mine, rot(up, k)) for k in (1, 2, 3)]
    check("thumb pixels upright", len(mine) == 3072 and d0 < 0.5 * min(others),
          "%.3f vs %s" % (d0, others))
    check("thumb ETag", hd.get("etag", "").startswith('"'), str(hd))
    check("thumb Cache-Control", "max-age=" in hd.get("cache-control", ""))
    cached = [os.path.join(dp, n) for dp, _, ns in os.walk(os.path.join(T, "cache")) for n in ns]
    check("thumb cached on disk", any(n.endswith("-128.jpg") for n in cached), str(cached))
    check("no temporary files left", not any(".tmp." in n for n in cached))
    st, hd2, th2 = S.get("/api/thumb?id=%d&size=128" % coffee["id"])
    check("cached thumb identical", st == 200 and th2 == th and hd2.get("etag") == hd["etag"])
    st, hd3, body = S.get("/api/thumb?id=%d&size=128" % coffee["id"],
                          headers={"If-None-Match": hd["etag"]})
    check("If-None-Match: 304", st == 304 and body == b"", str(st))
    st, _, th = S.get("/api/thumb?id=%d" % coffee["id"])
    wh = jpeg_size(th)
    check("thumb default size 256", st == 200 and wh and max(wh) == 256, str(wh))
    st, _, th = S.get("/api/thumb?id=%d&size=1024" % rc["id"])
    wh = jpeg_size(th)
    check("thumb never upscaled", st == 200 and wh == (rc["width"], rc["height"]), str(wh))
    for bad in ("size=2000", "size=0", "size=abc", "size="):
        st, _, _ = S.get("/api/thumb?id=%d&%s" % (rc["id"], bad))
        check("thumb " + bad + ": 400", st == 400, str(st))

    # ---- photos -------------------------------------------------------------------
    st, hd, data = S.get("/api/photo?id=%d" % rc["id"])
    check("photo bytes", st == 200 and data == photo and hd.get("content-type") == "image/jpeg")

    # ---- bad requests: 4xx, never a file's contents, and the server lives on ------
    ids = {r["path"]: r["id"] for r in f["results"]}
    bad = [
        ("/api/photo?id=99999999", 404), ("/api/photo?id=abc", 400),
        ("/api/photo?id=-1", 400), ("/api/photo?id=", 400), ("/api/photo", 400),
        ("/api/photo?path=/etc/passwd", 400), ("/api/photo?id=1%00", 400),
        ("/api/photo?id=%zz", 400), ("/api/photo?id=%4", 400),
        ("/../../etc/passwd", 404), ("/%2e%2e/%2e%2e/etc/passwd", 404),
        ("/api/../../etc/passwd", 404), ("/etc/passwd", 404), ("//etc/passwd", 404),
        ("/%00", 400), ("/api/thumb?id=1&id=2&" + "x=1&" * 40, 400),
        ("/api/search?q=" + "a" * 9000, 414), ("/api/search", 400), ("/api/search?q=", 400),
        ("/api/search?q=%20%20", 400), ("/api/search?q=x&n=0", 400),
        ("/api/search?q=x&n=100000", 400), ("/api/search?q=x&offset=-1", 400),
        ("/api/search?q=x&threshold=nan", 400), ("/api/search?q=x&after=yesterday", 400),
        ("/api/search?q=x&in=relative/dir", 400), ("/api/similar?id=99999999", 404),
        ("/api/similar", 400), ("/api/nothing", 404), ("/api/stats/../photo", 404),
    ]
    for path, want in bad:
        st, hd, data = S.get(path)
        ok = st == want and hd.get("content-type") == "application/json"
        try:
            ok = ok and "error" in json.loads(data)
        except ValueError:
            ok = False
        check("bad request %s -> %d" % (path[:60], want), ok, "got %d %r" % (st, data[:100]))
    st, _, data = S.request("DELETE", "/api/stats")
    check("DELETE: 405", st == 405)
    st, _, data = S.request("POST", "/api/stats", body=b"", headers=ORIGIN)
    check("POST to a GET endpoint: 405", st == 405)
    # Uploads: not an image, truncated, a header claiming 65000x65000, empty, too big.
    uploads = [(b"hello, not an image" * 10, 415), (b"", 400)]
    for name, want in (("truncated.jpg", 400), ("huge_dimensions.jpg", 413),
                       ("not_an_image.jpg", 415), ("empty.jpg", 400)):
        p = os.path.join(FIX, "images", "broken", name)
        if os.path.exists(p):
            with open(p, "rb") as fh:
                uploads.append((fh.read(), want))
    for body, want in uploads:
        st, hd, data = S.request("POST", "/api/search", body=body, headers=ORIGIN)
        check("bad upload (%d bytes) -> %d" % (len(body), want),
              st == want and b"error" in data, "got %d %r" % (st, data[:120]))
    # 33 MB sent chunked (no length up front): read, discarded past 32 MB, 413.
    c = socket.create_connection((S.host, S.port), timeout=30)
    c.sendall(b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n" % (S.port, ORIGIN["Origin"].encode()))
    chunk = b"%x\r\n" % (1 << 20) + b"\xff\xd8" + b"x" * ((1 << 20) - 2) + b"\r\n"
    try:
        for _ in range(33):
            c.sendall(chunk)
        c.sendall(b"0\r\n\r\n")
        line = c.recv(4096).split(b"\r\n")[0]
    except OSError as e:
        line = str(e).encode()
    check("33 MB chunked upload: 413", b" 413 " in line, str(line))
    c.close()
    # A Content-Length over the limit is refused before the body is read.
    c = socket.create_connection((S.host, S.port), timeout=10)
    c.sendall(b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\n"
              b"Content-Length: 1000000000\r\n\r\n" % (S.port, ORIGIN["Origin"].encode()))
    check("claimed 1 GB upload: 413 at once", b" 413 " in c.recv(4096).split(b"\r\n")[0])
    c.close()
    # Huge headers are refused by libmicrohttpd's own limit.
    st, _, _ = S.get("/api/stats", headers={"X-Junk": "j" * 100000})
    check("huge header: 4xx", 400 <= st < 500, str(st))
    check("alive after bad requests", S.alive())

    # ---- files that changed on disk ------------------------------------------------
    sym = os.path.join(O, "to_symlink.jpg")
    os.unlink(sym)
    os.symlink(outside, sym)
    rm = os.path.join(O, "to_remove.jpg")
    os.unlink(rm)
    for path, want in ((sym, 403), (rm, 404)):
        for ep in ("photo", "thumb"):
            st, _, data = S.get("/api/%s?id=%d" % (ep, ids[path]))
            check("%s of %s -> %d" % (ep, os.path.basename(path), want),
                  st == want and b"not a photo" not in data, "got %d %r" % (st, data[:80]))

    # ---- reveal ------------------------------------------------------------------
    st, _, data = S.request("POST", "/api/reveal?id=%d" % rc["id"], body=b"", headers=ORIGIN)
    check("reveal 200", st == 200, str(data))
    with open(OPENED) as fh:
        got = fh.read().strip()
    check("reveal opened the folder", got == os.path.dirname(os.path.realpath(rc["path"])),
          "%r" % got)
    st, _, _ = S.request("POST", "/api/reveal?id=%d" % rc["id"], body=b"")
    check("reveal without Origin: 403", st == 403)
    st, _, _ = S.request("POST", "/api/reveal?id=99999999", body=b"", headers=ORIGIN)
    check("reveal unknown id: 404", st == 404)
    st, _, _ = S.get("/api/reveal?id=%d" % rc["id"])
    check("reveal by GET: 405", st == 405)

    # ---- Host header (DNS rebinding) and cross-site fetches ------------------------
    for host, want in (("evil.example", 403), ("evil.example:%d" % S.port, 403),
                       ("127.0.0.1:1", 403), ("localhost:%d" % S.port, 200),
                       ("LOCALHOST:%d" % S.port, 200), ("127.0.0.1", 200), ("", 403)):
        st, _, _ = S.get("/api/stats", host=host)
        check("Host %r -> %d" % (host, want), st == want, str(st))
    for site in ("cross-site", "same-site"):
        st, _, _ = S.get("/api/stats", headers={"Sec-Fetch-Site": site})
        check(site + " fetch: 403", st == 403)
    st, _, _ = S.get("/", headers={"Sec-Fetch-Site": "cross-site"})
    check("cross-site navigation to the page: 200", st == 200)
    st, _, _ = S.get("/api/stats", headers={"Sec-Fetch-Site": "same-origin"})
    check("same-origin fetch: 200", st == 200)

    # ---- silent and slow clients, many at once ---------------------------------------
    silent = [socket.create_connection((S.host, S.port)) for _ in range(20)]
    slow = socket.create_connection((S.host, S.port))
    slow.sendall(b"GET /api/stats HTTP/1.1\r\nHo")
    t0 = time.time()
    check("answers while 21 clients stall", S.alive() and time.time() - t0 < 2)
    silent[0].settimeout(10)
    try:
        closed = silent[0].recv(100) == b""
    except (socket.timeout, ConnectionResetError):
        closed = not isinstance(sys.exc_info()[1], socket.timeout)
    check("silent client dropped after the timeout", closed and time.time() - t0 < 8,
          "%.1fs" % (time.time() - t0))
    for s in silent + [slow]:
        s.close()

    def one(i):
        if i % 3 == 0:
            st, _, data = S.get("/api/search?q=a+%s+star&n=5" % ["red", "blue", "green"][i % 9 // 3])
            return st == 200 and len(json.loads(data)["results"]) == 5
        if i % 3 == 1:
            st, _, data = S.get("/api/thumb?id=%d&size=64" % items[i % 10]["id"])
            return st == 200 and jpeg_size(data) is not None
        st, _, data = S.get("/api/similar?id=%d&n=3" % items[i % 10]["id"])
        return st == 200

    with ThreadPoolExecutor(max_workers=50) as ex:
        oks = list(ex.map(one, range(300)))
    check("300 concurrent requests", all(oks), "%d failed" % oks.count(False))
    socks = []
    try:
        for _ in range(300):
            socks.append(socket.create_connection((S.host, S.port), timeout=5))
    except OSError:
        pass
    for s in socks:
        s.close()
    time.sleep(0.3)
    check("alive after 300 connections at once", S.alive())

    # ---- re-index while serving ----------------------------------------------------
    gen0 = S.json("/api/stats")[1]["generation"]
    shutil.copy(os.path.join(FIX, "images", "motorcycle.jpg"), os.path.join(O, "new_photo.jpg"))
    r = subprocess.run([IDX, "--db", DB, "--model", MODEL, "-q", P], env=env,
                       capture_output=True, text=True)
    check("re-index", r.returncode == 0, r.stderr)
    _, s2 = S.json("/api/stats")
    check("stats follow the re-index", s2["generation"] != gen0 and
          s2["photos"] == n_photos - 2 + 1, str(s2))
    _, f = S.json("/api/search?q=a+photo&n=50&in=" + urllib.parse.quote(O))
    new = [r for r in f["results"] if r["path"].endswith("new_photo.jpg")]
    check("new photo found without a restart", len(new) == 1, str(names(f["results"])))
    check("removed photo gone from results",
          not any(r["path"].endswith("to_remove.jpg") for r in f["results"]))
    if new:
        st, _, _ = S.get("/api/thumb?id=%d" % new[0]["id"])
        check("new photo's thumbnail", st == 200)
    # While an indexer runs (its lock held), searches keep the vector index
    # they have for a while rather than rebuilding it for every batch.  (The
    # lock admits one indexer at a time: this one commits first, then the
    # test holds the lock as a running indexer would.)
    S.json("/api/search?q=a+photo&n=5")  # follows the library: now fresh
    shutil.copy(os.path.join(FIX, "images", "panorama.jpg"), os.path.join(O, "newer.jpg"))
    r = subprocess.run([IDX, "--db", DB, "--model", MODEL, "-q", P], env=env,
                       capture_output=True, text=True)
    check("re-index 2", r.returncode == 0, r.stderr)
    with open(os.path.join(DB, "indexer.lock"), "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        r = subprocess.run([IDX, "--db", DB, "--model", MODEL, "-q", P], env=env,
                           capture_output=True, text=True)
        check("a second indexer is refused while one runs (exit 5)", r.returncode == 5 and
              "another clipsearch-index" in r.stderr, "%d %s" % (r.returncode, r.stderr))
        _, f = S.json("/api/search?q=a+photo&n=50&in=" + urllib.parse.quote(O))
        check("during indexing: the index in memory is kept",
              not any(r["path"].endswith("newer.jpg") for r in f["results"]) and
              any(r["path"].endswith("new_photo.jpg") for r in f["results"]),
              str(names(f["results"])))
        check("stats say indexing", S.json("/api/stats")[1]["indexing"] is True)
    _, f = S.json("/api/search?q=a+photo&n=50&in=" + urllib.parse.quote(O))
    check("after indexing: the new photo is found",
          any(r["path"].endswith("newer.jpg") for r in f["results"]), str(names(f["results"])))
finally:
    rc_ = S.stop()
check("SIGTERM: exit 0", rc_ == 0, str(rc_))

# ---- token mode -------------------------------------------------------------------
S = Server("--require-token")
try:
    tok = urllib.parse.parse_qs(S.query).get("token", [""])[0]
    check("URL carries a token", len(tok) == 64, S.url)
    for path in ("/", "/api/stats", "/api/search?q=red", "/app.js"):
        st, _, _ = S.get(path)
        check("no token: 401 for " + path, st == 401, str(st))
    st, _, _ = S.get("/api/stats?token=" + "0" * 64)
    check("wrong token: 401", st == 401)
    st, hd, _ = S.get("/?token=" + tok)
    check("token in URL: 200", st == 200)
    cookie = hd.get("set-cookie", "")
    check("token kept in a cookie", cookie.startswith("clipsearch_token_%d=%s" % (S.port, tok)) and
          "HttpOnly" in cookie and "SameSite=Strict" in cookie, cookie)
    st, _, _ = S.get("/api/stats", headers={"Cookie": "clipsearch_token_%d=%s" % (S.port, tok)})
    check("token cookie: 200", st == 200)
    st, _, _ = S.get("/api/stats", headers={"Cookie": "clipsearch_token_%d=x" % S.port})
    check("wrong cookie: 401", st == 401)
    st, _, _ = S.get("/api/stats", headers={"Cookie": "clipsearch_token_1=" + tok})
    check("another port's cookie: 401", st == 401)
    st, _, _ = S.request("POST", "/api/search?n=1", body=photo,
                         headers={"Cookie": "clipsearch_token_%d=%s" % (S.port, tok)})
    check("POST with the token (no Origin): 200", st == 200)
finally:
    check("token server: exit 0", S.stop() == 0)

# --open runs xdg-open with the URL (a stand-in on PATH here).
BIN2 = os.path.join(T, "bin")
os.makedirs(BIN2)
with open(os.path.join(BIN2, "xdg-open"), "w") as f:
    f.write('#!/bin/sh\nprintf "%%s\\n" "$1" > "%s"\n' % os.path.join(T, "xdg.txt"))
os.chmod(os.path.join(BIN2, "xdg-open"), 0o755)
env_path = env["PATH"]
env["PATH"] = BIN2 + ":" + env_path
S = Server("--open")
try:
    for _ in range(100):
        if os.path.exists(os.path.join(T, "xdg.txt")):
            break
        time.sleep(0.05)
    time.sleep(0.1)
    with open(os.path.join(T, "xdg.txt")) as fh:
        check("--open opens the URL", fh.read().strip() == S.url)
    st, hd, body = S.request("HEAD", "/api/stats")
    check("HEAD: 200 without a body", st == 200 and body == b"")
finally:
    check("--open server: exit 0", S.stop() == 0)
env["PATH"] = env_path

# --listen on all addresses: a warning, and the token is required.
S = Server("--listen", "0.0.0.0")
try:
    check("--listen 0.0.0.0 requires a token", "token=" in S.url, S.url)
    st, _, _ = S.get("/api/stats")
    check("--listen 0.0.0.0 without token: 401", st == 401)
finally:
    S.p.send_signal(signal.SIGINT)
    rc_ = S.p.wait(timeout=20)
    err = S.p.stderr.read()
check("SIGINT: exit 0", rc_ == 0)
check("--listen warns", "WARNING" in err, err)

# Command-line errors.
r = subprocess.run([CS, "serve", "--db", os.path.join(T, "nolib"), "--port", "0"], env=env,
                   capture_output=True, text=True, timeout=60)
check("no library: exit 3", r.returncode == 3 and r.stdout == "", r.stderr)
r = subprocess.run([CS, "serve", "--port", "99999"], env=env, capture_output=True, text=True)
check("bad port: exit 2", r.returncode == 2)
r = subprocess.run([CS, "serve", "--listen", "nowhere", "--db", DB, "--model", MODEL],
                   env=env, capture_output=True, text=True, timeout=60)
check("bad address: exit 2", r.returncode == 2, r.stderr)
r = subprocess.run([CS, "serve", "--help"], env=env, capture_output=True, text=True)
check("--help", r.returncode == 0 and "--listen" in r.stdout)

shutil.rmtree(T, ignore_errors=True)
print("e2e_serve: %d checks, %d failed" % (checks, fails))
sys.exit(1 if fails else 0)
