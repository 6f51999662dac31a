/* `probe`: tries, in a new user and mount namespace, what rootless containers need.
 *
 * The helper forks a child that unshares the namespaces; the parent maps its ids
 * (idmap.c), then the child becomes root in the namespace, which makes the files it
 * creates the caller's, and runs the mount probes in overlay.c. */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>

#include "helper.h"

struct probe_config {
	int userns; /* -1 until given */
	struct idmap_config ids;
	const char *workdir, *fuse_overlayfs;
};

static int probe_set(void *cfg, const char *key, char *value, struct error *err)
{
	struct probe_config *c = cfg;
	int r = idmap_set(&c->ids, key, value, err);

	if (r <= 0)
		return r;
	if (strcmp(key, "userns") == 0)
		return config_flag(&c->userns, key, value, err);
	if (strcmp(key, "workdir") == 0)
		return config_once(&c->workdir, key, value, err);
	if (strcmp(key, "fuse-overlayfs") == 0)
		return config_once(&c->fuse_overlayfs, key, value, err);
	return error_set(err, 0, "config", "", "unknown key %s", key);
}

static int check_config(const struct probe_config *c, struct error *err)
{
	if (c->userns == -1 || !c->workdir)
		return error_set(err, 0, "config", "", "userns and workdir are required");
	return idmap_check(&c->ids, err);
}

/* ---- the child ---- */

/* Returns -1 with err->reported set when the parent failed and reports why. */
static int probe_child(const struct probe_config *c, int sync, struct error *err)
{
	if (unshare(CLONE_NEWNS | (c->userns ? CLONE_NEWUSER : 0)) < 0)
		return error_set(err, errno, "unshare", "", "cannot create a %s namespace",
				 c->userns ? "user and mount" : "mount");
	if (idmap_enter(sync, err) < 0)
		return -1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return error_set(err, errno, "mount", "/", "cannot make the mounts in the new namespace private");
	if (chdir(c->workdir) < 0)
		return error_set(err, errno, "chdir", c->workdir, "cannot enter workdir %s", c->workdir);
	if (probe_kernel_overlay(c->userns, err) < 0)
		return -1;
	return c->fuse_overlayfs ? probe_fuse_overlayfs(c->fuse_overlayfs, err) : 0;
}

/* ---- the parent ---- */

/* The child exits 1 after sending its error record; any other failure is a crash. */
static int reap_child(pid_t pid, struct error *err)
{
	int status = wait_for(pid, "the probe process", err);

	err->reported = status == 1;
	if (status > 128)
		return error_set(err, 0, "probe", "", "the probe process was killed by signal %d",
				 status - 128);
	if (status > 1)
		return error_set(err, 0, "probe", "", "the probe process exited with status %d", status);
	return status == 0 ? 0 : -1;
}

static int run_probe(const struct probe_config *c, struct error *err)
{
	cleanup_fd int parent_end = -1, child_end = -1;
	struct error child_err = { 0 };
	char byte, mapped;
	int fds[2], r = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		return error_set(err, errno, "socketpair", "", "cannot create a socket pair");
	parent_end = fds[0];
	child_end = fds[1];
	pid = fork();
	if (pid < 0)
		return error_set(err, errno, "fork", "", "cannot start the probe process");
	if (pid == 0) {
		close(parent_end); /* so the child sees end of file if the parent fails */
		if (probe_child(c, child_end, &child_err) < 0) {
			report_error(&child_err);
			_exit(1);
		}
		_exit(0);
	}
	close_fdp(&child_end);
	child_end = -1;
	if (read(parent_end, &byte, 1) == 1) { /* else the child failed to unshare */
		r = idmap_write(&c->ids, c->userns, pid, &mapped, err);
		if (r == 0 && send(parent_end, &mapped, 1, MSG_NOSIGNAL) != 1)
			r = error_set(err, errno, "send", "", "cannot signal the probe process");
	}
	close_fdp(&parent_end);
	parent_end = -1;
	if (reap_child(pid, &child_err) < 0 && r == 0) {
		*err = child_err;
		return -1;
	}
	return r;
}

int probe_main(struct error *err)
{
	static char text[CONFIG_MAX];
	static struct probe_config c; /* in .bss: not stored in the binary */

	c.userns = -1;
	if (config_read(MSG_FD, text, sizeof text, probe_set, &c, err) < 0 || check_config(&c, err) < 0)
		return -1;
	return run_probe(&c, err);
}
