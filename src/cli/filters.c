/* filters.c — the filter options of custos search, shared with
 * custos export --search (cli.h). */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static int
parse_count(size_t *out, const char *arg, const char *name, const char *cmd)
{
	char *end;
	unsigned long long v = strtoull(arg, &end, 10);

	if (*arg == '\0' || *arg == '-' || *end != '\0' || v > 100000000ULL) {
		fprintf(stderr, "custos %s: %s: must be a whole number up to 100000000\n", cmd, name);
		return -1;
	}
	*out = (size_t)v;
	return 0;
}

int
cli_filter_opt(cu_search_query *q, int opt, const char *arg, const char *cmd)
{
	switch (opt - OPT_FILTER) {
	case 0: q->person = arg; break;
	case 1: q->org = arg; break;
	case 2: q->service = arg; break;
	case 3: q->insurance = arg; break;
	case 4: q->channel = arg; break;
	case 5: q->operator_ = arg; break;
	case 6: q->agency = arg; break;
	case 7: q->from = arg; break;
	case 8: q->to = arg; break;
	case 9: q->text = arg; break;
	case 10: return parse_count(&q->limit, arg, "--limit", cmd) < 0 ? -1 : 1;
	case 11: return parse_count(&q->offset, arg, "--offset", cmd) < 0 ? -1 : 1;
	case 12: q->type = arg; break;
	case 13: q->case_no = arg; break;
	case 14: q->file_name = arg; break;
	case 15: q->scheme = arg; break;
	case 16: q->period = arg; break;
	default: return 0;
	}
	return 1;
}
