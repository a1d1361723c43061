#!/usr/bin/python3
"""Regenerates the JPEG decoder test cases: small synthetic images encoded with
cjpeg (libjpeg-turbo-progs) or Pillow in layouts the shared goldens lack
(restart intervals, 4:4:0, 4:1:1, odd sampling factors, custom progressive
scripts, RGB/CMYK/YCCK colour), each with NAME.ppm = Pillow's
Image.open(NAME.jpg).convert("RGB"). Needs python3-pil and cjpeg (Debian:
apt-get install python3-pil libjpeg-turbo-progs). Run from this directory."""
import io, math, os, random, subprocess
from PIL import Image, features

random.seed(15)

def source(w, h):
    im = Image.new("RGB", (w, h))
    px = im.load()
    for y in range(h):
        for x in range(w):
            r = int(127 + 120 * math.sin(x / 3.1 + y / 7.3))
            g = int(127 + 120 * math.cos(x * y / 40.0))
            b = (x * 7 + y * 13) % 256
            if (x // 5 + y // 4) % 3 == 0:
                r, g, b = 255 - r, b, g
            n = random.randint(-20, 20)
            px[x, y] = (max(0, min(255, r + n)), max(0, min(255, g - n)), max(0, min(255, b + n)))
    return im

def cjpeg(name, src, *args):
    ppm = "/tmp/_jpeg_src.ppm"
    src.save(ppm)
    subprocess.run(["cjpeg", *args, "-outfile", name + ".jpg", ppm], check=True)

def golden(name):
    Image.open(name + ".jpg").convert("RGB").save(name + ".ppm")

SCANS = "/tmp/_scans.txt"
with open(SCANS, "w") as f:
    # DC with successive approximation, then spectral bands and refinements per component.
    f.write("0,1,2: 0-0, 0, 2;\n0: 1-9, 0, 1;\n2: 1-63, 0, 0;\n1: 1-63, 0, 0;\n0: 10-63, 0, 1;\n"
            "0,1,2: 0-0, 2, 1;\n0,1,2: 0-0, 1, 0;\n0: 1-63, 1, 0;\n")

a = source(45, 31)
b = source(67, 53)
cases = {
    "restart_rows_420": (a, ["-restart", "1", "-quality", "80"]),
    "restart_blocks_444": (b, ["-restart", "5B", "-sample", "1x1", "-quality", "90"]),
    "restart_progressive_420": (b, ["-restart", "2B", "-progressive", "-quality", "75"]),
    "sample_440": (b, ["-sample", "1x2,1x1,1x1"]),
    "sample_411": (b, ["-sample", "4x1,1x1,1x1"]),
    "sample_422_narrow": (source(3, 9), ["-sample", "2x1,1x1,1x1"]),
    "sample_420_narrow": (source(4, 7), ["-sample", "2x2,1x1,1x1"]),
    "sample_31": (a, ["-sample", "3x1,1x1,1x1"]),
    "sample_24": (a, ["-sample", "2x4,1x1,1x1"]),
    "sample_mixed": (b, ["-sample", "2x2,1x2,2x1"]),
    "sample_42": (b, ["-sample", "4x2,1x1,1x1"]),
    "sample_32": (a, ["-sample", "3x2,1x1,1x1"]),
    "sample_gray_22": (b, ["-grayscale", "-sample", "2x2"]),
    "progressive_script": (b, ["-scans", SCANS, "-quality", "85"]),
    "progressive_gray": (a, ["-grayscale", "-progressive"]),
    "rgb_colorspace": (a, ["-rgb", "-quality", "92"]),
    "q100_444": (a, ["-quality", "100", "-sample", "1x1"]),
    "q5_420": (b, ["-quality", "5"]),
}
for name, (src, args) in cases.items():
    cjpeg(name, src, *args)
    golden(name)

# Four components: Pillow writes Adobe CMYK (transform 0); the YCCK case is the same
# file with the Adobe transform byte set to 2, which libjpeg then converts as YCCK.
src = source(37, 23).convert("CMYK")
src.save("cmyk.jpg", quality=88)
golden("cmyk")
data = bytearray(open("cmyk.jpg", "rb").read())
i = data.find(b"Adobe")
data[i + 11] = 2
open("ycck.jpg", "wb").write(data)
golden("ycck")
