#!/usr/bin/env python3
"""exif_date.py SRC.jpg DST.jpg "YYYY:MM:DD HH:MM:SS"

Writes a copy of a JPEG with an EXIF APP1 segment holding only
DateTimeOriginal (tag 0x9003 in the Exif IFD), inserted right after SOI.
Standard library only; used by tests/e2e_search.sh for --after/--before."""
import struct
import sys


def exif_app1(date: str) -> bytes:
    value = date.encode("ascii") + b"\0"
    assert len(value) == 20
    tiff = bytearray(b"II*\0" + struct.pack("<I", 8))
    exif_ifd = 8 + 2 + 12 + 4
    tiff += struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, exif_ifd) + struct.pack("<I", 0)
    data_at = exif_ifd + 2 + 12 + 4
    tiff += struct.pack("<H", 1) + struct.pack("<HHII", 0x9003, 2, len(value), data_at) + struct.pack("<I", 0)
    tiff += value
    payload = b"Exif\0\0" + bytes(tiff)
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def main() -> None:
    src, dst, date = sys.argv[1:4]
    data = open(src, "rb").read()
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    open(dst, "wb").write(data[:2] + exif_app1(date) + data[2:])


if __name__ == "__main__":
    main()
