/* The monitor's state file (docs/helper-protocol.md, "State file"): one line of JSON,
 * replaced atomically at every transition. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "monitor.h"

/* Field 22 of /proc/PID/stat: the start time in clock ticks since boot; 0 if unknown. */
unsigned long long proc_start(pid_t pid)
{
	char path[32], text[1024], *p;
	unsigned long long v = 0;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if (read_file(path, text, sizeof text, &(struct error){ 0 }) < 0 || !(p = strrchr(text, ')')))
		return 0;
	/* after the command: field 3 onwards, separated by single spaces */
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu", &v);
	return v;
}

static void json_escape(char *out, size_t size, const char *in)
{
	size_t n = 0;

	for (; *in && n + 7 < size; in++) {
		unsigned char ch = (unsigned char)*in;

		if (ch == '"' || ch == '\\')
			n += (size_t)snprintf(out + n, size - n, "\\%c", ch);
		else if (ch < 0x20)
			n += (size_t)snprintf(out + n, size - n, "\\u%04x", ch);
		else
			out[n++] = (char)ch;
	}
	out[n] = '\0';
}

/* Temp file in the same directory, fsync, rename, fsync the directory (dir_fd, or -1). */
int state_write(const char *path, int dir_fd, const struct state_record *r, struct error *err)
{
	static char text[4096], error[2048], tmp[4096 + 8];
	cleanup_fd int fd = -1;
	int n;

	json_escape(error, sizeof error, r->error);
	n = snprintf(text, sizeof text,
		     "{\"status\":\"%s\",\"pid\":%d,\"pidStart\":%llu,\"monitorPid\":%d,\"monitorStart\":%llu,"
		     "\"bootId\":\"%s\",\"startedAt\":\"%s\",\"finishedAt\":\"%s\",\"exitCode\":%d,\"signal\":%d,"
		     "\"restartCount\":%u,\"stopRequested\":%s,\"error\":\"%s\"}\n",
		     r->status, r->pid, r->pid_start, r->monitor, r->monitor_start, r->boot_id, r->started_at,
		     r->finished_at, r->exit_code, r->signal, r->restarts, r->stop ? "true" : "false", error);
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
		return error_set(err, ENAMETOOLONG, "state", path, "the state file's path is too long");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return error_set(err, errno, "state", tmp, "cannot write the state file %s", tmp);
	if (write(fd, text, (size_t)n) != n || fsync(fd) < 0)
		return error_set(err, errno, "state", tmp, "cannot write the state file %s", tmp);
	if (rename(tmp, path) < 0)
		return error_set(err, errno, "state", path, "cannot rename the state file to %s", path);
	if (dir_fd >= 0)
		fsync(dir_fd);
	return 0;
}
