#!/usr/bin/env python3
"""browser_serve.py -- the search page in headless Chromium against the real
`clipsearch serve`.

Indexes the clip-shapes fixture photos (a small trained CLIP whose photos
carry their labels in their file names) with clipsearch-index, starts
`clipsearch serve --port 0`, and drives Debian's chromium through
chromium-driver with python3-selenium: the page must find red circles for
"a red circle", follow a new query as it is typed (results and URL), page in
more results on scrolling, open the lightbox and step through it, search
"more like this", close with Esc, restore earlier searches with the back
button, pass the filters to the server, search by a photo picked or dropped,
keep the layout still while thumbnails load, follow prefers-color-scheme,
and work in token mode (`--require-token`).  Screenshots (light and dark, 1280 px and narrow,
lightbox open) go to $CLIPSEARCH_BIN_DIR/browser-screenshots/, with the
reduced docs-page-light.png and docs-page-dark.png that docs/ holds for
the README.

Run by tests/e2e_browser.sh (which picks a Python that has selenium).
Exit 0 pass, 1 fail, 77 skip (no chromium, chromedriver, selenium or fixtures).
"""
import base64
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

SKIP = 77


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


BIN = os.environ.get("CLIPSEARCH_BIN_DIR") or skip("CLIPSEARCH_BIN_DIR not set")
FIX = os.environ.get("CLIPSEARCH_FIXTURES_DIR") or skip("CLIPSEARCH_FIXTURES_DIR not set")
# Canonical: chromedriver refuses to upload a file named through "..".
MODEL = os.path.realpath(os.path.join(FIX, "clip-shapes"))
PHOTOS = os.path.join(MODEL, "photos")
for f in ("model.safetensors", "vocab.json", "merges.txt", "photos/labels.json"):
    if not os.path.exists(os.path.join(MODEL, f)):
        skip("fixture clip-shapes/%s missing" % f)


def which(*names):
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


CHROMIUM = which("chromium", "chromium-browser", "google-chrome")
DRIVER = which("chromedriver")
if not CHROMIUM:
    skip("chromium not installed (Debian package chromium)")
if not DRIVER:
    skip("chromedriver not installed (Debian package chromium-driver)")
try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    skip("python selenium not installed (Debian package python3-selenium)")

OPENED = None       # where the stand-in for xdg-open records the folders it was given
WAIT_S = 30          # generous: CI shares two cores between builds
failures = []
checks = 0


def check(ok, what):
    global checks
    checks += 1
    if not ok:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)
    return ok


# ---- the library and the server -------------------------------------------

class Server:
    """`clipsearch serve` on a free port; the first stdout line is its URL."""

    def __init__(self, db, extra=(), env=None):
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "clipsearch"), "serve", "--db", db, "--model", MODEL,
             "--port", "0"] + list(extra),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        line = self.proc.stdout.readline().strip()
        if not re.match(r"^https?://", line):
            err = ""
            if self.proc.poll() is not None:
                err = self.proc.stderr.read()
            self.stop()
            raise RuntimeError("clipsearch serve did not print its URL (got %r) %s" % (line, err))
        self.url = line
        u = urllib.parse.urlsplit(line)
        self.base = "%s://%s" % (u.scheme, u.netloc)
        self.token = urllib.parse.parse_qs(u.query).get("token", [""])[0]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def make_library(tmp, env):
    """The fixture photos in two folders (a/: even numbers, b/: odd), for --in."""
    photos = os.path.join(tmp, "photos")
    for sub in ("a", "b"):
        os.makedirs(os.path.join(photos, sub))
    for name in sorted(os.listdir(PHOTOS)):
        if not re.match(r"^\d{4}_.*\.(jpg|png)$", name):
            continue
        sub = "a" if int(name[:4]) % 2 == 0 else "b"
        shutil.copy(os.path.join(PHOTOS, name), os.path.join(photos, sub, name))
    db = os.path.join(tmp, "lib")
    r = subprocess.run([os.path.join(BIN, "clipsearch-index"), "--db", db, "--model", MODEL,
                        "-q", photos], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        print("FAIL: indexing failed (%d): %s" % (r.returncode, r.stderr), file=sys.stderr)
        sys.exit(1)
    return db, photos


# ---- the browser ----------------------------------------------------------

def browser(tmp, name):
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--hide-scrollbars", "--no-first-run", "--disable-extensions",
              "--window-size=1280,860", "--user-data-dir=" + os.path.join(tmp, "chrome-" + name)):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(DRIVER), options=o)
    d.set_page_load_timeout(WAIT_S)
    d.set_script_timeout(WAIT_S)
    return d


