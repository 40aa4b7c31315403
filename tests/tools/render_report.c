/*
 * render_report — writes an audit report from a report model file, through
 * the library's renderer (custos/report.h), for the browser test:
 *
 *   render_report MODEL.json OUT.html|OUT.json
 *
 * Exit 0 when written; 1 with one line "FILE: reason" otherwise.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "custos/error.h"
#include "custos/report.h"
#include "custos/util.h"

int
main(int argc, char **argv)
{
	json_error_t jerr;
	json_t *model;
	char *text = NULL;
	size_t len = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: render_report MODEL.json OUT.html|OUT.json\n");
		return 2;
	}
	if (cu_read_file(&text, &len, argv[1], 16u * 1024 * 1024) < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], cu_error_last());
		return 1;
	}
	model = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (model == NULL) {
		fprintf(stderr, "%s: line %d: %s\n", argv[1], jerr.line, jerr.text);
		return 1;
	}
	if (cu_report_write(argv[2], model, 0) < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], cu_error_last());
		json_decref(model);
		return 1;
	}
	json_decref(model);
	return 0;
}
