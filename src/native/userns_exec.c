/* `userns-exec`: runs one program as root in a new user namespace (and optionally a new
 * mount namespace) with the caller's id map, so it can create files owned by any mapped id.
 *
 * The child unshares, the parent maps its ids (idmap.c), the child becomes root and
 * executes the program. The child reports a failure before or at execve by writing its
 * struct error to a close-on-exec pipe; end of file on that pipe means the program runs.
 * The parent then forwards SIGTERM, SIGINT and SIGHUP to it and reports how it ended. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "helper.h"

#define LIST_MAX (CONFIG_MAX / 5) /* `arg ` LF is the shortest line */

struct exec_config {
	struct idmap_config ids;
	int mountns; /* -1 until given */
	const char *cwd;
	char *argv[LIST_MAX + 1], *envp[LIST_MAX + 1]; /* NULL-terminated */
	size_t argc, envc;
};


static int exec_set(void *cfg, const char *key, char *value, struct error *err)
{
	struct exec_config *c = cfg;
	int r = idmap_set(&c->ids, key, value, err);

	if (r <= 0)
		return r;
	if (strcmp(key, "mountns") == 0)
		return config_flag(&c->mountns, key, value, err);
	if (strcmp(key, "cwd") == 0)
		return config_once(&c->cwd, key, value, err);
	if ((r = config_program(key, value, c->argv, &c->argc, c->envp, &c->envc, err)) <= 0)
		return r;
	return error_set(err, 0, "config", "", "unknown key %s", key);
}

static int check_config(struct exec_config *c, struct error *err)
{
	if (!c->cwd || c->argc == 0)
		return error_set(err, 0, "config", "", "cwd and at least one arg are required");
	c->mountns = c->mountns == 1;
	return idmap_check(&c->ids, err);
}

/* ---- the child ---- */

/* Returns only on failure; -1 with err->reported set when the parent failed and reports why. */
static int start_program(const struct exec_config *c, int sync, pid_t parent, const sigset_t *mask,
			 struct error *err)
{
	if (unshare(CLONE_NEWUSER | (c->mountns ? CLONE_NEWNS : 0)) < 0)
		return error_set(err, errno, "unshare", "", "cannot create a %s namespace",
				 c->mountns ? "user and mount" : "user");
	if (idmap_enter(sync, err) < 0)
		return -1;
	if (c->mountns && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return error_set(err, errno, "mount", "/", "cannot make the mounts in the new namespace private");
	if (chdir(c->cwd) < 0)
		return error_set(err, errno, "chdir", c->cwd, "cannot enter %s", c->cwd);
	/* set last: the kernel clears it whenever the effective or file-system ids change */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return error_set(err, errno, "prctl", "", "cannot set the parent-death signal");
	if (getppid() != parent) { /* the helper died before that: nobody is left to tell */
		err->reported = true;
		return -1;
	}
	if (sigprocmask(SIG_SETMASK, mask, NULL) < 0)
		return error_set(err, errno, "sigprocmask", "", "cannot restore the signal mask");
	execve(c->argv[0], c->argv, c->envp);
	return error_set(err, errno, "execve", c->argv[0], "cannot execute %s", c->argv[0]);
}

static void __attribute__((noreturn)) child(const struct exec_config *c, int sync, int status_fd,
					    pid_t parent, const sigset_t *mask)
{
	struct error err = { 0 };

	start_program(c, sync, parent, mask, &err);
	/* one write below PIPE_BUF: the parent reads all of it or nothing */
	if (!err.reported && write(status_fd, &err, sizeof err) != sizeof err)
		_exit(2);
	_exit(1);
}

/* ---- the parent ---- */

/* The map and the outcome of execve; returns 1 once the program runs. */
static int start(const struct exec_config *c, pid_t pid, int sync, int status_fd, struct error *err)
{
	struct error child_err;
	char byte, mapped;
	ssize_t n;

	if (read(sync, &byte, 1) == 1) { /* else the child failed to unshare */
		if (idmap_write(&c->ids, true, pid, &mapped, err) < 0)
			return -1;
		if (send(sync, &mapped, 1, MSG_NOSIGNAL) != 1)
			return error_set(err, errno, "send", "", "cannot signal the program's process");
	}
	n = read(status_fd, &child_err, sizeof child_err);
	if (n == 0)
		return 1;
	if (n == sizeof child_err)
		*err = child_err;
	else
		error_set(err, n < 0 ? errno : 0, "read", "", "cannot learn whether the program started");
	return -1;
}

static int run_program(const struct exec_config *c, struct error *err)
{
	__attribute__((cleanup(close_channels))) struct channels ch = { -1, -1, -1, -1 };
	sigset_t held, previous;
	pid_t parent = getpid(), pid;
	int r;

	if (open_channels(&ch, err) < 0 || hold_signals(&held, &previous, err) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return error_set(err, errno, "fork", "", "cannot start the program's process");
	if (pid == 0) {
		close(ch.sync); /* so the child sees end of file if the parent fails */
		close(ch.status_rd);
		child(c, ch.sync_child, ch.status_wr, parent, &previous);
	}
	close_fdp(&ch.sync_child);
	close_fdp(&ch.status_wr);
	ch.sync_child = ch.status_wr = -1;
	r = start(c, pid, ch.sync, ch.status_rd, err);
	close_fdp(&ch.sync);
	ch.sync = -1;
	if (r < 0) {
		wait_for(pid, "the program's process", &(struct error){ 0 });
		return -1;
	}
	return supervise(pid, &held, &previous, err);
}

int userns_exec_main(struct error *err)
{
	static char text[CONFIG_MAX];
	static struct exec_config c; /* in .bss: not stored in the binary */

	c.mountns = -1;
	if (config_read(MSG_FD, text, sizeof text, exec_set, &c, err) < 0 || check_config(&c, err) < 0)
		return -1;
	return run_program(&c, err);
}