def wait(d, cond, what, timeout=WAIT_S):
    try:
        return WebDriverWait(d, timeout, poll_frequency=0.05).until(lambda _: cond())
    except TimeoutException:
        check(False, "timed out waiting for " + what)
        return None


JS_RESULTS = """
return [...document.querySelectorAll('#grid a[data-index]')].map(a => {
  const img = a.querySelector('img');
  const s = a.querySelector('.score');
  return {name: a.title.split(' \\u00b7 ')[0], score: parseFloat(a.dataset.score), id: a.dataset.id,
          href: a.getAttribute('href'), loaded: !!img && img.complete && img.naturalWidth > 0,
          src: img ? img.getAttribute('src') : ''};
});"""


def results(d):
    return d.execute_script(JS_RESULTS)


def top_loaded(d, k):
    """The first k results of the finished search once their thumbnails have
    loaded (naturalWidth > 0).  The page marks the grid aria-busy from the
    moment a new search starts until its first page is shown."""
    def ok():
        if d.execute_script("return document.getElementById('grid').hasAttribute('aria-busy')"):
            return None
        r = results(d)
        return r if len(r) >= k and all(x["loaded"] for x in r[:k]) else None
    return wait(d, ok, "%d result thumbnails to load" % k) or []


def query_of(d):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(d.current_url).query)


def labels(name):
    """'0015_red_triangle+blue_diamond.jpg' -> ['red_triangle', 'blue_diamond']"""
    stem = os.path.splitext(name)[0]
    return stem.split("_", 1)[1].split("+") if "_" in stem else []


def count_with(rs, label):
    return sum(1 for r in rs if label in labels(r["name"]))


def set_scheme(d, scheme):
    d.execute_cdp_cmd("Emulation.setEmulatedMedia",
                      {"features": [{"name": "prefers-color-scheme", "value": scheme}]})


def background_luminance(d):
    rgb = d.execute_script("return getComputedStyle(document.body).backgroundColor")
    v = [int(x) for x in re.findall(r"\d+", rgb)[:3]]
    return (0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]) / 255 if len(v) == 3 else -1


def lightbox_open(d):
    return d.execute_script("return document.getElementById('lightbox').open")


def lightbox_loaded(d):
    return d.execute_script(
        "const i = document.getElementById('lb-img');"
        "return document.getElementById('lightbox').open && i.complete && i.naturalWidth > 0")


def type_query(d, text):
    box = d.find_element(By.ID, "q")
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    box.send_keys(text)


def shot(d, shots, name):
    path = os.path.join(shots, name + ".png")
    d.save_screenshot(path)
    print("screenshot " + path)


def doc_shot(d, shots, name):
    """A reduced screenshot of the top of the page, as docs/ holds for the README."""
    data = d.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "clip": {
        "x": 0, "y": 0, "width": 1280, "height": 560, "scale": 0.625}})
    path = os.path.join(shots, name + ".png")
    with open(path, "wb") as f:
        f.write(base64.b64decode(data["data"]))
    print("screenshot " + path)


# ---- the checks -----------------------------------------------------------

