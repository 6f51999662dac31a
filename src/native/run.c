/* `run`: runs a container's process in new user, mount, pid, uts, ipc, cgroup and network
 * namespaces on a prepared root file system (docs/helper-protocol.md).
 *
 * The helper forks process A, which unshares every namespace and waits while the helper
 * maps its ids (idmap.c). A then clones B with CLONE_PARENT, so B is pid 1 of the new pid
 * namespace and the helper's own child; A sends B's pid over the socket pair and exits.
 * B sets up the mounts, pivots into the root, drops privileges and executes the program.
 * A failure in A or B up to execve is a struct error written to a close-on-exec pipe; end
 * of file on it means the program runs.
 *
 * B waits for a `g` byte from the helper before it sets anything up: the helper first
 * runs the hooks, which see B in the container's (mapped) namespaces. With tty, B sends
 * the pty's master back over the socket pair. The start (run_start) is the same for the
 * foreground and for each (re)start under the monitor (monitor.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>

#include "run.h"

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif


/* ---- configuration ---- */

static int add_path(char **list, size_t *n, const char *key, char *value, struct error *err)
{
	if (value[0] != '/')
		return error_set(err, 0, "config", "", "%s must be an absolute path, not %s", key, value);
	if (*n == PATHS_MAX)
		return error_set(err, 0, "config", "", "more than %d %s lines", PATHS_MAX, key);
	list[(*n)++] = value;
	return 0;
}

static int add_mount(struct run_config *c, char *value, struct error *err)
{
	char *save, *f[4] = { 0 };

	if (c->nmounts == MOUNTS_MAX)
		return error_set(err, 0, "config", "", "more than %d mount lines", MOUNTS_MAX);
	f[0] = strtok_r(value, " ", &save);
	f[1] = f[0] ? strtok_r(NULL, " ", &save) : NULL;
	f[2] = f[1] ? strtok_r(NULL, " ", &save) : NULL;
	f[3] = f[2] ? strtok_r(NULL, "", &save) : NULL;
	if (!f[2] || f[0][0] != '/')
		return error_set(err, 0, "config", "", "mount must be DEST TYPE SOURCE [OPTIONS]");
	c->mounts[c->nmounts++] = (struct run_mount){ f[0], f[1], f[2], f[3] ? f[3] : "" };
	return 0;
}

static int run_set(void *cfg, const char *key, char *value, struct error *err)
{
	struct run_config *c = cfg;
	int r = idmap_set(&c->ids, key, value, err);
	static const struct {
		const char *key;
		size_t offset;
	} once[] = {
		{ "rootfs", offsetof(struct run_config, rootfs) },
		{ "lowerdir", offsetof(struct run_config, lowerdir) },
		{ "upperdir", offsetof(struct run_config, upperdir) },
		{ "workdir", offsetof(struct run_config, workdir) },
		{ "hostname", offsetof(struct run_config, hostname) },
		{ "cwd", offsetof(struct run_config, cwd) },
		{ "seccomp", offsetof(struct run_config, seccomp) },
		{ "fuse-overlayfs", offsetof(struct run_config, fuse_overlayfs) },
		{ "uid", offsetof(struct run_config, uid_s) },
		{ "gid", offsetof(struct run_config, gid_s) },
		{ "groups", offsetof(struct run_config, groups_s) },
	};

	if (r <= 0)
		return r;
	r = run_set_monitor(c, key, value, err);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < sizeof once / sizeof once[0]; i++)
		if (strcmp(key, once[i].key) == 0)
			return config_once((const char **)((char *)c + once[i].offset), key, value, err);
	if (strcmp(key, "share-net") == 0)
		return config_flag(&c->share_net, key, value, err);
	if (strcmp(key, "no-new-privs") == 0)
		return config_flag(&c->no_new_privs, key, value, err);
	if (strcmp(key, "mount") == 0)
		return add_mount(c, value, err);
	if (strcmp(key, "device") == 0)
		return add_path(c->devices, &c->ndevices, key, value, err);
	if (strcmp(key, "masked") == 0)
		return add_path(c->masked, &c->nmasked, key, value, err);
	if (strcmp(key, "readonly") == 0)
		return add_path(c->readonly, &c->nreadonly, key, value, err);
	if (strcmp(key, "cap") == 0)
		return run_add_cap(c, value, err);
	if (strcmp(key, "rlimit") == 0)
		return run_add_rlimit(c, value, err);
	if ((r = config_program(key, value, c->argv, &c->argc, c->envp, &c->envc, err)) <= 0)
		return r;
	return error_set(err, 0, "config", "", "unknown key %s", key);
}

