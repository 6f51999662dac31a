/* `fsops`: the file system calls Node lacks (lsetxattr, lgetxattr, llistxattr, mknod), one
 * request line in and one reply line out on fd 3 until end of file. It stays in its caller's
 * namespaces: the layer extractor that starts it is root in the container's already. */
#include <errno.h>
#include <linux/limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "helper.h"

#define DATA_MAX XATTR_SIZE_MAX /* = XATTR_LIST_MAX: the largest value and name list */
#define REQUEST_MAX (2 * DATA_MAX + PATH_MAX + 512) /* lsetxattr with the largest value */
#define REPLY_MAX (2 * DATA_MAX + 512)

#define bad_request(err, ...) error_set(err, EINVAL, "fsops", "", __VA_ARGS__)

static struct reader {
	size_t start, end; /* buf[start, end) is read but not yet served */
	char buf[REQUEST_MAX];
} input;
static char data[DATA_MAX], reply[REPLY_MAX];

/* 1 with the next line NUL-terminated in place in *line, or with *line NULL and bad filled
 * for a malformed one; 0 at end of file; -1 if reading fails. */
static int next_line(struct reader *r, char **line, struct error *bad, struct error *err)
{
	bool too_long = false;
	size_t start;
	ssize_t n;
	char *nl;

	*line = NULL;
	while (!(nl = memchr(r->buf + r->start, '\n', r->end - r->start))) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
		if (r->end == sizeof r->buf) { /* dropped; its reply comes at its end */
			too_long = true;
			r->end = 0;
		}
		n = read(MSG_FD, r->buf + r->end, sizeof r->buf - r->end);
		if (n < 0 && errno != EINTR)
			return error_set(err, errno, "read", "", "cannot read a request");
		if (n == 0 && r->end == 0 && !too_long)
			return 0;
		if (n == 0) {
			r->end = 0;
			bad_request(bad, "the last request does not end with a newline");
			return 1;
		}
		r->end += n > 0 ? (size_t)n : 0;
	}
	*nl = '\0';
	start = r->start;
	r->start = (size_t)(nl + 1 - r->buf);
	if (too_long)
		bad_request(bad, "a request is longer than %d bytes", REQUEST_MAX);
	else if (strlen(r->buf + start) != r->start - 1 - start)
		bad_request(bad, "a request contains a NUL byte");
	else
		*line = r->buf + start;
	return 1;
}

/* Splits off the next field, which a space ends; NULL if there is none or it is empty. */
static char *field(char **rest)
{
	char *f = *rest, *space = strchr(f, ' ');

	if (!space || space == f)
		return NULL;
	*space = '\0';
	*rest = space + 1;
	return f;
}

static bool number(const char *s, int base, unsigned long max, unsigned long *out)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, base);
	return *end == '\0' && errno == 0 && *out <= max;
}

/* Decodes lower-case hex (or `-`, the empty value) in place; returns the length or -1. */
static ssize_t unhex(char *s)
{
	static const char digits[] = "0123456789abcdef";
	size_t n = strlen(s);

	if (strcmp(s, "-") == 0)
		return 0;
	for (size_t i = 0; i < n; i += 2) {
		const char *hi = strchr(digits, s[i]), *lo = i + 1 < n ? strchr(digits, s[i + 1]) : NULL;

		if (!hi || !lo)
			return -1;
		s[i / 2] = (char)((hi - digits) << 4 | (lo - digits));
	}
	return (ssize_t)(n / 2);
}

static int do_lsetxattr(char *args, struct error *err)
{
	char *name = field(&args), *value = field(&args);
	ssize_t len;

	if (!name || !value || args[0] != '/')
		return bad_request(err, "lsetxattr takes NAME HEXVALUE PATH, PATH absolute");
	if ((len = unhex(value)) < 0)
		return bad_request(err, "the value for %s is neither lower-case hex nor -", name);
	if (lsetxattr(args, name, value, (size_t)len, 0) < 0)
		return error_set(err, errno, "lsetxattr", args, "cannot set %s on %s", name, args);
	emit("reply", "ok:b", true);
	return 0;
}

static int do_lgetxattr(char *args, struct error *err)
{
	char *name = field(&args);
	ssize_t n;

	if (!name || args[0] != '/')
		return bad_request(err, "lgetxattr takes NAME PATH, PATH absolute");
	if ((n = lgetxattr(args, name, data, sizeof data)) < 0)
		return error_set(err, errno, "lgetxattr", args, "cannot get %s of %s", name, args);
	emit_long(reply, sizeof reply, "reply", "ok:b value:x", true, data, (size_t)n); /* always fits */
	return 0;
}

static int do_llistxattr(char *args, struct error *err)
{
	ssize_t n;

	if (args[0] != '/')
		return bad_request(err, "llistxattr takes PATH, PATH absolute");
	if ((n = llistxattr(args, data, sizeof data)) < 0)
		return error_set(err, errno, "llistxattr", args, "cannot list the xattrs of %s", args);
	if (emit_long(reply, sizeof reply, "reply", "ok:b names:a", true, data, (size_t)n) < 0)
		return error_set(err, E2BIG, "llistxattr", args, "the xattr names of %s do not fit a reply", args);
	return 0;
}

static int do_mknod(char *args, struct error *err)
{
	static const char types[] = "cbp";
	static const mode_t kinds[] = { S_IFCHR, S_IFBLK, S_IFIFO };
	char *type = field(&args), *mode = field(&args), *major = field(&args), *minor = field(&args);
	const char *kind = type && !type[1] ? strchr(types, type[0]) : NULL;
	unsigned long perm, maj, min;

	if (!kind || !mode || !major || !minor || args[0] != '/')
		return bad_request(err, "mknod takes TYPE MODE MAJOR MINOR PATH, TYPE c, b or p, PATH absolute");
	if (!number(mode, 8, 07777, &perm) || !number(major, 10, 0xfff, &maj) || !number(minor, 10, 0xfffff, &min))
		return bad_request(err, "mknod takes an octal MODE up to 7777, MAJOR up to 4095, MINOR up to 1048575");
	if (mknod(args, kinds[kind - types] | (mode_t)perm, *kind == 'p' ? 0 : makedev(maj, min)) < 0)
		return error_set(err, errno, "mknod", args, "cannot create the node %s %lu:%lu at %s", type, maj, min, args);
	emit("reply", "ok:b", true);
	return 0;
}

static int serve(char *line, struct error *err)
{
	static const struct op {
		const char *name;
		int (*run)(char *args, struct error *err);
	} ops[] = {
		{ "lsetxattr", do_lsetxattr }, { "lgetxattr", do_lgetxattr },
		{ "llistxattr", do_llistxattr }, { "mknod", do_mknod },
	};
	char *args = line + strcspn(line, " ");

	if (*args)
		*args++ = '\0';
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strcmp(ops[i].name, line) == 0)
			return ops[i].run(args, err);
	return bad_request(err, "unknown request %s", line);
}

int fsops_main(struct error *err)
{
	struct error failed;
	char *line;
	int n;

	emit("event", "name:s", "ready");
	while ((n = next_line(&input, &line, &failed, err)) > 0)
		if (!line || serve(line, &failed) < 0)
			emit("reply", "ok:b errno:i errname:s message:s", false, failed.errno_,
			     errname(failed.errno_), failed.message);
	return n;
}