def run_checks(d, base, db, photos, env, shots, suffix=""):
    # Layout shifts (Layout Instability API), counted from the first paint.
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
        window.__cls = 0;
        new PerformanceObserver(l => { for (const e of l.getEntries())
            if (!e.hadRecentInput) window.__cls += e.value; })
          .observe({type: 'layout-shift', buffered: true});"""})

    # 1. A query in the URL: thumbnails load, red circles first, best first.
    set_scheme(d, "light")
    d.set_window_size(1280, 860)
    d.get(base + "/?q=a+red+circle" + suffix)
    top = top_loaded(d, 8)
    check(len(top) >= 8, "at least 8 results for 'a red circle' (got %d)" % len(top))
    check(count_with(top[:5], "red_circle") >= 4,
          "at least 4 of the top 5 for 'a red circle' are red circles: %s" % [r["name"] for r in top[:5]])
    scores = [r["score"] for r in results(d)]
    check(all(a >= b for a, b in zip(scores, scores[1:])), "scores best first: %s" % scores[:10])
    check(d.find_element(By.ID, "q").get_attribute("value") == "a red circle",
          "the search box shows the query from the URL")
    check("a red circle" in d.title, "the title names the query (%r)" % d.title)
    check(background_luminance(d) > 0.8, "light mode: light background")
    time.sleep(0.3)
    cls = d.execute_script("return window.__cls")
    check(cls < 0.02, "no layout shifts while thumbnails load (CLS %.4f)" % cls)
    shot(d, shots, "light-1280")
    doc_shot(d, shots, "docs-page-light")
    # Width and height reserved from the results: each cell's box has the
    # photo's aspect ratio (the fixtures are square) before its image counts.
    ratios = d.execute_script("""return [...document.querySelectorAll('#grid .cell a')].slice(0, 8)
        .map(a => { const r = a.getBoundingClientRect(); return r.width / r.height; })""")
    check(all(abs(x - 1) < 0.05 for x in ratios), "square photos get square cells: %s" % ratios)

    # 2. Hover shows the score.
    first = d.find_element(By.CSS_SELECTOR, "#grid a[data-index='0']")
    webdriver.ActionChains(d).move_to_element(first).perform()
    wait(d, lambda: d.execute_script(
        "return parseFloat(getComputedStyle(document.querySelector("
        "'#grid a[data-index=\"0\"] .score')).opacity) > 0.9"), "the score to show on hover", 5)

    # 3. Type a new query: results and URL follow (debounced, no Enter).
    type_query(d, "a blue square")
    wait(d, lambda: query_of(d).get("q") == ["a blue square"], "the URL to carry the typed query")
    top = top_loaded(d, 5)
    check(count_with(top[:5], "blue_square") >= 3,
          "at least 3 of the top 5 for 'a blue square' are blue squares: %s" % [r["name"] for r in top[:5]])
    check("a blue square" in d.title, "the title follows the query (%r)" % d.title)

    # The CLI's query arithmetic passes through the box unchanged ('+' and
    # ':' survive the URL): the same photos and scores as `clipsearch
    # a blue --add 2:circle --subtract square` (scores within 2e-3: the
    # server's text tower runs in bf16 where the CPU has it, a one-shot CLI
    # search in fp32 on the weights in place).
    cli = subprocess.run([os.path.join(BIN, "clipsearch"), "--db", db, "--model", MODEL, "--json",
                          "-n", "5", "a", "blue", "--add", "2:circle", "--subtract", "square"],
                         env=env, capture_output=True, text=True)
    want = [json.loads(x) for x in cli.stdout.splitlines() if x.strip()]
    type_query(d, "a blue +2:circle -square")
    wait(d, lambda: query_of(d).get("q") == ["a blue +2:circle -square"], "the URL to carry the arithmetic")
    got = top_loaded(d, 5)
    check(len(want) == 5 and [os.path.basename(w["path"]) for w in want] == [g["name"] for g in got[:5]]
          and all(abs(w["score"] - g["score"]) < 2e-3 for w, g in zip(want, got)),
          "query arithmetic as the CLI's: %s vs %s" % ([(os.path.basename(w["path"]), w["score"]) for w in want],
                                                      [(g["name"], g["score"]) for g in got[:5]]))
    type_query(d, "a blue square")
    wait(d, lambda: query_of(d).get("q") == ["a blue square"], "back to the typed query")
    top_loaded(d, 5)

    # 4. Infinite scroll: more results, each photo once.
    n0 = len(results(d))
    d.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    wait(d, lambda: len(results(d)) > n0, "more results on scrolling (had %d)" % n0)
    rs = results(d)
    ids = [r["id"] for r in rs]
    check(len(ids) == len(set(ids)), "no photo twice after paging (%d results)" % len(ids))
    d.execute_script("window.scrollTo(0, 0)")

    # 5. The lightbox: path, date, size; arrows step; "more like this".
    d.find_element(By.CSS_SELECTOR, "#grid a[data-index='0']").click()
    wait(d, lambda: lightbox_loaded(d), "the lightbox photo to load")
    name0 = rs[0]["name"]
    path = d.find_element(By.ID, "lb-path").text
    check(path.endswith("/" + name0) and path.startswith(photos),
          "the lightbox shows the photo's path (%r for %r)" % (path, name0))
    check(re.search(r"\d+ \u00d7 \d+", d.find_element(By.ID, "lb-size").text) is not None,
          "the lightbox shows the size")
    check(d.execute_script("return document.getElementById('lb-img').naturalWidth") >= 128,
          "the lightbox photo is the large one")
    shot(d, shots, "light-lightbox")
    d.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    wait(d, lambda: d.find_element(By.ID, "lb-title").text == rs[1]["name"], "Right arrow to step")
    d.switch_to.active_element.send_keys(Keys.ARROW_LEFT)
    wait(d, lambda: d.find_element(By.ID, "lb-title").text == name0, "Left arrow to step back")

    # Copy path (clipboard permission granted, as a user's click would) and
    # Open folder (the server runs $CLIPSEARCH_OPENER FOLDER: a script here).
    d.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    d.find_element(By.ID, "lb-copy").click()
    wait(d, lambda: d.find_element(By.ID, "lb-note").text == "Path copied.", "'Copy path' to copy", 10)
    clip = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.clipboard.readText().then(done, e => done('error: ' + e))")
    check(clip == path, "the clipboard holds the path (%r)" % clip)
    d.find_element(By.ID, "lb-reveal").click()
    wait(d, lambda: d.find_element(By.ID, "lb-note").text.startswith("Opened /"), "'Open folder'", 10)
    opened = open(OPENED).read().split("\n") if os.path.exists(OPENED) else []
    check(opened[:1] == [os.path.dirname(path)], "'Open folder' opened %r (%s)" % (os.path.dirname(path), opened))

    d.find_element(By.ID, "lb-similar").click()
    id0 = rs[0]["id"]
    wait(d, lambda: query_of(d).get("similar") == [id0], "the URL to carry ?similar=ID")
    check(not lightbox_open(d), "'more like this' closes the lightbox")
    sim = top_loaded(d, 5)
    # The server leaves the photo itself out; its like must come first.
    check(count_with(sim[:5], labels(name0)[0]) >= 2,
          "'more like this' for %s finds its like: %s" % (name0, [r["name"] for r in sim[:5]]))
    check(d.find_element(By.ID, "q").get_attribute("value") == "", "similar mode clears the box")

    # 6. Esc closes the lightbox; the keyboard reaches everything.
    d.find_element(By.TAG_NAME, "body").send_keys("/")
    check(d.switch_to.active_element.get_attribute("id") == "q", "'/' focuses the search box")
    d.switch_to.active_element.send_keys(Keys.ARROW_DOWN)
    check(d.switch_to.active_element.get_attribute("data-index") == "0", "Down from the box: first result")
    d.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    check(d.switch_to.active_element.get_attribute("data-index") == "1", "Right: the next result")
    d.switch_to.active_element.send_keys(Keys.ARROW_DOWN)
    below = d.switch_to.active_element.get_attribute("data-index")
    check(below is not None and int(below) > 2, "Down: a result in the next row (%s)" % below)
    d.switch_to.active_element.send_keys(Keys.ENTER)
    wait(d, lambda: lightbox_open(d), "Enter to open the lightbox")
    d.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait(d, lambda: not lightbox_open(d), "Esc to close the lightbox")
    check(d.switch_to.active_element.get_attribute("data-index") == below,
          "focus returns to the photo after closing")

    # 7. Back: the typed query, then the first one, each with its results.
    d.back()
    wait(d, lambda: query_of(d).get("q") == ["a blue square"], "back to ?q=a+blue+square")
    wait(d, lambda: d.find_element(By.ID, "q").get_attribute("value") == "a blue square",
         "the box to show the previous query")
    r = top_loaded(d, 5)
    check(count_with(r[:5], "blue_square") >= 3, "back: blue squares again")
    d.back()
    wait(d, lambda: query_of(d).get("q") == ["a red circle"], "back to ?q=a+red+circle")
    r = top_loaded(d, 5)
    check(count_with(r[:5], "red_circle") >= 4, "back again: red circles again")
    d.forward()
    wait(d, lambda: query_of(d).get("q") == ["a blue square"], "forward to ?q=a+blue+square")

    # 8. Reload restores the search.
    d.refresh()
    r = top_loaded(d, 5)
    check(d.find_element(By.ID, "q").get_attribute("value") == "a blue square"
          and count_with(r[:5], "blue_square") >= 3, "reload restores the query and its results")

    # 9. Filters: folder and threshold reach the server, and the URL.
    d.get(base + "/?q=a+red+circle&in=" + urllib.parse.quote(os.path.join(photos, "a")) + suffix)
    r = top_loaded(d, 3)
    paths = d.execute_script("return [...document.querySelectorAll('#grid a[data-index]')].length")
    check(paths > 0, "folder filter: some results")
    check(all(int(x["name"][:4]) % 2 == 0 for x in results(d)),
          "folder filter: only photos under a/: %s" % [x["name"] for x in results(d)][:10])
    check(d.find_element(By.ID, "f-in").get_attribute("value") == os.path.join(photos, "a"),
          "the folder filter box shows the filter from the URL")
    d.get(base + "/?q=a+red+circle" + suffix)
    r = top_loaded(d, 8)
    # A threshold in the widest gap among the top 8 leaves exactly those above it.
    k = max(range(1, min(8, len(r))), key=lambda i: r[i - 1]["score"] - r[i]["score"])
    cut = "%.4f" % ((r[k - 1]["score"] + r[k]["score"]) / 2)
    if not d.find_element(By.ID, "filters").is_displayed():
        d.find_element(By.ID, "filters-toggle").click()
    d.find_element(By.ID, "f-threshold").send_keys(cut)
    wait(d, lambda: query_of(d).get("threshold") == [cut], "the URL to carry the threshold")
    got = top_loaded(d, 1)
    check(len(results(d)) == k, "threshold %s leaves the %d results above it (got %d)" % (cut, k, len(results(d))))
    check(all(x["score"] >= float(cut) for x in got), "threshold: every score above it")
    d.find_element(By.CSS_SELECTOR, "#filters button[type='reset']").click()
    wait(d, lambda: "threshold" not in query_of(d) and len(results(d)) > 3, "clearing the filters")
    # The fixture photos carry no capture date, and a date filter leaves
    # undated photos out: --after reaches the server if nothing is left.
    d.find_element(By.ID, "f-after").send_keys("2001-02")
    wait(d, lambda: query_of(d).get("after") == ["2001-02"], "the URL to carry the date filter")
    wait(d, lambda: len(results(d)) == 0 and "No photos" in d.find_element(By.ID, "status-line").text,
         "the date filter to leave out the undated photos")
    d.find_element(By.CSS_SELECTOR, "#filters button[type='reset']").click()
    wait(d, lambda: "after" not in query_of(d) and len(results(d)) > 3, "clearing the date filter")

    # Accessible: every control labelled, every thumbnail described.
    unlabeled = d.execute_script("""
        return [...document.querySelectorAll('input:not([type=file]), button')].filter(e =>
          !(e.labels && e.labels.length) && !e.getAttribute('aria-label') &&
          !e.textContent.trim()).map(e => e.id || e.outerHTML.slice(0, 60));""")
    check(not unlabeled, "every control has a label: %s" % unlabeled)
    check(all(d.execute_script("return [...document.querySelectorAll('#grid img')].map(i => i.alt)")),
          "every thumbnail has alt text")

    # 10. Search by example: a photo picked with the file button, then one
    # dropped.  Both are copies of library photos, so each must come first.
    star = sorted(n for n in os.listdir(PHOTOS) if n.endswith("_yellow_star.jpg"))[0]
    d.find_element(By.ID, "file").send_keys(os.path.join(PHOTOS, star))
    wait(d, lambda: query_of(d).get("example") == ["1"], "the URL to mark the example search")
    r = top_loaded(d, 5)
    check(star in [x["name"] for x in r[:3]],
          "search by a picked photo finds it: %s" % [x["name"] for x in r[:5]])
    check(d.find_element(By.ID, "example").is_displayed(), "the example is shown above the results")
    d.get(base + "/?q=a+green+triangle" + suffix)
    g = top_loaded(d, 1)
    # The DataTransfer a file manager's drag would carry, made in the page
    # from the top result's thumbnail.
    d.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(arguments[0]).then(r => r.blob()).then(b => {
          const dt = new DataTransfer();
          dt.items.add(new File([b], 'dropped.jpg', {type: 'image/jpeg'}));
          for (const t of ['dragenter', 'dragover', 'drop'])
            window.dispatchEvent(new DragEvent(t, {dataTransfer: dt, bubbles: true, cancelable: true}));
          done();
        }, () => done());""", g[0]["src"] if g else "/")
    wait(d, lambda: query_of(d).get("example") == ["1"], "a dropped photo to start a search")
    r = top_loaded(d, 5)
    check(bool(g) and g[0]["name"] in [x["name"] for x in r[:3]],
          "search by a dropped photo finds it: %s" % [x["name"] for x in r[:5]])
    d.back()
    wait(d, lambda: query_of(d).get("q") == ["a green triangle"], "back from the example search")
    check(d.find_element(By.ID, "example").is_displayed() is False, "the example banner goes with it")
    # A paste (Ctrl+V of a copied image), as the clipboard event carries it.
    d.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(arguments[0]).then(r => r.blob()).then(b => {
          const dt = new DataTransfer();
          dt.items.add(new File([b], 'pasted.jpg', {type: 'image/jpeg'}));
          document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
          done();
        }, () => done());""", g[0]["src"] if g else "/")
    wait(d, lambda: query_of(d).get("example") == ["1"], "a pasted photo to start a search")
    r = top_loaded(d, 3)
    check(bool(g) and g[0]["name"] in [x["name"] for x in r[:3]],
          "search by a pasted photo finds it: %s" % [x["name"] for x in r[:5]])

    # 11. Library status.
    wait(d, lambda: re.search(r"\b300 photos\b", d.find_element(By.ID, "library").text),
         "the library status to show 300 photos (%r)" % d.find_element(By.ID, "library").text)

    # While an indexing run holds the library's lock, the status says so
    # (the lock taken here as clipsearch-index takes it).
    with open(os.path.join(db, "indexer.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        d.refresh()
        wait(d, lambda: "indexing" in d.find_element(By.ID, "library").text,
             "the library status to show indexing (%r)" % d.find_element(By.ID, "library").text)
        fcntl.flock(lock, fcntl.LOCK_UN)
    d.refresh()
    wait(d, lambda: re.search(r"\b300 photos\b", d.find_element(By.ID, "library").text)
         and "indexing" not in d.find_element(By.ID, "library").text, "indexing to end in the status")

    # 12. Dark mode and a narrow window.
    set_scheme(d, "dark")
    d.get(base + "/?q=a+red+circle" + suffix)
    top_loaded(d, 8)
    check(background_luminance(d) < 0.2, "dark mode: dark background")
    time.sleep(0.3)
    shot(d, shots, "dark-1280")
    doc_shot(d, shots, "docs-page-dark")
    d.find_element(By.CSS_SELECTOR, "#grid a[data-index='0']").click()
    wait(d, lambda: lightbox_loaded(d), "the lightbox photo to load (dark)")
    shot(d, shots, "dark-lightbox")
    d.switch_to.active_element.send_keys(Keys.ESCAPE)
    for scheme in ("dark", "light"):
        set_scheme(d, scheme)
        d.set_window_size(420, 860)
        d.get(base + "/?q=a+yellow+star" + suffix)
        top_loaded(d, 6)
        width = d.execute_script("return document.documentElement.scrollWidth")
        inner = d.execute_script("return window.innerWidth")
        check(width <= inner, "narrow window: no sideways scrolling (%d > %d)" % (width, inner))
        time.sleep(0.3)
        shot(d, shots, scheme + "-narrow")
    d.find_element(By.CSS_SELECTOR, "#grid a[data-index='0']").click()
    wait(d, lambda: lightbox_loaded(d), "the lightbox photo to load (narrow)")
    shot(d, shots, "light-narrow-lightbox")
    d.switch_to.active_element.send_keys(Keys.ESCAPE)
    d.set_window_size(1280, 860)
    set_scheme(d, "light")

    errors = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]
    check(not errors, "no errors in the browser console: %s" % errors[:3])


def run_token_checks(d, server):
    """A server that requires its token (--require-token): without it the page
    says how to get in; opened with it, the page works on the cookie the
    server sets, and the token leaves the address bar."""
    check(bool(server.token), "--require-token: the printed URL carries ?token= (%r)" % server.url)
    # Without the token even the page is refused (401, a JSON error saying why).
    d.get(server.base + "/?q=a+red+circle")
    body = d.find_element(By.TAG_NAME, "body").text
    check("token" in body and not d.find_elements(By.ID, "grid"),
          "without the token: no page, a message naming the token (%r)" % body[:200])
    d.get(server.base + "/?token=" + server.token + "&q=a+red+circle")
    r = top_loaded(d, 5)
    check(count_with(r[:5], "red_circle") >= 4, "token mode: red circles for 'a red circle'")
    q = query_of(d)
    check("token" not in q and q.get("q") == ["a red circle"],
          "token mode: the token leaves the address bar, the query stays (%s)" % d.current_url)
    d.refresh()
    r = top_loaded(d, 5)
    check(count_with(r[:5], "red_circle") >= 4, "token mode: a reload works on the cookie")
    type_query(d, "a yellow star")
    wait(d, lambda: query_of(d).get("q") == ["a yellow star"], "token mode: the typed query")
    r = top_loaded(d, 5)
    check(count_with(r[:5], "yellow_star") >= 3, "token mode: yellow stars for 'a yellow star'")
    d.find_element(By.CSS_SELECTOR, "#grid a[data-index='0']").click()
    wait(d, lambda: lightbox_loaded(d), "token mode: the lightbox photo to load")
    d.switch_to.active_element.send_keys(Keys.ESCAPE)
    star = r[0]["name"] if r else ""
    if star:
        d.find_element(By.ID, "file").send_keys(os.path.join(PHOTOS, star))
        wait(d, lambda: query_of(d).get("example") == ["1"], "token mode: search by a photo")
        x = top_loaded(d, 3)
        check(star in [y["name"] for y in x[:3]], "token mode: POST search by a photo finds it")
    wait(d, lambda: re.search(r"\b300 photos\b", d.find_element(By.ID, "library").text),
         "token mode: the library status")


def main():
    global OPENED
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="browser_serve."))
    OPENED = os.path.join(tmp, "opened.txt")
    shots = os.path.join(BIN, "browser-screenshots")
    os.makedirs(shots, exist_ok=True)
    env = dict(os.environ, HOME=os.path.join(tmp, "home"),
               XDG_CACHE_HOME=os.path.join(tmp, "home", ".cache"),
               XDG_DATA_HOME=os.path.join(tmp, "home", ".local", "share"))
    for k in ("CLIPSEARCH_MODEL", "CLIPSEARCH_DB"):
        env.pop(k, None)
    os.makedirs(env["HOME"])
    opener = os.path.join(tmp, "opener.sh")
    with open(opener, "w") as f:
        f.write('#!/bin/sh\nprintf "%%s\\n" "$1" >> "%s"\n' % OPENED)
    os.chmod(opener, 0o755)
    env["CLIPSEARCH_OPENER"] = opener
    server = None
    d = None
    t0 = time.time()
    try:
        db, photos = make_library(tmp, env)
        server = Server(db, env=env)
        d = browser(tmp, "main")
        run_checks(d, server.base, db, photos, env, shots)
        d.quit()
        d = None
        rc = server.stop()
        check(rc == 0, "clipsearch serve exits 0 on SIGTERM (got %s)" % rc)
        server = None
        server = Server(db, ["--require-token"], env=env)
        d = browser(tmp, "token")
        run_token_checks(d, server)
        d.quit()
        d = None
        server.stop()
        server = None
    except Exception as e:  # a crash of the harness is a failure, never a pass
        check(False, "%s: %s" % (type(e).__name__, e))
    finally:
        if d is not None:
            d.quit()
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d checks, %d failed, %.1f s" % (checks, len(failures), time.time() - t0))
    return 1 if failures or checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
