#!/usr/bin/python3
"""pil_rgb.py IN OUT.ppm [--transpose N] — the reference pixels for the
format tests: Pillow opens IN, applies its EXIF orientation (exif_transpose),
converts it with convert("RGB") and writes a binary PPM.  --transpose N
then applies Pillow's Image.transpose(N) (for AVIF's irot, which the
reference decoder, avifdec, does not apply).  Exit 77 when Pillow is absent."""
import sys

try:
    from PIL import Image, ImageOps
except ImportError:
    print("SKIP: Pillow (python3-pil) is not installed")
    sys.exit(77)

im = Image.open(sys.argv[1])
if im.format == "TIFF":
    # Pillow 9.4's TIFF load() applies the Orientation tag itself and leaves
    # it in getexif(), so exif_transpose would turn the image a second time.
    im.load()
else:
    im = ImageOps.exif_transpose(im) or im
im = im.convert("RGB")
if len(sys.argv) > 4 and sys.argv[3] == "--transpose":
    im = im.transpose(int(sys.argv[4]))
with open(sys.argv[2], "wb") as f:
    f.write(b"P6\n%d %d\n255\n" % im.size)
    f.write(im.tobytes())
