/* `run` with `fuse-overlayfs PATH`: the container's root file system is a fuse-overlayfs
 * mount instead of a kernel overlay.
 *
 * The daemon works with the host's root directory and the storage's layer directories, so
 * it must stay out of the container's reach. It is therefore the helper's (the monitor's)
 * own child D, never a descendant of A or B: D joins only the user and mount namespaces of
 * B with one setns(pidfd) (which B shares with A), and stays in the helper's pid namespace
 * and cgroup. The container's /proc shows only its own pid namespace, so nothing in it can
 * name, signal or trace the daemon; its directory and descriptors are not visible there
 * either.
 *
 * D runs `fuse-overlayfs -f` (foreground, so its pid stays known). Before B is told to go,
 * the helper waits until the mount shows in B's mount namespace (statfs through
 * /proc/B/root, still the host's root then), at most 30 s, or until D exits (an error
 * carrying its output). B then finds its root already mounted and builds the rest on it.
 * The daemon is one of the instance's background processes (struct hook_proc): SIGTERM
 * when the container ends, SIGKILL if it is still there a second later, and SIGTERM as its
 * parent-death signal should the helper die first. Since it is itself in the container's
 * mount namespace, that namespace (and the mount) would otherwise live as long as it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>

#include "run.h"

#define FUSE_TIMEOUT_MS 30000

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In D: joins B's user and mount namespaces and becomes the daemon; never returns. */
static void __attribute__((noreturn)) exec_daemon(const struct run_config *c, int pidfd, int out, const sigset_t *mask)
{
	char options[3 * 1024 + 64];
	char *argv[] = { (char *)c->fuse_overlayfs, "-f", "-o", options, (char *)c->rootfs, NULL };
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	snprintf(options, sizeof options, "lowerdir=%s,upperdir=%s,workdir=%s", c->lowerdir, c->upperdir, c->workdir);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) {
		dprintf(2, "cannot set the parent-death signal: %s", strerror(errno));
		_exit(127);
	}
	if (setns(pidfd, CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		dprintf(2, "cannot join the container's user and mount namespaces: %s", strerror(errno));
		_exit(127);
	}
	/* rootfs becomes a shared mount, and D gets a mount namespace of its own in which it
	 * is a peer of the container's: the mount the daemon makes there shows in both */
	if (mount(c->rootfs, c->rootfs, NULL, MS_BIND, NULL) < 0 || mount(NULL, c->rootfs, NULL, MS_SHARED, NULL) < 0) {
		dprintf(2, "cannot make %s a shared mount: %s", c->rootfs, strerror(errno));
		_exit(127);
	}
	if (unshare(CLONE_NEWNS) < 0) {
		dprintf(2, "cannot create the daemon's mount namespace: %s", strerror(errno));
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, mask, NULL);
	execv(argv[0], argv);
	dprintf(2, "cannot execute %s: %s", argv[0], strerror(errno));
	_exit(127);
}

static void read_output(int fd, char *text, size_t *len)
{
	char discard[512];
	ssize_t n;

	while ((n = read(fd, *len < TOOL_STDERR_MAX ? text + *len : discard,
			 *len < TOOL_STDERR_MAX ? TOOL_STDERR_MAX - *len : sizeof discard)) > 0)
		if (*len < TOOL_STDERR_MAX)
			*len += (size_t)n;
	text[*len] = '\0';
}

/* Is rootfs, as B's mount namespace shows it, a FUSE mount? */
static bool mounted(pid_t pid, const char *rootfs)
{
	char path[4200];
	struct statfs st;

	snprintf(path, sizeof path, "/proc/%d/root%s", (int)pid, rootfs);
	return statfs(path, &st) == 0 && st.f_type == FUSE_SUPER_MAGIC;
}

int fuse_mount_rootfs(const struct run_config *c, const sigset_t *mask, struct run_instance *inst, struct error *err)
{
	int out_rd, out_wr;
	char text[TOOL_STDERR_MAX + 1] = "";
	long long deadline = now_ms() + FUSE_TIMEOUT_MS;
	size_t len = 0;
	int fds[2], status;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return error_set(err, errno, "pipe2", "", "cannot create a pipe for %s", c->fuse_overlayfs);
	out_rd = fds[0];
	out_wr = fds[1];
	pid = fcntl(out_rd, F_SETFL, O_NONBLOCK) < 0 ? -1 : fork();
	if (pid == 0)
		exec_daemon(c, inst->pidfd, out_wr, mask);
	close(out_wr);
	if (pid < 0) {
		close(out_rd);
		return error_set(err, errno, "fork", c->fuse_overlayfs, "cannot start %s", c->fuse_overlayfs);
	}
	/* from here on the instance owns it and its output (drained by the monitor, as a
	 * hook's: a closed pipe would kill it with SIGPIPE): run_instance_end stops it */
	inst->bg[inst->nbg++] = (struct hook_proc){ .pid = pid, .out = out_rd, .kill = true };
	while (!mounted(inst->pid, c->rootfs)) {
		read_output(out_rd, text, &len);
		if (waitpid(pid, &status, WNOHANG) == pid) {
			inst->bg[inst->nbg - 1].pid = -1;
			poll(&(struct pollfd){ .fd = out_rd, .events = POLLIN }, 1, 100);
			read_output(out_rd, text, &len);
			status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			return error_set(err, 0, "fuse-overlayfs", c->fuse_overlayfs,
					 "%s exited with status %d before it mounted %s: %s", c->fuse_overlayfs, status,
					 c->rootfs, text);
		}
		if (now_ms() > deadline)
			return error_set(err, 0, "fuse-overlayfs", c->fuse_overlayfs, "%s did not mount %s within %d s: %s",
					 c->fuse_overlayfs, c->rootfs, FUSE_TIMEOUT_MS / 1000, text);
		poll(&(struct pollfd){ .fd = out_rd, .events = POLLIN }, 1, 5);
	}
	return 0;
}
