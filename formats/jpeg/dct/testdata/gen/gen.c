/*
 * gen makes the fixture JPEGs of formats/jpeg/dct/testdata with libjpeg(-turbo), and dumps the
 * quantised coefficients of a JPEG as libjpeg reads them (jpeg_read_coefficients), so that the
 * Go decoder can be checked against an independent one. See README.md in this folder.
 *
 *   gen make OUT.jpg W H SAMPLING QUALITY [options]
 *     SAMPLING: "gray", or three HxV factors such as "2x2,1x1,1x1" (gray may be "gray2x2")
 *     options: prog (simple progression), rst=N (restart interval in MCUs), arith,
 *              wide (no baseline clamp: 16-bit tables at low quality), multiscan (one
 *              sequential scan per component)
 *   gen dump IN.jpg OUT.coef
 *     OUT.coef: "DCTC", u8 component count, then per component u16 LE blocks wide and high
 *     (the blocks inside the picture), then that many blocks of 64 int16 LE, natural order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

static void put16(FILE *f, unsigned v) { fputc(v & 255, f); fputc(v >> 8, f); }

static int dump(const char *in, const char *out) {
	struct jpeg_decompress_struct d;
	struct jpeg_error_mgr e;
	FILE *fi = fopen(in, "rb"), *fo;
	if (!fi) { perror(in); return 1; }
	d.err = jpeg_std_error(&e);
	jpeg_create_decompress(&d);
	jpeg_stdio_src(&d, fi);
	jpeg_read_header(&d, TRUE);
	jvirt_barray_ptr *arr = jpeg_read_coefficients(&d);
	fo = fopen(out, "wb");
	if (!fo) { perror(out); return 1; }
	fwrite("DCTC", 1, 4, fo);
	fputc(d.num_components, fo);
	for (int c = 0; c < d.num_components; c++) {
		jpeg_component_info *ci = &d.comp_info[c];
		put16(fo, ci->width_in_blocks);
		put16(fo, ci->height_in_blocks);
		for (JDIMENSION by = 0; by < ci->height_in_blocks; by++) {
			JBLOCKARRAY row = (*d.mem->access_virt_barray)((j_common_ptr)&d, arr[c], by, 1, FALSE);
			for (JDIMENSION bx = 0; bx < ci->width_in_blocks; bx++)
				for (int k = 0; k < 64; k++) put16(fo, (unsigned)(unsigned short)row[0][bx][k]);
		}
	}
	jpeg_finish_decompress(&d);
	jpeg_destroy_decompress(&d);
	fclose(fi);
	fclose(fo);
	return 0;
}

static int make(int argc, char **argv) {
	const char *out = argv[2];
	int w = atoi(argv[3]), h = atoi(argv[4]), q = atoi(argv[6]);
	const char *samp = argv[5];
	int prog = 0, rst = 0, arith = 0, wide = 0, multi = 0;
	for (int i = 7; i < argc; i++) {
		if (!strcmp(argv[i], "prog")) prog = 1;
		else if (!strncmp(argv[i], "rst=", 4)) rst = atoi(argv[i] + 4);
		else if (!strcmp(argv[i], "arith")) arith = 1;
		else if (!strcmp(argv[i], "wide")) wide = 1;
		else if (!strcmp(argv[i], "multiscan")) multi = 1;
		else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
	}
	int gray = !strncmp(samp, "gray", 4);
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	FILE *fo = fopen(out, "wb");
	if (!fo) { perror(out); return 1; }
	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, fo);
	c.image_width = w;
	c.image_height = h;
	c.input_components = gray ? 1 : 3;
	c.in_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, q, wide ? FALSE : TRUE);
	if (gray) {
		if (samp[4]) sscanf(samp + 4, "%dx%d", &c.comp_info[0].h_samp_factor, &c.comp_info[0].v_samp_factor);
	} else {
		if (sscanf(samp, "%dx%d,%dx%d,%dx%d", &c.comp_info[0].h_samp_factor, &c.comp_info[0].v_samp_factor,
		           &c.comp_info[1].h_samp_factor, &c.comp_info[1].v_samp_factor,
		           &c.comp_info[2].h_samp_factor, &c.comp_info[2].v_samp_factor) != 6) {
			fprintf(stderr, "bad sampling %s\n", samp);
			return 2;
		}
	}
	c.restart_interval = rst;
	c.arith_code = arith;
	c.optimize_coding = !arith;
	if (prog) jpeg_simple_progression(&c);
	static jpeg_scan_info scans[3];
	if (multi) {
		for (int i = 0; i < c.num_components; i++) {
			scans[i].comps_in_scan = 1;
			scans[i].component_index[0] = i;
			scans[i].Ss = 0; scans[i].Se = 63; scans[i].Ah = 0; scans[i].Al = 0;
		}
		c.scan_info = scans;
		c.num_scans = c.num_components;
	}
	jpeg_start_compress(&c, TRUE);
	unsigned char *row = malloc((size_t)w * 3);
	while (c.next_scanline < c.image_height) {
		int y = c.next_scanline;
		for (int x = 0; x < w; x++) {
			/* A deterministic picture with gradients, edges and texture. */
			unsigned v = (unsigned)(x * 7 + y * 13) ^ (unsigned)(x * y);
			unsigned char r = (unsigned char)(x * 255 / (w > 1 ? w - 1 : 1));
			unsigned char g = (unsigned char)(y * 255 / (h > 1 ? h - 1 : 1));
			unsigned char b = (unsigned char)(((x / 4 + y / 4) & 1) ? 230 : (v & 255));
			if (gray) row[x] = (unsigned char)((r + g + b) / 3);
			else { row[3 * x] = r; row[3 * x + 1] = g; row[3 * x + 2] = b; }
		}
		JSAMPROW rp = row;
		jpeg_write_scanlines(&c, &rp, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	fclose(fo);
	free(row);
	return 0;
}

int main(int argc, char **argv) {
	if (argc >= 4 && !strcmp(argv[1], "dump")) return dump(argv[2], argv[3]);
	if (argc >= 7 && !strcmp(argv[1], "make")) return make(argc, argv);
	fprintf(stderr, "usage: gen make OUT.jpg W H SAMPLING QUALITY [options] | gen dump IN.jpg OUT.coef\n");
	return 2;
}