static int check_config(struct run_config *c, struct error *err)
{
	if (!c->rootfs || c->argc == 0)
		return error_set(err, 0, "config", "", "rootfs and at least one arg are required");
	if (!c->lowerdir != !c->upperdir || !c->upperdir != !c->workdir)
		return error_set(err, 0, "config", "", "lowerdir, upperdir and workdir go together");
	if (c->fuse_overlayfs && (!c->lowerdir || c->fuse_overlayfs[0] != '/'))
		return error_set(err, 0, "config", "", "fuse-overlayfs needs an absolute path, and lowerdir, upperdir and workdir");
	/* the daemon takes one of the instance's background slots */
	if (c->fuse_overlayfs && c->nhooks == HOOKS_MAX)
		return error_set(err, 0, "config", "", "at most %d hook lines with fuse-overlayfs", HOOKS_MAX - 1);
	if (!c->cwd)
		c->cwd = "/";
	if (run_check_ids(c, err) < 0)
		return -1;
	c->no_new_privs = c->no_new_privs == 1;
	c->share_net = c->share_net == 1;
	if (c->seccomp && run_load_seccomp(c, err) < 0)
		return -1;
	if (run_check_monitor(c, err) < 0)
		return -1;
	return idmap_check(&c->ids, err);
}

/* ---- process B: the container's pid 1 ---- */

static int set_stdio(const struct run_io *io, struct error *err)
{
	int fds[3] = { io->in, io->out, io->err };

	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0 && dup2(fds[i], i) < 0)
			return error_set(err, errno, "dup2", "", "cannot set up the program's descriptor %d", i);
	return 0;
}

/* Returns only on failure; -1 with err->reported set when nobody is left to tell. */
static int start_container(const struct run_config *c, const struct run_io *io, int sync, int status_fd,
			   const sigset_t *mask, struct error *err)
{
	struct pollfd pfd = { .fd = sync, .events = POLLIN };
	char go;

	if (set_stdio(io, err) < 0)
		return -1;
	/* the helper says go once the hooks have run; end of file: it failed, and reports why */
	if (read(sync, &go, 1) != 1 || go != 'g') {
		err->reported = true;
		return -1;
	}
	if (run_setup_root(c, err) < 0)
		return -1;
	if (c->tty == 1 && run_open_tty(c, sync, err) < 0)
		return -1;
	if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0)
		return error_set(err, errno, "sethostname", "", "cannot set the host name");
	if (run_set_rlimits(c, err) < 0)
		return -1;
	/* without no_new_privs, installing a filter takes CAP_SYS_ADMIN, which the
	 * configured capabilities may lack: then it goes in before they are dropped */
	if (!c->no_new_privs && run_install_seccomp(c, err) < 0)
		return -1;
	if (run_set_credentials(c, err) < 0)
		return -1;
	if (chdir(c->cwd) < 0)
		return error_set(err, errno, "chdir", c->cwd, "cannot enter %s", c->cwd);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return error_set(err, errno, "prctl", "", "cannot set the parent-death signal");
	/* the helper writes nothing more on the socket pair: readable means it is gone */
	if (poll(&pfd, 1, 0) != 0) {
		err->reported = true;
		return -1;
	}
	if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return error_set(err, errno, "prctl", "", "cannot set no_new_privs");
	if (c->no_new_privs && run_install_seccomp(c, err) < 0)
		return -1;
	return run_exec(c, mask, status_fd, err);
}

static void __attribute__((noreturn)) report_and_exit(const struct error *err, int status_fd)
{
	/* one write below PIPE_BUF: the parent reads all of it or nothing */
	if (!err->reported && write(status_fd, err, sizeof *err) != sizeof *err)
		_exit(2);
	_exit(1);
}

/* ---- process A: unshares, then starts B as the helper's child ---- */

static void __attribute__((noreturn)) first_child(const struct run_config *c, const struct run_io *io, int sync,
						  int status_fd, const sigset_t *mask)
{
	struct error err = { 0 };
	pid_t pid;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP |
		    (c->share_net ? 0 : CLONE_NEWNET)) < 0) {
		error_set(&err, errno, "unshare", "", "cannot create the container's namespaces");
		report_and_exit(&err, status_fd);
	}
	if (idmap_enter(sync, &err) < 0)
		report_and_exit(&err, status_fd);
	pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
	if (pid < 0) {
		error_set(&err, errno, "clone", "", "cannot start the container's first process");
		report_and_exit(&err, status_fd);
	}
	if (pid == 0) {
		start_container(c, io, sync, status_fd, mask, &err);
		report_and_exit(&err, status_fd);
	}
	if (send(sync, &pid, sizeof pid, MSG_NOSIGNAL) != sizeof pid)
		_exit(2);
	_exit(0);
}

/* ---- the helper ---- */

/* fork(), or with a cgroup clone3(CLONE_INTO_CGROUP): A, and so B and everything in the
 * container, starts in the cgroup, and A unshares its cgroup namespace there. */
static pid_t fork_into(int cgroup_fd)
{
	struct clone_args args = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD,
				   .cgroup = (unsigned long long)cgroup_fd };

	if (cgroup_fd < 0)
		return fork();
	return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

/* Maps the ids, learns B's pid, runs the hooks, lets B go, takes the pty's master and
 * learns the outcome of execve; returns 1 once the program runs. */
