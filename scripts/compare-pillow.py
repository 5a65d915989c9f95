#!/usr/bin/python3
"""compare-pillow.py [--bin BUILD_DIR] [FOLDER...] — decodes every image file
found under the folders (default: where Debian packages put test and sample
images: /usr/share, /usr/lib/python3, /root/.pyenv ...) with clipsearch
(`clipsearch preprocess --rgb`) and with Pillow (exif_transpose +
convert("RGB"); for TIFF, load(), which applies the orientation itself) and
reports, per format, how many are identical within one 8-bit level, how many
differ (and by how much), and which fail in one decoder or the other.
Not a test (the files are whatever this machine has); a report."""
import collections
import os
import subprocess
import sys
import tempfile

from PIL import Image, ImageOps

Image.MAX_IMAGE_PIXELS = 100_000_000
EXTS = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".avif", ".jxl",
        ".heic", ".dng", ".nef", ".cr2"}
args = sys.argv[1:]
bindir = "build/release"
if args[:1] == ["--bin"]:
    bindir, args = args[1], args[2:]
folders = args or ["/usr/share", "/usr/lib/python3", "/usr/lib/python3.11", "/root/.pyenv"]
cs = os.path.join(bindir, "clipsearch")
files = []
for top in folders:
    for dirpath, _, names in os.walk(top):
        for n in names:
            if os.path.splitext(n)[1].lower() in EXTS:
                files.append(os.path.join(dirpath, n))
seen = set()
stats = collections.defaultdict(collections.Counter)
notes = []
tmp = tempfile.mkdtemp()
for path in sorted(files):
    try:
        data = open(path, "rb").read()
    except OSError:
        continue
    if data in seen:
        continue
    seen.add(data)
    ext = os.path.splitext(path)[1].lower()
    out = os.path.join(tmp, "o.ppm")
    r = subprocess.run([cs, "preprocess", path, "-o", out, "--rgb"], capture_output=True, text=True)
    try:
        im = Image.open(path)
        if im.format == "TIFF":
            im.load()
        else:
            im = ImageOps.exif_transpose(im) or im
        ref = im.convert("RGB")
        pil_err = None
    except Exception as e:  # noqa: BLE001 - a report of what Pillow says
        ref, pil_err = None, str(e)
    if r.returncode != 0 and ref is None:
        stats[ext]["both fail"] += 1
        continue
    if r.returncode != 0:
        stats[ext]["clipsearch fails"] += 1
        notes.append("%s: clipsearch fails: %s" % (path, r.stderr.strip()[:200]))
        continue
    if ref is None:
        stats[ext]["Pillow fails"] += 1
        notes.append("%s: Pillow fails: %s" % (path, pil_err[:200]))
        continue
    got = Image.open(out)
    if got.size != ref.size:
        stats[ext]["size differs"] += 1
        notes.append("%s: size %s, Pillow %s" % (path, got.size, ref.size))
        continue
    a, b = got.tobytes(), ref.tobytes()
    d = max((abs(x - y) for x, y in zip(a, b)), default=0)
    if d <= 1:
        stats[ext]["identical within 1"] += 1
    else:
        stats[ext]["differs"] += 1
        notes.append("%s: max difference %d" % (path, d))
print("%d distinct files under %s" % (len(seen), ", ".join(folders)))
for ext in sorted(stats):
    print("  %-6s %s" % (ext, ", ".join("%s %d" % kv for kv in sorted(stats[ext].items()))))
for n in notes:
    print("  " + n)
