/* `exec`: runs one more process in a running container (docker exec), joining the
 * namespaces of its pid 1 (docs/helper-protocol.md).
 *
 * The helper opens a pidfd of the container's pid 1 and checks its start time, so a
 * recycled pid is refused. It forks process A, which joins the container's cgroup (if
 * given), then its namespaces with one setns(pidfd), opens the pty (with `tty`) from the
 * container's own /dev/pts, and clones B with CLONE_PARENT: B is in the container's pid
 * namespace and the helper's own child. A sends B's pid (and the pty's master, by
 * SCM_RIGHTS) over the socket pair and exits. B drops privileges as `run`'s pid 1 does and
 * executes the program. A failure in A or B up to execve is a struct error written to a
 * close-on-exec pipe; end of file on it means the program runs. The helper stays outside
 * the container's namespaces: nothing in the container can see or trace it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "run.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct exec_config {
	struct run_config run; /* cwd, ids, capabilities, rlimits, seccomp, no_new_privs, env, arg */
	const char *pid_s, *pid_start_s, *cgroup, *tty_size_s;
	int tty, detach; /* -1 until given */
	pid_t pid;
	unsigned long long pid_start;
	struct winsize size;
	bool has_size;
};

/* ---- configuration ---- */

static int exec_set(void *cfg, const char *key, char *value, struct error *err)
{
	struct exec_config *c = cfg;
	struct run_config *r = &c->run;
	int handled;
	static const struct {
		const char *key;
		size_t offset;
	} once[] = {
		{ "pid", offsetof(struct exec_config, pid_s) },
		{ "pid-start", offsetof(struct exec_config, pid_start_s) },
		{ "cgroup", offsetof(struct exec_config, cgroup) },
		{ "tty-size", offsetof(struct exec_config, tty_size_s) },
		{ "cwd", offsetof(struct exec_config, run.cwd) },
		{ "seccomp", offsetof(struct exec_config, run.seccomp) },
		{ "uid", offsetof(struct exec_config, run.uid_s) },
		{ "gid", offsetof(struct exec_config, run.gid_s) },
		{ "groups", offsetof(struct exec_config, run.groups_s) },
	};

	for (size_t i = 0; i < sizeof once / sizeof once[0]; i++)
		if (strcmp(key, once[i].key) == 0)
			return config_once((const char **)((char *)c + once[i].offset), key, value, err);
	if (strcmp(key, "tty") == 0)
		return config_flag(&c->tty, key, value, err);
	if (strcmp(key, "detach") == 0)
		return config_flag(&c->detach, key, value, err);
	if (strcmp(key, "no-new-privs") == 0)
		return config_flag(&r->no_new_privs, key, value, err);
	if (strcmp(key, "cap") == 0)
		return run_add_cap(r, value, err);
	if (strcmp(key, "rlimit") == 0)
		return run_add_rlimit(r, value, err);
	if ((handled = config_program(key, value, r->argv, &r->argc, r->envp, &r->envc, err)) <= 0)
		return handled;
	return error_set(err, 0, "config", "", "unknown key %s", key);
}

static int parse_number(const char *key, const char *value, unsigned long long min, unsigned long long max,
			unsigned long long *out, struct error *err)
{
	char *end;

	errno = 0;
	*out = strtoull(value, &end, 10);
	if (value[0] < '0' || value[0] > '9' || *end || errno || *out < min || *out > max)
		return error_set(err, 0, "config", "", "%s: bad number %s", key, value);
	return 0;
}

static int parse_size(struct exec_config *c, struct error *err)
{
	char buf[64], *save, *rows, *cols;
	unsigned long long v;

	if ((size_t)snprintf(buf, sizeof buf, "%s", c->tty_size_s) >= sizeof buf ||
	    !(rows = strtok_r(buf, " ", &save)) || !(cols = strtok_r(NULL, " ", &save)) || strtok_r(NULL, " ", &save))
		return error_set(err, 0, "config", "", "tty-size must be ROWS COLS, not %s", c->tty_size_s);
	if (parse_number("tty-size", rows, 1, 65535, &v, err) < 0)
		return -1;
	c->size.ws_row = (unsigned short)v;
	if (parse_number("tty-size", cols, 1, 65535, &v, err) < 0)
		return -1;
	c->size.ws_col = (unsigned short)v;
	c->has_size = true;
	return 0;
}

