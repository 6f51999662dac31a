/* The wire format: structured errors and JSON lines out, the configuration in. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "helper.h"

#define LINE_MAX_ 4096
#define VALUE_MAX 1536 /* no line has more than two long strings, so it stays below 4 KiB */

struct line {
	char *buf;
	size_t cap, len;
	bool overflow;
};

int error_set(struct error *err, int errno_, const char *op, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	err->errno_ = errno_;
	snprintf(err->op, sizeof err->op, "%s", op);
	snprintf(err->path, sizeof err->path, "%s", path);
	va_start(ap, fmt);
	n = vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	if (errno_ && n >= 0 && (size_t)n < sizeof err->message)
		snprintf(err->message + n, sizeof err->message - n, ": %s", strerror(errno_));
	return -1;
}

const char *errname(int errno_)
{
	static const struct { int value; const char *name; } names[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" }, { EINTR, "EINTR" },
		{ EIO, "EIO" }, { E2BIG, "E2BIG" }, { ENOEXEC, "ENOEXEC" }, { EBADF, "EBADF" },
		{ ECHILD, "ECHILD" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" }, { EACCES, "EACCES" },
		{ EFAULT, "EFAULT" }, { EBUSY, "EBUSY" }, { EEXIST, "EEXIST" }, { EXDEV, "EXDEV" },
		{ ENODEV, "ENODEV" }, { ENOTDIR, "ENOTDIR" }, { EISDIR, "EISDIR" }, { EINVAL, "EINVAL" },
		{ EMFILE, "EMFILE" }, { ENOSPC, "ENOSPC" }, { EROFS, "EROFS" }, { EPIPE, "EPIPE" },
		{ ENAMETOOLONG, "ENAMETOOLONG" }, { ENOSYS, "ENOSYS" }, { ENOTEMPTY, "ENOTEMPTY" },
		{ ELOOP, "ELOOP" }, { EOPNOTSUPP, "EOPNOTSUPP" }, { EOVERFLOW, "EOVERFLOW" },
		{ ENOTSOCK, "ENOTSOCK" }, { ETXTBSY, "ETXTBSY" }, { EUSERS, "EUSERS" },
		{ ESTALE, "ESTALE" }, { EDQUOT, "EDQUOT" }, { ENODATA, "ENODATA" }, { ERANGE, "ERANGE" },
	};

	if (errno_ == 0)
		return "";
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].value == errno_)
			return names[i].name;
	return "E?";
}

