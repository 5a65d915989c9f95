#!/usr/bin/python3
"""make_png_cases.py SRC.png DIR — PNGs for the cases where Pillow and a
plain libpng reader differ (test_image_more_formats):
  xmp6.png       orientation 6 only in XMP (iTXt XML:com.adobe.xmp)
  xmp_attr8.png  tiff:Orientation="8" as an attribute, after the image data
  rawexif3.png   orientation 3 in ImageMagick's "Raw profile type exif" (zTXt)
  palette_short.png  a 4-colour PLTE with indices up to 255 (grey past the end)
Exit 77 when Pillow is absent."""
import struct
import sys
import zlib

try:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo
except ImportError:
    print("SKIP: Pillow (python3-pil) is not installed")
    sys.exit(77)

src, out = sys.argv[1], sys.argv[2]
im = Image.open(src).convert("RGB")

XMP = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
       '22-rdf-syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/">'
       '<tiff:Orientation>6</tiff:Orientation></rdf:Description></rdf:RDF></x:xmpmeta>')
info = PngInfo()
info.add_itxt("XML:com.adobe.xmp", XMP)
im.save(out + "/xmp6.png", pnginfo=info)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(w, h, color, rows, before=b"", after=b"", plte=None):
    raw = b"".join(b"\0" + r for r in rows)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + before
    if plte:
        body += chunk(b"PLTE", plte)
    body += chunk(b"IDAT", zlib.compress(raw)) + after + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


w, h = im.size
rgb = im.tobytes()
rows = [rgb[y * w * 3:(y + 1) * w * 3] for y in range(h)]
# XMP after IDAT, as an attribute (Pillow's regex accepts both forms).
xmp8 = XMP.replace("<tiff:Orientation>6</tiff:Orientation>", "").replace(
    "<rdf:Description ", '<rdf:Description tiff:Orientation="8" ')
itxt = b"XML:com.adobe.xmp\0\0\0\0\0" + xmp8.encode()
open(out + "/xmp_attr8.png", "wb").write(png(w, h, 2, rows, after=chunk(b"iTXt", itxt)))

# EXIF (big-endian TIFF, IFD0 with Orientation = 3) as ImageMagick stores it.
tiff = b"MM\0*" + struct.pack(">I", 8) + struct.pack(">H", 1) + struct.pack(
    ">HHIHH", 0x0112, 3, 1, 3, 0) + struct.pack(">I", 0)
payload = b"Exif\0\0" + tiff
hexs = payload.hex()
text = "\nexif\n%8d\n" % len(payload) + "\n".join(hexs[i:i + 72] for i in range(0, len(hexs), 72)) + "\n"
ztxt = b"Raw profile type exif\0\0" + zlib.compress(text.encode())
open(out + "/rawexif3.png", "wb").write(png(w, h, 2, rows, before=chunk(b"zTXt", ztxt)))

# Palette of 4 colours, indices 0..255.
plte = bytes([200, 30, 30, 30, 200, 30, 30, 30, 200, 250, 250, 0])
prow = [bytes((x * 7 + y * 3) % 256 for x in range(w)) for y in range(h)]
open(out + "/palette_short.png", "wb").write(png(w, h, 3, prow, plte=plte))
