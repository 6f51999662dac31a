/* `run`: the hooks, run on the host once the container's namespaces exist and before
 * its program runs (`{pid}` in an argument is B's pid), and the exit commands, run once
 * after the container's final exit. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "run.h"

#define HOOK_TIMEOUT_MS 30000
#define EXIT_CMD_TIMEOUT_MS 60000
#define ARG_MAX_ 4096

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the child: {pid} substituted (for pid > 0), standard input /dev/null, output to out (or
 * /dev/null), ready's write end as ready_fd; never returns. */
static void __attribute__((noreturn)) exec_hook(char **argv, pid_t pid, int out, int ready, int ready_fd,
						const sigset_t *mask)
{
	static char buf[ARG_MAX_ * 2];
	static char *args[WORDS_MAX];
	size_t used = 0, n = 0;
	int null = open("/dev/null", O_RDWR);

	for (; argv[n] && n < WORDS_MAX - 1; n++) {
		const char *in = argv[n], *at;

		args[n] = buf + used;
		while (pid > 0 && (at = strstr(in, "{pid}")) && used < sizeof buf - 32) {
			used += (size_t)snprintf(buf + used, sizeof buf - used, "%.*s%d", (int)(at - in), in, pid);
			in = at + 5;
		}
		used += (size_t)snprintf(buf + used, used < sizeof buf ? sizeof buf - used : 0, "%s", in) + 1;
		if (used >= sizeof buf)
			_exit(127);
	}
	args[n] = NULL;
	if (out < 0)
		out = null;
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	if (ready >= 0 && (ready == ready_fd ? fcntl(ready, F_SETFD, 0) : dup2(ready, ready_fd)) < 0)
		_exit(127);
	/* a hook (not an exit command, pid 0) must not outlive its monitor: pasta would hold
	 * the published ports of a container that is gone */
	if (pid > 0 && prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		_exit(127);
	sigprocmask(SIG_SETMASK, mask, NULL);
	execv(args[0], args);
	dprintf(2, "cannot execute %s: %s", args[0], strerror(errno));
	_exit(127);
}

static void read_some(int fd, char *buf, size_t *len)
{
	char discard[512];
	ssize_t n;

	if (*len < TOOL_STDERR_MAX)
		n = read(fd, buf + *len, TOOL_STDERR_MAX - *len);
	else
		n = read(fd, discard, sizeof discard);
	if (n > 0 && *len < TOOL_STDERR_MAX)
		*len += (size_t)n;
}

/* Waits for the hook to exit, or with ready >= 0 for its byte on ready; collects its
 * output meanwhile. Returns 1 when ready, 0 when exited (status set), -1 on timeout. */
static int wait_hook(pid_t pid, int out, int ready, char *text, int *status)
{
	long long deadline = now_ms() + HOOK_TIMEOUT_MS;
	size_t len = 0;
	char byte;

	for (;;) {
		struct pollfd p[2] = { { .fd = out, .events = POLLIN }, { .fd = ready, .events = POLLIN } };
		long long left = deadline - now_ms();

		if (left <= 0)
			return -1;
		if (poll(p, ready >= 0 ? 2 : 1, left > 100 ? 100 : (int)left) < 0 && errno != EINTR)
			return -1;
		if (p[0].revents)
			read_some(out, text, &len);
		text[len] = '\0';
		if (ready >= 0 && (p[1].revents & POLLIN) && read(ready, &byte, 1) == 1)
			return 1;
		/* exited: what it wrote is in the pipe (a daemon it started may hold it open) */
		if (waitpid(pid, status, WNOHANG) == pid) {
			while (poll(p, 1, 0) > 0 && (p[0].revents & POLLIN) && len < TOOL_STDERR_MAX) {
				size_t before = len;

				read_some(out, text, &len);
				if (len == before)
					break;
			}
			text[len] = '\0';
			return 0;
		}
	}
}

static int run_hook(const struct run_config *c, char **argv, pid_t cpid, const sigset_t *mask,
		    struct run_instance *inst, struct error *err)
{
	cleanup_fd int out_rd = -1, out_wr = -1, ready_rd = -1, ready_wr = -1;
	char text[TOOL_STDERR_MAX + 1] = "";
	int fds[2], status = 0, r;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return error_set(err, errno, "pipe2", "", "cannot create a pipe for hook %s", argv[0]);
	out_rd = fds[0];
	out_wr = fds[1];
	if (c->ready_fd >= 0) {
		if (pipe2(fds, O_CLOEXEC) < 0)
			return error_set(err, errno, "pipe2", "", "cannot create a pipe for hook %s", argv[0]);
		ready_rd = fds[0];
		ready_wr = fds[1];
	}
	pid = fork();
	if (pid < 0)
		return error_set(err, errno, "fork", argv[0], "cannot start hook %s", argv[0]);
	if (pid == 0)
		exec_hook(argv, cpid, out_wr, ready_wr, c->ready_fd, mask);
	close_fdp(&out_wr);
	close_fdp(&ready_wr);
	out_wr = ready_wr = -1;
	r = wait_hook(pid, out_rd, ready_rd, text, &status);
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return error_set(err, 0, "hook", argv[0], "hook %s timed out after %d s: %s", argv[0],
				 HOOK_TIMEOUT_MS / 1000, text);
	}
	if (r == 1) {
		inst->bg[inst->nbg++] = (struct hook_proc){ .pid = pid, .out = out_rd };
		out_rd = -1;
		return 0;
	}
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (status != 0 || c->ready_fd >= 0)
		return error_set(err, 0, "hook", argv[0], "hook %s %s status %d: %s", argv[0],
				 c->ready_fd >= 0 ? "exited before it was ready, with" : "failed with", status, text);
	return 0;
}