static void put(struct line *l, const char *s, size_t n)
{
	if (l->overflow || l->len + n > l->cap - 2) { /* 2: the closing "}\n" */
		l->overflow = true;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* Length of the valid UTF-8 sequence at s, or 0 if the bytes there are not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
		   : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;

	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* Appends a JSON string of at most VALUE_MAX bytes; invalid UTF-8 becomes U+FFFD. */
static void put_string(struct line *l, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t out = 0, len, elen;
	char esc[8];

	put(l, "\"", 1);
	for (size_t i = 0; i < n; i += len) {
		const char *chunk = esc;

		len = 1;
		if (s[i] == '"' || s[i] == '\\')
			elen = (size_t)snprintf(esc, sizeof esc, "\\%c", s[i]);
		else if (s[i] == '\n')
			elen = (size_t)snprintf(esc, sizeof esc, "\\n");
		else if (s[i] < 0x20)
			elen = (size_t)snprintf(esc, sizeof esc, "\\u%04x", s[i]);
		else if (s[i] < 0x80 || (len = utf8_len(s + i, n - i)) > 0)
			chunk = str + i, elen = len;
		else
			elen = (size_t)snprintf(esc, sizeof esc, "\\ufffd"), len = 1;
		if (out + elen > VALUE_MAX)
			break;
		put(l, chunk, elen);
		out += elen;
	}
	put(l, "\"", 1);
}

/* Bytes as a string of lower-case hex digits. */
static void put_hex(struct line *l, const unsigned char *s, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	put(l, "\"", 1);
	for (size_t i = 0; i < n; i++)
		put(l, (char[]){ digits[s[i] >> 4], digits[s[i] & 15] }, 2);
	put(l, "\"", 1);
}

/* NUL-terminated strings back to back (as listxattr gives them) as an array of strings. */
static void put_list(struct line *l, const char *list, size_t n)
{
	put(l, "[", 1);
	for (size_t i = 0, len; i < n; i += len + 1) {
		len = strnlen(list + i, n - i);
		if (i > 0)
			put(l, ",", 1);
		put_string(l, list + i, len);
	}
	put(l, "]", 1);
}

static void put_value(struct line *l, char type, va_list *ap)
{
	char num[16];

	if (type == 's') {
		const char *s = va_arg(*ap, const char *);

		put_string(l, s, strlen(s));
	} else if (type == 'i') {
		put(l, num, (size_t)snprintf(num, sizeof num, "%d", va_arg(*ap, int)));
	} else if (type == 'x' || type == 'a') {
		const char *data = va_arg(*ap, const char *);
		size_t n = va_arg(*ap, size_t);

		if (type == 'x')
			put_hex(l, (const unsigned char *)data, n);
		else
			put_list(l, data, n);
	} else {
		bool b = va_arg(*ap, int);

		put(l, b ? "true" : "false", b ? 4 : 5);
	}
}

/* Best effort: if the engine is gone there is nobody left to tell. A line that would
 * overflow is not sent as broken JSON: -1 (VALUE_MAX rules that out below 4 KiB). */
static int send_line(struct line *l)
{
	size_t sent = 0;
	ssize_t n;

	if (l->overflow)
		return -1;
	memcpy(l->buf + l->len, "}\n", 2);
	while (sent < l->len + 2) { /* a line above the socket's buffer may go out in parts */
		n = send(MSG_FD, l->buf + sent, l->len + 2 - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK) /* a pipe, as in manual tests */
			n = write(MSG_FD, l->buf + sent, l->len + 2 - sent);
		if (n < 0 && errno != EINTR)
			break;
		sent += n > 0 ? (size_t)n : 0;
	}
	return 0;
}

static int emit_into(struct line *l, const char *type, const char *fields, va_list *ap)
{
	put(l, "{\"type\":", 8);
	put_string(l, type, strlen(type));
	for (const char *f = fields + strspn(fields, " "); *f; f += strspn(f, " ")) {
		size_t key_len = strcspn(f, ":");

		put(l, ",", 1);
		put_string(l, f, key_len);
		put(l, ":", 1);
		put_value(l, f[key_len + 1], ap);
		f += key_len + 2;
	}
	return send_line(l);
}

void emit(const char *type, const char *fields, ...)
{
	char buf[LINE_MAX_];
	struct line l = { .buf = buf, .cap = sizeof buf };
	va_list ap;

	va_start(ap, fields);
	emit_into(&l, type, fields, &ap);
	va_end(ap);
}

int emit_long(char *buf, size_t cap, const char *type, const char *fields, ...)
{
	struct line l = { .buf = buf, .cap = cap };
	va_list ap;
	int r;

	va_start(ap, fields);
	r = emit_into(&l, type, fields, &ap);
	va_end(ap);
	return r;
}

void report_error(const struct error *err)
{
	if (!err->reported)
		emit("error", "op:s path:s errno:i errname:s message:s", err->op, err->path,
		     err->errno_, errname(err->errno_), err->message);
}

/* Reads to end of file even past size, so the engine is not met with a reset socket. */
static ssize_t read_all(int fd, char *buf, size_t size, struct error *err)
{
	char discard[512];
	bool too_big = false;
	size_t len = 0;
	ssize_t n;

	for (;;) {
		bool full = len == size - 1;

		n = full ? read(fd, discard, sizeof discard) : read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_set(err, errno, "config", "", "cannot read the configuration");
		if (n == 0)
			break;
		too_big |= full;
		len += full ? 0 : (size_t)n;
	}
	if (too_big)
		return error_set(err, 0, "config", "", "the configuration exceeds %zu bytes", size - 1);
	return (ssize_t)len;
}

/* Reads `KEY SP VALUE LF` lines until end of file; buf must outlive the values. */
int config_read(int fd, char *buf, size_t size, config_fn set, void *cfg, struct error *err)
{
	ssize_t len = read_all(fd, buf, size, err);
	char *line = buf, *end, *space;

	if (len < 0)
		return -1;
	buf[len] = '\0';
	for (int lineno = 1; line < buf + len; line = end + 1, lineno++) {
		end = strchr(line, '\n');
		if (!end)
			return error_set(err, 0, "config", "", "line %d does not end with a newline", lineno);
		*end = '\0';
		space = strchr(line, ' ');
		if (!space || space == line)
			return error_set(err, 0, "config", "", "line %d is not KEY VALUE", lineno);
		*space = '\0';
		if (set(cfg, line, space + 1, err) < 0)
			return -1;
	}
	return 0;
}

int config_once(const char **slot, const char *key, const char *value, struct error *err)
{
	if (*slot)
		return error_set(err, 0, "config", "", "%s is given twice", key);
	*slot = value;
	return 0;
}

int config_flag(int *slot, const char *key, const char *value, struct error *err)
{
	if (*slot != -1 || (strcmp(value, "0") != 0 && strcmp(value, "1") != 0))
		return error_set(err, 0, "config", "", "%s must be given once, as 0 or 1", key);
	*slot = value[0] == '1';
	return 0;
}

int config_program(const char *key, char *value, char **argv, size_t *argc, char **envp, size_t *envc,
		   struct error *err)
{
	/* the lists have room for every line a configuration of CONFIG_MAX bytes can hold */
	if (strcmp(key, "arg") == 0) {
		argv[(*argc)++] = value;
		return 0;
	}
	if (strcmp(key, "env") == 0) {
		if (value[0] == '=' || !strchr(value, '='))
			return error_set(err, 0, "config", "", "env must be KEY=VALUE, not %s", value);
		envp[(*envc)++] = value;
		return 0;
	}
	return 1;
}