static int start(const struct run_config *c, pid_t first, const struct channels *ch, const sigset_t *mask,
		 struct run_instance *inst, struct error *err)
{
	struct error child_err;
	char byte, mapped;
	ssize_t n;

	if (read(ch->sync, &byte, 1) == 1) {
		if (idmap_write(&c->ids, true, first, &mapped, err) < 0)
			return -1;
		if (send(ch->sync, &mapped, 1, MSG_NOSIGNAL) != 1)
			return error_set(err, errno, "send", "", "cannot signal the container's process");
		if (read(ch->sync, &inst->pid, sizeof inst->pid) != sizeof inst->pid)
			inst->pid = -1;
	}
	if (inst->pid > 0) {
		inst->pidfd = (int)syscall(SYS_pidfd_open, inst->pid, 0);
		if (inst->pidfd < 0)
			return error_set(err, errno, "pidfd_open", "", "cannot open the container's process");
		if (hooks_run(c, inst->pid, mask, inst, err) < 0)
			return -1;
		if (c->fuse_overlayfs && fuse_mount_rootfs(c, mask, inst, err) < 0)
			return -1;
		if (send(ch->sync, "g", 1, MSG_NOSIGNAL) != 1)
			return error_set(err, errno, "send", "", "cannot signal the container's process");
		if (c->tty == 1 && run_recv_master(ch->sync, &inst->master, err) < 0)
			return -1;
	}
	n = read(ch->status_rd, &child_err, sizeof child_err);
	if (n == 0 && inst->pid > 0 && (c->tty != 1 || inst->master >= 0))
		return 1;
	if (n == sizeof child_err)
		*err = child_err;
	else
		error_set(err, n < 0 ? errno : 0, "read", "", "cannot learn whether the program started");
	return -1;
}

void run_instance_end(struct run_instance *inst)
{
	if (inst->pid > 0) {
		if (inst->pidfd >= 0)
			syscall(SYS_pidfd_send_signal, inst->pidfd, SIGKILL, NULL, 0);
		wait_for(inst->pid, "the container's process", &(struct error){ 0 });
	}
	inst->pid = -1;
	close_fdp(&inst->pidfd);
	close_fdp(&inst->master);
	inst->pidfd = inst->master = -1;
	hooks_stop(inst);
}

int run_start(const struct run_config *c, const struct run_io *io, const sigset_t *mask, int cgroup_fd,
	      struct run_instance *inst, struct error *err)
{
	__attribute__((cleanup(close_channels))) struct channels ch = { -1, -1, -1, -1 };
	pid_t first;
	int r;

	*inst = (struct run_instance){ .pid = -1, .pidfd = -1, .master = -1 };
	if (open_channels(&ch, err) < 0)
		return -1;
	first = fork_into(cgroup_fd);
	if (first < 0 && cgroup_fd >= 0)
		return error_set(err, errno, "cgroup", c->cgroup, "cannot start the container in cgroup %s", c->cgroup);
	if (first < 0)
		return error_set(err, errno, "fork", "", "cannot start the container's process");
	if (first == 0) {
		close(ch.sync);
		close(ch.status_rd);
		first_child(c, io, ch.sync_child, ch.status_wr, mask);
	}
	close_fdp(&ch.sync_child);
	close_fdp(&ch.status_wr);
	ch.sync_child = ch.status_wr = -1;
	r = start(c, first, &ch, mask, inst, err);
	wait_for(first, "the container's first process", &(struct error){ 0 });
	if (r < 0) {
		close_fdp(&ch.sync); /* B, waiting for `g`, gives up */
		ch.sync = -1;
		run_instance_end(inst);
		return -1;
	}
	return 0;
}

static int run_foreground(const struct run_config *c, struct error *err)
{
	cleanup_fd int cgroup_fd = -1;
	struct run_instance inst;
	sigset_t held, previous;
	int r;

	if (c->cgroup) {
		cgroup_fd = open(c->cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cgroup_fd < 0)
			return error_set(err, errno, "cgroup", c->cgroup, "cannot open cgroup %s", c->cgroup);
	}
	if (hold_signals(&held, &previous, err) < 0)
		return -1;
	if (run_start(c, &(struct run_io){ -1, -1, -1 }, &previous, cgroup_fd, &inst, err) < 0)
		return -1;
	r = supervise(inst.pid, &held, &previous, err);
	inst.pid = -1; /* reaped */
	run_instance_end(&inst);
	return r;
}

int run_main(struct error *err)
{
	static char text[CONFIG_MAX];
	static struct run_config c;

	c.no_new_privs = c.share_net = c.detach = c.tty = c.stdin_open = c.init = -1;
	c.attach_fd = c.ready_fd = -1;
	if (config_read(MSG_FD, text, sizeof text, run_set, &c, err) < 0 || check_config(&c, err) < 0)
		return -1;
	/* kept open by main() until the configuration named the one to keep */
	if (close_inherited_fds(c.attach_fd, err) < 0)
		return -1;
	if (c.detach == 1)
		return monitor_detach(&c, err);
	return run_foreground(&c, err);
}