int hooks_run(const struct run_config *c, pid_t pid, const sigset_t *mask, struct run_instance *inst,
	      struct error *err)
{
	for (size_t i = 0; i < c->nhooks; i++)
		if (run_hook(c, c->hooks[i], pid, mask, inst, err) < 0)
			return -1;
	return 0;
}

/* SIGTERM; reaped here if they go within a second, else (the fuse daemon: after SIGKILL) by
 * whoever inherits them. A hook the monitor has reaped already has pid -1: its pid may
 * belong to another process now. */
void hooks_stop(struct run_instance *inst)
{
	for (size_t i = 0; i < inst->nbg; i++)
		if (inst->bg[i].pid > 0)
			kill(inst->bg[i].pid, SIGTERM);
	for (size_t i = 0; i < inst->nbg; i++) {
		/* up to 1 s each, woken as soon as it ends (its pidfd turns readable) */
		int pidfd = inst->bg[i].pid > 0 ? (int)syscall(SYS_pidfd_open, inst->bg[i].pid, 0) : -1;

		for (int tries = 0; tries < 100 && inst->bg[i].pid > 0 && waitpid(inst->bg[i].pid, NULL, WNOHANG) == 0;
		     tries++)
			poll(&(struct pollfd){ .fd = pidfd, .events = POLLIN }, pidfd >= 0 ? 1 : 0, 10);
		if (inst->bg[i].kill && inst->bg[i].pid > 0 && waitpid(inst->bg[i].pid, NULL, WNOHANG) == 0) {
			if (pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0)
				kill(inst->bg[i].pid, SIGKILL);
			waitpid(inst->bg[i].pid, NULL, 0);
		}
		close_fdp(&pidfd);
		close_fdp(&inst->bg[i].out);
	}
	inst->nbg = 0;
}

/* Each in its own session, output to /dev/null; waited for up to 60 s in all. */
void exit_cmds_run(const struct run_config *c, const sigset_t *mask)
{
	long long deadline = now_ms() + EXIT_CMD_TIMEOUT_MS;

	for (size_t i = 0; i < c->nexit_cmds; i++) {
		pid_t pid = fork();

		if (pid < 0)
			continue;
		if (pid == 0) {
			setsid();
			exec_hook(c->exit_cmds[i], 0, -1, -1, -1, mask);
		}
		while (waitpid(pid, NULL, WNOHANG) == 0 && now_ms() < deadline)
			poll(NULL, 0, 10);
	}
}
