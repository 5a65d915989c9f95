#!/usr/bin/env python3
"""e2e_watch.py — `clipsearch-index --watch`: starts it on two folders, then
copies, renames and deletes photos, creates a subfolder, removes a whole
root and brings it back, and checks after each step, within a bounded wait,
the run it triggered (its --json line) and the library (a search listing
every photo).  Then: no CPU while idle, SIGTERM stops it with exit 0, and
with the watch limit reached (--max-watches 1) it says so and finds new
photos by periodic rescans.  Python standard library only; skips (77)
without the clip-shapes fixture or on a system without inotify.
"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("CLIPSEARCH_BIN_DIR")
FIX = os.environ.get("CLIPSEARCH_FIXTURES_DIR")
if not BIN or not FIX:
    print("CLIPSEARCH_BIN_DIR / CLIPSEARCH_FIXTURES_DIR not set")
    sys.exit(1)
SHAPES = os.path.join(FIX, "clip-shapes")
if not os.path.exists(os.path.join(SHAPES, "model.safetensors")):
    print("SKIP: fixture clip-shapes missing")
    sys.exit(77)
if not os.path.exists("/proc/sys/fs/inotify/max_user_watches"):
    print("SKIP: no inotify here")
    sys.exit(77)

CS = os.path.join(BIN, "clipsearch")
IDX = os.path.join(BIN, "clipsearch-index")
T = tempfile.mkdtemp(prefix="e2e_watch.")
PHOTOS = sorted(os.path.join(SHAPES, "photos", p) for p in os.listdir(os.path.join(SHAPES, "photos"))
                if p.endswith(".jpg"))
WAIT = 30  # seconds: bound on each step (debounce 0.3 s + an indexing run)
fails = 0
checks = 0


def check(what, cond, detail=""):
    global fails, checks
    checks += 1
    if not cond:
        fails += 1
        print("FAIL: %s %s" % (what, detail), file=sys.stderr)
    return cond


class Watcher:
    def __init__(self, *args):
        self.err_path = os.path.join(T, "stderr-%d.txt" % len(os.listdir(T)))
        self.err = open(self.err_path, "w")
        self.p = subprocess.Popen([IDX, "--watch", "--json", "--debounce", "300", *args],
                                  stdout=subprocess.PIPE, stderr=self.err, text=True, bufsize=1)
        self.buf = ""

    def next_run(self, timeout=WAIT):
        """The next --json summary line, or None after timeout seconds."""
        end = time.time() + timeout
        while "\n" not in self.buf:
            left = end - time.time()
            if left <= 0:
                return None
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if not r:
                return None
            chunk = os.read(self.p.stdout.fileno(), 65536).decode()
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split("\n", 1)
        return json.loads(line)

    def stderr(self):
        self.err.flush()
        return open(self.err_path).read()

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return None


def library(db):
    r = subprocess.run([CS, "--db", db, "--model", SHAPES, "--paths", "-n", "1000", "a shape"],
                       capture_output=True, text=True)
    return set(r.stdout.split()) if r.returncode == 0 else set()


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


db = os.path.join(T, "db")
a = os.path.join(T, "a")
b = os.path.join(T, "b")
os.makedirs(a)
os.makedirs(b)
for i in range(3):
    shutil.copy(PHOTOS[i], os.path.join(a, "p%d.jpg" % i))
shutil.copy(PHOTOS[3], os.path.join(b, "b0.jpg"))

w = Watcher("--db", db, "--model", SHAPES, a, b)
run = w.next_run()
check("first run indexes the 4 photos", run and run["encoded"] == 4, str(run))
check("library holds them", len(library(db)) == 4, str(library(db)))

# Idle: no CPU over 2 s.
time.sleep(0.5)
t0 = cpu_ticks(w.p.pid)
time.sleep(2)
ticks = cpu_ticks(w.p.pid) - t0
check("idle: no CPU (%d ticks in 2 s)" % ticks, ticks <= 2)

# A new photo, written in two halves (a copy in progress is waited for).
data = open(PHOTOS[4], "rb").read()
new = os.path.join(a, "new.jpg")
with open(new, "wb") as f:
    f.write(data[: len(data) // 2])
    f.flush()
    time.sleep(0.1)
    f.write(data[len(data) // 2:])
run = w.next_run()
check("copy: one photo indexed", run and run["encoded"] == 1 and run["failed"] == 0, str(run))
check("copy: in the library", new in library(db))

# Rename: recognised as a move, not re-encoded.
moved = os.path.join(a, "renamed.jpg")
os.rename(new, moved)
run = w.next_run()
check("rename: a move, nothing encoded", run and run["moved"] == 1 and run["encoded"] == 0, str(run))
lib = library(db)
check("rename: new path in, old path out", moved in lib and new not in lib, str(lib))

# Delete.
os.remove(os.path.join(a, "p0.jpg"))
run = w.next_run()
check("delete: removed", run and run["removed"] == 1, str(run))
check("delete: out of the library", os.path.join(a, "p0.jpg") not in library(db))

# A new subfolder, then a photo in it (the folder must now be watched).
sub = os.path.join(a, "2024", "summer")
os.makedirs(sub)
shutil.copy(PHOTOS[5], os.path.join(sub, "s0.jpg"))
run = w.next_run()
check("new subfolder: its photo indexed", run and run["encoded"] == 1, str(run))
while True:  # a second run may follow for events after the first one started
    extra = w.next_run(timeout=1.5)
    if extra is None:
        break
shutil.copy(PHOTOS[6], os.path.join(sub, "s1.jpg"))
run = w.next_run()
check("new subfolder is watched: a later photo in it indexed", run and run["encoded"] == 1,
      str(run))
check("subfolder photos in the library", {os.path.join(sub, "s0.jpg"), os.path.join(sub, "s1.jpg")}
      <= library(db))

# A root removed (as if unmounted): reported, its photos kept; back: resumed.
shutil.move(b, b + ".away")
run = w.next_run()
check("root gone: reported as missing, nothing removed",
      run and run["missing_roots"] == 1 and run["removed"] == 0, str(run))
check("root gone: a message", "is gone" in w.stderr(), w.stderr()[-500:])
check("root gone: its photo stays in the library", os.path.join(b, "b0.jpg") in library(db))
shutil.move(b + ".away", b)
shutil.copy(PHOTOS[7], os.path.join(b, "b1.jpg"))
run = w.next_run(timeout=WAIT + 10)  # a missing root is polled every 5 s
check("root back: rescanned, its new photo indexed",
      run and run["missing_roots"] == 0 and run["encoded"] == 1, str(run))
check("root back: a message", "is back" in w.stderr(), w.stderr()[-500:])
shutil.copy(PHOTOS[8], os.path.join(b, "b2.jpg"))
run = w.next_run()
check("root back: watched again", run and run["encoded"] == 1, str(run))

t0 = time.time()
rc = w.stop()
check("SIGTERM while idle: exit 0", rc == 0, "rc %s" % rc)
check("SIGTERM: stops within a second", time.time() - t0 < 2, "%.1f s" % (time.time() - t0))

# The watch limit: one watch only, periodic rescans every second.
db2 = os.path.join(T, "db2")
w = Watcher("--db", db2, "--model", SHAPES, "--max-watches", "1", "--rescan-interval", "1", a)
run = w.next_run()
check("limited: first run", run is not None, "")
end = time.time() + WAIT
while time.time() < end and "watch limit" not in w.stderr():
    time.sleep(0.1)
check("limited: says the limit is reached", "watch limit" in w.stderr(), w.stderr()[-500:])
deep = os.path.join(a, "2024", "winter")
os.makedirs(deep)
shutil.copy(PHOTOS[9], os.path.join(deep, "w0.jpg"))
found = False
end = time.time() + WAIT
while time.time() < end and not found:
    run = w.next_run(timeout=end - time.time())
    found = bool(run and run["encoded"] >= 1)
check("limited: a photo in an unwatched folder found by a rescan", found)
# Rescans follow each other every second here, so SIGTERM may land in a run:
# 130 then (the batch in progress committed), else 0.
rc = w.stop()
check("limited: SIGTERM exit 0 (idle) or 130 (in a run)", rc in (0, 130), "rc %s: %s" % (
    rc, w.stderr()[-800:]))

shutil.rmtree(T, ignore_errors=True)
print("e2e_watch: %d checks, %d failed" % (checks, fails))
sys.exit(1 if fails else 0)
