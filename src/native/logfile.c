/* The container's log in the k8s-file format podman and conmon write:
 * `TIMESTAMP STREAM TAG CONTENT\n`, TAG F for a full line, P for a piece of one (a line
 * longer than LINE_MAX_ bytes, or what is left at end of stream). A line is buffered until
 * its newline, per stream; each record goes out in one write. With a size cap the file is
 * renamed to FILE.1 before a record would make it larger. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "monitor.h"

#define LINE_MAX_ 16384
#define RECORD_MAX (LINE_MAX_ + 64)

static struct {
	const char *path;
	int fd;
	unsigned long long max, size;
	struct {
		char buf[LINE_MAX_];
		size_t len;
	} line[2]; /* stdout, stderr */
} lf = { .fd = -1 };

void timestamp(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, size - n, ".%09ldZ", ts.tv_nsec);
}

static int open_log(struct error *err)
{
	struct stat st;

	lf.fd = open(lf.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lf.fd < 0)
		return error_set(err, errno, "open", lf.path, "cannot open the log %s", lf.path);
	lf.size = fstat(lf.fd, &st) == 0 ? (unsigned long long)st.st_size : 0;
	return 0;
}

int logfile_open(const char *path, unsigned long long max, struct error *err)
{
	lf.path = path;
	lf.max = max;
	return open_log(err);
}

static void rotate(void)
{
	char old[4096];

	if ((size_t)snprintf(old, sizeof old, "%s.1", lf.path) >= sizeof old)
		return;
	if (rename(lf.path, old) < 0)
		return;
	close(lf.fd);
	if (open_log(&(struct error){ 0 }) < 0)
		lf.fd = -1;
}

static void record(int stream, char tag, const char *data, size_t len)
{
	static char rec[RECORD_MAX];
	size_t n;
	ssize_t w;

	if (lf.fd < 0)
		return;
	timestamp(rec, 64);
	n = strlen(rec);
	n += (size_t)snprintf(rec + n, RECORD_MAX - n, " %s %c ", stream == 2 ? "stderr" : "stdout", tag);
	memcpy(rec + n, data, len);
	n += len;
	rec[n++] = '\n';
	if (lf.max && lf.size > 0 && lf.size + n > lf.max) {
		rotate();
		if (lf.fd < 0)
			return;
	}
	w = write(lf.fd, rec, n);
	if (w > 0)
		lf.size += (unsigned long long)w;
}

void logfile_write(int stream, const char *data, size_t len)
{
	typeof(lf.line[0]) *l = &lf.line[stream == 2];

	if (lf.path == NULL)
		return;
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;

		if (l->len + take > LINE_MAX_) { /* a piece of a long line */
			size_t fit = LINE_MAX_ - l->len;

			memcpy(l->buf + l->len, data, fit);
			record(stream, 'P', l->buf, LINE_MAX_);
			l->len = 0;
			data += fit;
			len -= fit;
			continue;
		}
		memcpy(l->buf + l->len, data, take);
		l->len += take;
		data += take;
		len -= take;
		if (nl) {
			record(stream, 'F', l->buf, l->len);
			l->len = 0;
			data++;
			len--;
		}
	}
}

void logfile_flush(int stream)
{
	typeof(lf.line[0]) *l = &lf.line[stream == 2];

	if (l->len)
		record(stream, 'P', l->buf, l->len);
	l->len = 0;
}
