/*
 * sched.c — when the scheduled jobs run (daemon.h).  The last run of each
 * job is kept in STATE/custosd.state (JSON), so that a run missed while the
 * daemon was down happens once at the next start, and `custos status`
 * shows the last result after a restart.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/calendar.h"
#include "custos/error.h"
#include "custos/util.h"
#include "daemon.h"

static time_t created;   /* when this state file was first written */

time_t
sched_next(const struct job *j, const cu_dconf *conf, time_t t)
{
	cu_calendar cal;
	int64_t next;

	if (j->calendar == NULL || cu_calendar_parse(&cal, j->calendar) < 0 ||
	    cu_calendar_next(&next, &cal, (int64_t)t) < 0)
		return 0;
	return (time_t)next + (time_t)cu_calendar_delay(j->name, conf->archive, conf->random_delay);
}

static int
state_path(char *out, size_t n, const cu_dconf *conf)
{
	return cu_pathf(out, n, "%s/custosd.state", conf->state);
}

int
sched_load(struct job jobs[CU_JOB_COUNT], const cu_dconf *conf, time_t now)
{
	char path[4200];
	json_t *st = NULL;
	json_error_t je;

	for (int k = 0; k < CU_JOB_COUNT; k++) {
		free(jobs[k].calendar);
		jobs[k].calendar = NULL;
		jobs[k].name = cu_dconf_job_name((enum cu_dconf_job)k);
		/* backups need a backup folder */
		if (conf->schedule[k] && conf->schedule[k][0] &&
		    (conf->backup.to || (k != CU_JOB_BACKUP_FULL && k != CU_JOB_BACKUP_INCREMENTAL)))
			jobs[k].calendar = strdup(conf->schedule[k]);
	}
	if (state_path(path, sizeof(path), conf) < 0)
		return CU_EINVALID;
	if (created == 0) {
		st = json_load_file(path, 0, &je);
		if (st == NULL && errno != ENOENT && je.line != -1)
			dlog(LOG_WARN_, "%s: %s (line %d); the job runs start afresh", path, je.text, je.line);
		created = (time_t)json_integer_value(json_object_get(st, "created"));
		if (created <= 0)
			created = now;
		for (int k = 0; k < CU_JOB_COUNT; k++) {
			json_t *j = json_object_get(json_object_get(st, "jobs"), jobs[k].name);
			jobs[k].last_exit = -1;
			if (j == NULL)
				continue;
			jobs[k].last_start = (time_t)json_integer_value(json_object_get(j, "start"));
			jobs[k].last_end = (time_t)json_integer_value(json_object_get(j, "end"));
			jobs[k].last_exit = json_is_integer(json_object_get(j, "exit"))
				? (int)json_integer_value(json_object_get(j, "exit")) : -1;
			snprintf(jobs[k].last_result, sizeof(jobs[k].last_result), "%s",
				json_string_value(json_object_get(j, "result")) ?: "");
		}
		json_decref(st);
	}
	for (int k = 0; k < CU_JOB_COUNT; k++) {
		/* the first time due since the last run (or since the daemon
		 * first ran): if it has passed, the run was missed: now, once */
		time_t base = jobs[k].last_start ? jobs[k].last_start : created;
		time_t due = sched_next(&jobs[k], conf, base);
		jobs[k].next = due == 0 ? 0 : due <= now ? now : due;
	}
	return sched_save(jobs, conf);
}

int
sched_save(const struct job jobs[CU_JOB_COUNT], const cu_dconf *conf)
{
	char path[4200], *text;
	json_t *st = json_pack("{s:i, s:I, s:{}}", "version", 1, "created", (json_int_t)created,
		"jobs"), *js = json_object_get(st, "jobs");
	int error;

	if (st == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	for (int k = 0; k < CU_JOB_COUNT; k++) {
		if (jobs[k].last_start == 0)
			continue;
		json_object_set_new(js, jobs[k].name, json_pack("{s:I, s:I, s:i, s:s}",
			"start", (json_int_t)jobs[k].last_start, "end", (json_int_t)jobs[k].last_end,
			"exit", jobs[k].last_exit, "result", jobs[k].last_result));
	}
	text = json_dumps(st, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(st);
	if (text == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if ((error = state_path(path, sizeof(path), conf)) == 0)
		error = cu_write_file_durable(path, text, strlen(text), 0600, 0);
	free(text);
	return error;
}
