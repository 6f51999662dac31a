/* `run`: the configuration lines of the monitor, hooks, cgroup and init
 * (docs/helper-protocol.md, `run`). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

static int parse_number(const char *key, const char *value, unsigned long long max, unsigned long long *out,
			struct error *err)
{
	char *end;

	errno = 0;
	*out = strtoull(value, &end, 10);
	if (!*value || *end || errno || *out > max || value[0] == '-' || value[0] == '+')
		return error_set(err, 0, "config", "", "%s: bad number %s", key, value);
	return 0;
}

/* Splits value into arguments at single spaces, in place; `\s` stands for a space and
 * `\\` for a backslash inside an argument. */
static int add_argv(struct run_config *c, char ***list, size_t *n, const char *key, char *value, struct error *err)
{
	size_t first = c->nwords;
	char *in = value, *out = value;

	if (*n == HOOKS_MAX)
		return error_set(err, 0, "config", "", "more than %d %s lines", HOOKS_MAX, key);
	if (!*value || *value == ' ')
		return error_set(err, 0, "config", "", "%s must be a program and its arguments", key);
	for (;;) {
		if (c->nwords >= WORDS_MAX - 1)
			return error_set(err, 0, "config", "", "too many hook and exit-cmd arguments");
		c->words[c->nwords++] = out;
		while (*in && *in != ' ') {
			if (*in == '\\' && (in[1] == 's' || in[1] == '\\')) {
				*out++ = in[1] == 's' ? ' ' : '\\';
				in += 2;
			} else if (*in == '\\') {
				return error_set(err, 0, "config", "", "%s: bad escape (only \\s and \\\\)", key);
			} else {
				*out++ = *in++;
			}
		}
		if (!*in)
			break;
		if (in[1] == ' ' || !in[1])
			return error_set(err, 0, "config", "", "%s: empty argument", key);
		in++;
		*out++ = '\0';
	}
	*out = '\0';
	c->words[c->nwords++] = NULL;
	list[(*n)++] = &c->words[first];
	return 0;
}

/* Returns 1 for a key that is not the monitor's. */
int run_set_monitor(struct run_config *c, const char *key, char *value, struct error *err)
{
	static const struct {
		const char *key;
		size_t offset;
	} once[] = {
		{ "state", offsetof(struct run_config, state) },
		{ "log", offsetof(struct run_config, log) },
		{ "attach", offsetof(struct run_config, attach) },
		{ "cgroup", offsetof(struct run_config, cgroup) },
		{ "restart", offsetof(struct run_config, restart_s) },
		{ "log-max-size", offsetof(struct run_config, log_max_s) },
		{ "tty-size", offsetof(struct run_config, tty_size_s) },
		{ "attach-fd", offsetof(struct run_config, attach_fd_s) },
		{ "hook-ready-fd", offsetof(struct run_config, ready_fd_s) },
	};
	static const struct {
		const char *key;
		size_t offset;
	} flags[] = {
		{ "detach", offsetof(struct run_config, detach) },
		{ "tty", offsetof(struct run_config, tty) },
		{ "stdin", offsetof(struct run_config, stdin_open) },
		{ "init", offsetof(struct run_config, init) },
	};

	for (size_t i = 0; i < sizeof once / sizeof once[0]; i++)
		if (strcmp(key, once[i].key) == 0)
			return config_once((const char **)((char *)c + once[i].offset), key, value, err);
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (strcmp(key, flags[i].key) == 0)
			return config_flag((int *)((char *)c + flags[i].offset), key, value, err);
	if (strcmp(key, "hook") == 0)
		return add_argv(c, c->hooks, &c->nhooks, key, value, err);
	if (strcmp(key, "exit-cmd") == 0)
		return add_argv(c, c->exit_cmds, &c->nexit_cmds, key, value, err);
	return 1;
}

static int check_restart(struct run_config *c, struct error *err)
{
	const char *s = c->restart_s;
	unsigned long long n;

	if (!s || strcmp(s, "no") == 0)
		c->restart = RESTART_NO;
	else if (strcmp(s, "always") == 0)
		c->restart = RESTART_ALWAYS;
	else if (strcmp(s, "unless-stopped") == 0)
		c->restart = RESTART_UNLESS_STOPPED;
	else if (strcmp(s, "on-failure") == 0)
		c->restart = RESTART_ON_FAILURE;
	else if (strncmp(s, "on-failure:", 11) == 0) {
		if (parse_number("restart", s + 11, 1000000, &n, err) < 0 || n == 0)
			return error_set(err, 0, "config", "", "restart on-failure:N needs N > 0, not %s", s + 11);
		c->restart = RESTART_ON_FAILURE;
		c->restart_max = (unsigned)n;
	} else {
		return error_set(err, 0, "config", "", "restart must be no, always, unless-stopped or on-failure[:N], not %s", s);
	}
	return 0;
}

static int check_path(const char *key, const char *value, struct error *err)
{
	if (value && value[0] != '/')
		return error_set(err, 0, "config", "", "%s must be an absolute path, not %s", key, value);
	return 0;
}

int run_check_monitor(struct run_config *c, struct error *err)
{
	unsigned long long v;
	const char *needs_detach = c->state ? "state" : c->log ? "log" : c->attach ? "attach" : c->attach_fd_s ? "attach-fd"
				 : c->tty != -1 ? "tty" : c->stdin_open != -1 ? "stdin" : c->restart_s ? "restart"
				 : c->nexit_cmds ? "exit-cmd" : c->log_max_s ? "log-max-size" : c->tty_size_s ? "tty-size" : NULL;

	if (c->detach != 1 && needs_detach)
		return error_set(err, 0, "config", "", "%s needs detach 1", needs_detach);
	if (c->detach == 1 && !c->state)
		return error_set(err, 0, "config", "", "detach needs state");
	if (check_path("state", c->state, err) < 0 || check_path("log", c->log, err) < 0 ||
	    check_path("attach", c->attach, err) < 0 || check_path("cgroup", c->cgroup, err) < 0)
		return -1;
	if (c->log_max_s && parse_number("log-max-size", c->log_max_s, ~0ULL, &c->log_max, err) < 0)
		return -1;
	if (c->log_max_s && !c->log)
		return error_set(err, 0, "config", "", "log-max-size needs log");
	if (c->tty_size_s) {
		unsigned rows, cols;
		char end;

		if (sscanf(c->tty_size_s, "%5u %5u%c", &rows, &cols, &end) != 2 || rows > 65535 || cols > 65535)
			return error_set(err, 0, "config", "", "tty-size must be ROWS COLS, not %s", c->tty_size_s);
		if (c->tty != 1)
			return error_set(err, 0, "config", "", "tty-size needs tty 1");
		c->rows = (unsigned short)rows;
		c->cols = (unsigned short)cols;
	}
	if (c->attach_fd_s) {
		if (parse_number("attach-fd", c->attach_fd_s, 1 << 20, &v, err) < 0 || v <= MSG_FD)
			return error_set(err, 0, "config", "", "attach-fd must be a descriptor above %d", MSG_FD);
		c->attach_fd = (int)v;
	}
	if (c->ready_fd_s) {
		if (parse_number("hook-ready-fd", c->ready_fd_s, 1 << 20, &v, err) < 0 || v < 3)
			return error_set(err, 0, "config", "", "hook-ready-fd must be a descriptor above 2");
		if (c->nhooks == 0)
			return error_set(err, 0, "config", "", "hook-ready-fd needs hook");
		c->ready_fd = (int)v;
	}
	return check_restart(c, err);
}
