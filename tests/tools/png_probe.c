/*
 * png_probe — what colours a PNG screenshot holds, for the browser test of
 * the audit report (tests/e2e/report.sh).  A small PNG reader on zlib:
 * 8-bit RGB or RGBA, not interlaced (what Chromium writes), every filter
 * type of the PNG specification (ISO/IEC 15948 §9).
 *
 *   png_probe FILE.png RRGGBB...
 *
 * Prints "size W H", then for each colour "RRGGBB COUNT X0 Y0 X1 Y1": the
 * pixels of exactly that colour and their bounding box (-1 -1 -1 -1 when
 * there are none), then "dark N": pixels with every channel below 0x60
 * (text).  Exit 1 with one line on a file it cannot read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

static int
die(const char *file, const char *why)
{
	fprintf(stderr, "%s: %s\n", file, why);
	return 1;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int
paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);

	if (pa <= pb && pa <= pc)
		return a;
	return pb <= pc ? b : c;
}

int
main(int argc, char **argv)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	unsigned char *file = NULL, *idat = NULL, *raw = NULL, *img;
	size_t flen = 0, fcap = 0, ilen = 0, pos, rawlen, stride;
	uint32_t w = 0, h = 0;
	int bpp = 0, rc = 1;
	FILE *f;

	if (argc < 2) {
		fprintf(stderr, "usage: png_probe FILE.png RRGGBB...\n");
		return 2;
	}
	if ((f = fopen(argv[1], "rb")) == NULL)
		return die(argv[1], "cannot open");
	for (;;) {
		if (flen == fcap) {
			fcap = fcap ? fcap * 2 : 1 << 20;
			if ((file = realloc(file, fcap)) == NULL)
				return die(argv[1], "out of memory");
		}
		size_t n = fread(file + flen, 1, fcap - flen, f);
		if (n == 0)
			break;
		flen += n;
	}
	fclose(f);
	if (flen < 8 || memcmp(file, sig, 8) != 0)
		return die(argv[1], "not a PNG file");
	for (pos = 8; pos + 12 <= flen;) {
		uint32_t len = be32(file + pos);
		const unsigned char *type = file + pos + 4, *data = file + pos + 8;

		if (len > flen - pos - 12)
			return die(argv[1], "truncated chunk");
		if (memcmp(type, "IHDR", 4) == 0) {
			if (len != 13)
				return die(argv[1], "bad IHDR");
			w = be32(data);
			h = be32(data + 4);
			if (data[8] != 8 || (data[9] != 2 && data[9] != 6) || data[12] != 0)
				return die(argv[1], "only 8-bit RGB or RGBA, not interlaced, is read");
			bpp = data[9] == 6 ? 4 : 3;
			if (w == 0 || h == 0 || w > 20000 || h > 40000)
				return die(argv[1], "unreasonable size");
		} else if (memcmp(type, "IDAT", 4) == 0) {
			if ((idat = realloc(idat, ilen + len + 1)) == NULL)
				return die(argv[1], "out of memory");
			memcpy(idat + ilen, data, len);
			ilen += len;
		} else if (memcmp(type, "IEND", 4) == 0) {
			break;
		}
		pos += 12 + (size_t)len;
	}
	if (bpp == 0 || ilen == 0)
		return die(argv[1], "no IHDR or no image data");
	stride = (size_t)w * (size_t)bpp;
	rawlen = (stride + 1) * h;
	uLongf got = (uLongf)rawlen;
	if ((raw = malloc(rawlen)) == NULL)
		return die(argv[1], "out of memory");
	if (uncompress(raw, &got, idat, (uLong)ilen) != Z_OK || got != rawlen)
		return die(argv[1], "image data does not inflate to the image's size");
	/* undo the filters in place: row y starts at raw + y*(stride+1) + 1 */
	for (uint32_t y = 0; y < h; y++) {
		unsigned char *row = raw + (size_t)y * (stride + 1), *cur = row + 1;
		const unsigned char *up = y ? cur - (stride + 1) : NULL;

		for (size_t x = 0; x < stride; x++) {
			int a = x >= (size_t)bpp ? cur[x - bpp] : 0, b = up ? up[x] : 0;
			int c = (up && x >= (size_t)bpp) ? up[x - bpp] : 0;

			switch (row[0]) {
			case 0: break;
			case 1: cur[x] = (unsigned char)(cur[x] + a); break;
			case 2: cur[x] = (unsigned char)(cur[x] + b); break;
			case 3: cur[x] = (unsigned char)(cur[x] + (a + b) / 2); break;
			case 4: cur[x] = (unsigned char)(cur[x] + paeth(a, b, c)); break;
			default: return die(argv[1], "unknown filter type");
			}
		}
	}
	img = raw;
	printf("size %u %u\n", w, h);
	for (int i = 2; i < argc; i++) {
		unsigned long want, count = 0;
		long x0 = -1, y0 = -1, x1 = -1, y1 = -1;
		char *end;

		want = strtoul(argv[i], &end, 16);
		if (strlen(argv[i]) != 6 || *end != '\0')
			return die(argv[i], "not a colour like c8102e");
		for (uint32_t y = 0; y < h; y++) {
			const unsigned char *p = img + (size_t)y * (stride + 1) + 1;
			for (uint32_t x = 0; x < w; x++, p += bpp) {
				if (((unsigned long)p[0] << 16 | (unsigned long)p[1] << 8 | p[2]) != want)
					continue;
				if (count++ == 0) {
					x0 = x1 = x;
					y0 = y1 = y;
				}
				if (x < x0) x0 = x;
				if (x > x1) x1 = x;
				if (y > y1) y1 = y;
			}
		}
		printf("%06lx %lu %ld %ld %ld %ld\n", want, count, x0, y0, x1, y1);
	}
	unsigned long dark = 0;
	for (uint32_t y = 0; y < h; y++) {
		const unsigned char *p = img + (size_t)y * (stride + 1) + 1;
		for (uint32_t x = 0; x < w; x++, p += bpp)
			if (p[0] < 0x60 && p[1] < 0x60 && p[2] < 0x60)
				dark++;
	}
	printf("dark %lu\n", dark);
	rc = 0;
	free(file);
	free(idat);
	free(raw);
	return rc;
}