static int check_config(struct exec_config *c, struct error *err)
{
	struct run_config *r = &c->run;
	unsigned long long v;

	if (!c->pid_s || !c->pid_start_s || r->argc == 0)
		return error_set(err, 0, "config", "", "pid, pid-start and at least one arg are required");
	if (parse_number("pid", c->pid_s, 1, 0x7fffffff, &v, err) < 0 ||
	    parse_number("pid-start", c->pid_start_s, 0, ~0ULL, &c->pid_start, err) < 0)
		return -1;
	c->pid = (pid_t)v;
	if (c->cgroup && c->cgroup[0] != '/')
		return error_set(err, 0, "config", "", "cgroup must be an absolute path, not %s", c->cgroup);
	c->tty = c->tty == 1;
	c->detach = c->detach == 1;
	if (c->tty && c->detach)
		return error_set(err, 0, "config", "", "tty and detach cannot go together: nobody would hold the terminal");
	if (c->tty_size_s && parse_size(c, err) < 0)
		return -1;
	if (!r->cwd)
		r->cwd = "/";
	if (run_check_ids(r, err) < 0)
		return -1;
	r->no_new_privs = r->no_new_privs == 1;
	return r->seccomp ? run_load_seccomp(r, err) : 0;
}

/* ---- the container ---- */

static int not_running(const struct exec_config *c, struct error *err)
{
	return error_set(err, ESRCH, "pid", "", "the container is not running (pid %d)", c->pid);
}

/* A pidfd of the container's pid 1, or -1 if that process is gone or is another one
 * now: the start time is checked after the pidfd pins the process. */
static int open_container(const struct exec_config *c, struct error *err)
{
	char path[64], stat[1024], *p;
	unsigned long long start;
	int fd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	int field;

	if (fd < 0)
		return errno == ESRCH ? not_running(c, err)
				      : error_set(err, errno, "pidfd_open", "", "cannot open pid %d", c->pid);
	snprintf(path, sizeof path, "/proc/%d/stat", (int)c->pid);
	if (read_file(path, stat, sizeof stat, &(struct error){ 0 }) < 0 || !(p = strrchr(stat, ')')) || !p[1])
		goto gone;
	p += 2; /* field 3, the state */
	if (*p == 'Z' || *p == 'X' || *p == 'x')
		goto gone;
	for (field = 3; field < 22 && p; field++)
		if ((p = strchr(p, ' ')))
			p++;
	if (!p || sscanf(p, "%llu", &start) != 1 || start != c->pid_start)
		goto gone;
	return fd;
gone:
	close(fd);
	return not_running(c, err);
}

/* The namespaces of pid 1 that are not the helper's own: setns refuses to re-enter the
 * helper's own user namespace (a container without one, run by root). */
static int namespaces_to_join(pid_t pid)
{
	static const struct {
		int flag;
		const char *name;
	} ns[] = {
		{ CLONE_NEWUSER, "user" }, { CLONE_NEWNS, "mnt" }, { CLONE_NEWPID, "pid" },
		{ CLONE_NEWUTS, "uts" },   { CLONE_NEWIPC, "ipc" }, { CLONE_NEWNET, "net" },
		{ CLONE_NEWCGROUP, "cgroup" },
	};
	int flags = 0;

	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		char mine_path[64], theirs_path[64];
		struct stat mine, theirs;

		snprintf(mine_path, sizeof mine_path, "/proc/self/ns/%s", ns[i].name);
		snprintf(theirs_path, sizeof theirs_path, "/proc/%d/ns/%s", (int)pid, ns[i].name);
		if (stat(mine_path, &mine) == 0 && stat(theirs_path, &theirs) == 0 && mine.st_dev == theirs.st_dev &&
		    mine.st_ino == theirs.st_ino)
			continue;
		flags |= ns[i].flag;
	}
	return flags;
}

/* ---- process B: the program's process, in the container's pid namespace ---- */

static int set_stdio(const struct exec_config *c, int slave, struct error *err)
{
	cleanup_fd int null = -1;

	if (setsid() < 0)
		return error_set(err, errno, "setsid", "", "cannot start a session");
	if (c->tty) {
		if (ioctl(slave, TIOCSCTTY, 0) < 0)
			return error_set(err, errno, "ioctl", "", "cannot make the pty the controlling terminal");
		/* as login does: the user may reopen its terminal (screen, tmux); gid stays tty's */
		if (fchown(slave, c->run.uid, (gid_t)-1) < 0 && errno != EINVAL && errno != EPERM)
			return error_set(err, errno, "fchown", "", "cannot give the terminal to uid %u", c->run.uid);
		for (int fd = 0; fd < 3; fd++)
			if (dup2(slave, fd) < 0)
				return error_set(err, errno, "dup2", "", "cannot connect the terminal");
	} else if (c->detach) {
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0)
			return error_set(err, errno, "open", "/dev/null", "cannot open the container's /dev/null");
		for (int fd = 0; fd < 3; fd++)
			if (dup2(null, fd) < 0)
				return error_set(err, errno, "dup2", "", "cannot connect /dev/null");
	}
	/* whatever else is open goes at execve (the status pipe must stay until then) */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return error_set(err, errno, "close_range", "", "cannot mark descriptors close-on-exec");
	return 0;
}

/* Returns only on failure; -1 with err->reported set when nobody is left to tell. */
static int start_process(const struct exec_config *c, int slave, int sync, const sigset_t *mask, struct error *err)
{
	const struct run_config *r = &c->run;
	struct pollfd pfd = { .fd = sync, .events = POLLIN };

	if (set_stdio(c, slave, err) < 0 || run_set_rlimits(r, err) < 0)
		return -1;
	/* as for `run`: without no_new_privs the filter needs CAP_SYS_ADMIN, so goes in first */
	if (!r->no_new_privs && run_install_seccomp(r, err) < 0)
		return -1;
	if (run_set_credentials(r, err) < 0)
		return -1;
	if (chdir(r->cwd) < 0)
		return error_set(err, errno, "chdir", r->cwd, "cannot enter %s", r->cwd);
	if (!c->detach) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			return error_set(err, errno, "prctl", "", "cannot set the parent-death signal");
		/* the helper writes nothing on the socket pair: readable means it is gone */
		if (poll(&pfd, 1, 0) != 0) {
			err->reported = true;
			return -1;
		}
	}
	if (r->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return error_set(err, errno, "prctl", "", "cannot set no_new_privs");
	if (sigprocmask(SIG_SETMASK, mask, NULL) < 0)
		return error_set(err, errno, "sigprocmask", "", "cannot restore the signal mask");
	if (r->no_new_privs && run_install_seccomp(r, err) < 0)
		return -1;
	execve(r->argv[0], r->argv, r->envp);
	return error_set(err, errno, "execve", r->argv[0], "cannot execute %s", r->argv[0]);
}

static void __attribute__((noreturn)) report_and_exit(const struct error *err, int status_fd)
{
	/* one write below PIPE_BUF: the helper reads all of it or nothing */
	if (!err->reported && write(status_fd, err, sizeof *err) != sizeof *err)
		_exit(2);
	_exit(1);
}

/* ---- process A: joins the container, opens the pty, starts B ---- */

/* B's pid, and with it the pty's master, in one message. */
static int send_started(int sync, pid_t pid, int master)
{
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &pid, .iov_len = sizeof pid };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (master >= 0) {
		msg.msg_control = control;
		msg.msg_controllen = sizeof control;
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &master, sizeof master);
	}
	return sendmsg(sync, &msg, MSG_NOSIGNAL) == sizeof pid ? 0 : -1;
}

static void __attribute__((noreturn)) first_child(const struct exec_config *c, int pidfd, int nsflags, int cgroup_fd,
						  int sync, int status_fd, const sigset_t *mask)
{
	struct error err = { 0 };
	int master = -1, slave = -1;
	pid_t pid;

	/* until execve, nothing in the container may trace B or open its /proc files */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		error_set(&err, errno, "prctl", "", "cannot make the process non-dumpable");
		report_and_exit(&err, status_fd);
	}
	if (cgroup_fd >= 0 && write(cgroup_fd, "0", 1) != 1) {
		error_set(&err, errno, "cgroup", c->cgroup, "cannot join the cgroup %s", c->cgroup);
		report_and_exit(&err, status_fd);
	}
	if (setns(pidfd, nsflags) < 0) {
		if (errno == ESRCH)
			not_running(c, &err);
		else
			error_set(&err, errno, "setns", "", "cannot join the namespaces of pid %d", (int)c->pid);
		report_and_exit(&err, status_fd);
	}
	if (c->tty && exec_open_pty(c->has_size ? &c->size : NULL, &master, &slave, &err) < 0)
		report_and_exit(&err, status_fd);
	pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
	if (pid < 0) {
		error_set(&err, errno, "clone", "", "cannot start a process in the container");
		report_and_exit(&err, status_fd);
	}
	if (pid == 0) {
		if (master >= 0)
			close(master);
		start_process(c, slave, sync, mask, &err);
		report_and_exit(&err, status_fd);
	}
	if (send_started(sync, pid, master) < 0)
		_exit(2);
	_exit(0);
}

/* ---- the helper ---- */

static int receive_started(int sync, pid_t *pid, int *master)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = pid, .iov_len = sizeof *pid };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof control };
	struct cmsghdr *cmsg;
	ssize_t n;

	while ((n = recvmsg(sync, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	for (cmsg = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg))
		if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
			memcpy(master, CMSG_DATA(cmsg), sizeof *master);
	return n == sizeof *pid ? 0 : -1;
}

/* Learns B's pid, the master and the outcome of execve; returns 1 once the program runs. */
static int start(int sync, int status_fd, pid_t *pid, int *master, struct error *err)
{
	struct error child_err;
	ssize_t n;

	*pid = -1;
	if (receive_started(sync, pid, master) < 0)
		*pid = -1;
	while ((n = read(status_fd, &child_err, sizeof child_err)) < 0 && errno == EINTR)
		;
	if (n == 0 && *pid > 0)
		return 1;
	if (n == sizeof child_err)
		*err = child_err;
	else
		error_set(err, n < 0 ? errno : 0, "read", "", "cannot learn whether the program started");
	return -1;
}

/* The initial window size: the helper's own terminal's, else `tty-size`. */
static void initial_size(struct exec_config *c)
{
	struct winsize size;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row && size.ws_col) {
		c->size = size;
		c->has_size = true;
	}
}

static int exec_in_container(struct exec_config *c, struct error *err)
{
	__attribute__((cleanup(close_channels))) struct channels ch = { -1, -1, -1, -1 };
	cleanup_fd int pidfd = -1;
	cleanup_fd int cgroup_fd = -1;
	cleanup_fd int master = -1;
	sigset_t held, previous;
	pid_t first, pid;
	int nsflags, r;

	pidfd = open_container(c, err);
	if (pidfd < 0)
		return -1;
	nsflags = namespaces_to_join(c->pid);
	if (c->cgroup) {
		char path[4096];

		if ((size_t)snprintf(path, sizeof path, "%s/cgroup.procs", c->cgroup) >= sizeof path)
			return error_set(err, ENAMETOOLONG, "cgroup", c->cgroup, "cgroup path too long");
		cgroup_fd = open(path, O_WRONLY | O_CLOEXEC);
		if (cgroup_fd < 0)
			return error_set(err, errno, "cgroup", c->cgroup, "cannot open %s", path);
	}
	if (c->tty)
		initial_size(c);
	if (open_channels(&ch, err) < 0 || hold_signals(&held, &previous, err) < 0)
		return -1;
	first = fork();
	if (first < 0)
		return error_set(err, errno, "fork", "", "cannot start a process for the container");
	if (first == 0) {
		close(ch.sync);
		close(ch.status_rd);
		first_child(c, pidfd, nsflags, cgroup_fd, ch.sync_child, ch.status_wr, &previous);
	}
	close_fdp(&ch.sync_child);
	close_fdp(&ch.status_wr);
	ch.sync_child = ch.status_wr = -1;
	r = start(ch.sync, ch.status_rd, &pid, &master, err);
	wait_for(first, "the process that joins the container", &(struct error){ 0 });
	close_fdp(&ch.sync);
	ch.sync = -1;
	if (r < 0) {
		if (pid > 0)
			wait_for(pid, "the program's process", &(struct error){ 0 });
		return -1;
	}
	if (c->detach) {
		emit("event", "name:s pid:i", "started", (int)pid);
		return 0;
	}
	if (c->tty) {
		if (master < 0)
			return error_set(err, 0, "recvmsg", "", "the pty's master did not arrive");
		return exec_relay(pid, master, &held, err);
	}
	return supervise(pid, &held, &previous, err);
}

int exec_main(struct error *err)
{
	static char text[CONFIG_MAX];
	static struct exec_config c;

	c.tty = c.detach = c.run.no_new_privs = -1;
	if (config_read(MSG_FD, text, sizeof text, exec_set, &c, err) < 0 || check_config(&c, err) < 0)
		return -1;
	return exec_in_container(&c, err);
}
