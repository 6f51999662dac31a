/* `probe`: tries, in a new user and mount namespace, what rootless containers need.
 *
 * The helper forks a child that unshares the namespaces. Only a process outside a user
 * namespace can write its id maps, so the parent writes them (with newuidmap/newgidmap,
 * or the single-id map) while the child waits on a socket pair; then the child becomes
 * root in the namespace, which makes the files it creates the caller's, and runs the
 * mount probes in overlay.c. */
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>

#include "helper.h"

#define MAX_EXTENTS 340 /* the kernel's limit of lines in uid_map */
#define MAP_MAX 4096 /* of a map's text; the event carries no more anyway */

/* What the parent tells the child once the ids are mapped. */
enum { MAPPED_NEWUIDMAP = 'n', MAPPED_SINGLE = 's', NOT_MAPPED = '-' };

struct idmap {
	char *fields[MAX_EXTENTS * 3]; /* CONTAINER-ID HOST-ID COUNT..., as newuidmap takes them */
	size_t n;
};

struct probe_config {
	int userns; /* -1 until given */
	struct idmap uid, gid;
	const char *newuidmap, *newgidmap, *workdir, *fuse_overlayfs;
};

static int set_once(const char **slot, const char *key, const char *value, struct error *err)
{
	if (*slot)
		return error_set(err, 0, "config", "", "%s is given twice", key);
	*slot = value;
	return 0;
}

static int add_extent(struct idmap *map, const char *key, char *value, struct error *err)
{
	char *save, *field = strtok_r(value, " ", &save);
	size_t count = 0;

	if (map->n == MAX_EXTENTS * 3)
		return error_set(err, 0, "config", "", "more than %d %s lines", MAX_EXTENTS, key);
	for (; field && count < 3 && field[strspn(field, "0123456789")] == '\0'; count++) {
		map->fields[map->n + count] = field;
		field = strtok_r(NULL, " ", &save);
	}
	if (count != 3 || field)
		return error_set(err, 0, "config", "", "%s must be CONTAINER-ID HOST-ID COUNT", key);
	map->n += 3;
	return 0;
}

static int probe_set(void *cfg, const char *key, char *value, struct error *err)
{
	struct probe_config *c = cfg;

	if (strcmp(key, "userns") == 0) {
		if (c->userns != -1 || (strcmp(value, "0") != 0 && strcmp(value, "1") != 0))
			return error_set(err, 0, "config", "", "userns must be given once, as 0 or 1");
		c->userns = value[0] == '1';
		return 0;
	}
	if (strcmp(key, "uidmap") == 0)
		return add_extent(&c->uid, key, value, err);
	if (strcmp(key, "gidmap") == 0)
		return add_extent(&c->gid, key, value, err);
	if (strcmp(key, "newuidmap") == 0)
		return set_once(&c->newuidmap, key, value, err);
	if (strcmp(key, "newgidmap") == 0)
		return set_once(&c->newgidmap, key, value, err);
	if (strcmp(key, "workdir") == 0)
		return set_once(&c->workdir, key, value, err);
	if (strcmp(key, "fuse-overlayfs") == 0)
		return set_once(&c->fuse_overlayfs, key, value, err);
	return error_set(err, 0, "config", "", "unknown key %s", key);
}

static int check_config(const struct probe_config *c, struct error *err)
{
	if (c->userns == -1 || !c->workdir)
		return error_set(err, 0, "config", "", "userns and workdir are required");
	if (!c->newuidmap != !c->newgidmap)
		return error_set(err, 0, "config", "", "newuidmap and newgidmap go together");
	if (c->newuidmap && (c->uid.n == 0 || c->gid.n == 0))
		return error_set(err, 0, "config", "", "newuidmap needs uidmap and gidmap lines");
	return 0;
}

/* ---- the parent: mapping the child's ids ---- */

static int run_idmap_tool(const char *tool, pid_t pid, const struct idmap *map,
			  struct tool_result *res, struct error *err)
{
	char *argv[2 + MAX_EXTENTS * 3 + 1] = { (char *)tool };
	char pidstr[16];

	snprintf(pidstr, sizeof pidstr, "%d", pid);
	argv[1] = pidstr;
	memcpy(argv + 2, map->fields, map->n * sizeof map->fields[0]);
	return run_tool(argv, res, err);
}

/* Maps container id 0 to the caller's own uid and gid, which needs no privilege. */
static int write_single_map(pid_t pid, struct error *err)
{
	char files[3][32], maps[3][32] = { "deny" };

	snprintf(files[0], sizeof files[0], "/proc/%d/setgroups", pid);
	snprintf(files[1], sizeof files[1], "/proc/%d/uid_map", pid);
	snprintf(maps[1], sizeof maps[1], "0 %u 1", getuid());
	snprintf(files[2], sizeof files[2], "/proc/%d/gid_map", pid);
	snprintf(maps[2], sizeof maps[2], "0 %u 1", getgid());
	for (int i = 0; i < 3; i++)
		if (write_file(files[i], 0, maps[i], err) < 0)
			return -1;
	return 0;
}

/* A uid_map can be written only once: if newgidmap fails after newuidmap worked, the
 * single-id map is out of reach too. */
static int map_ids(const struct probe_config *c, pid_t pid, char *mapped, struct error *err)
{
	struct tool_result res;

	*mapped = c->userns ? MAPPED_SINGLE : NOT_MAPPED;
	if (!c->userns)
		return 0;
	if (c->newuidmap) {
		if (run_idmap_tool(c->newuidmap, pid, &c->uid, &res, err) < 0)
			return -1;
		if (res.status != 0) {
			emit("event", "name:s tool:s status:i stderr:s", "idmap-fallback", "newuidmap",
			     res.status, res.stderr_);
			return write_single_map(pid, err);
		}
		if (run_idmap_tool(c->newgidmap, pid, &c->gid, &res, err) < 0)
			return -1;
		if (res.status != 0)
			return error_set(err, 0, "newgidmap", c->newgidmap,
					 "newgidmap failed with status %d after newuidmap succeeded: %s",
					 res.status, res.stderr_);
		*mapped = MAPPED_NEWUIDMAP;
		return 0;
	}
	return write_single_map(pid, err);
}

/* ---- the child ---- */

/* Reads a map as `INSIDE OUTSIDE COUNT` lines joined with \n; the kernel aligns columns.
 * out has room for MAP_MAX bytes. */
static int read_map(const char *path, char *out, struct error *err)
{
	char raw[MAP_MAX], *in = raw;
	size_t fields = 0, n;

	if (read_file(path, raw, sizeof raw, err) < 0)
		return -1;
	for (in += strspn(in, " \t\n"); (n = strcspn(in, " \t\n")) > 0; in += strspn(in, " \t\n")) {
		if (fields++)
			*out++ = fields % 3 == 1 ? '\n' : ' ';
		memcpy(out, in, n);
		out += n;
		in += n;
	}
	*out = '\0';
	return 0;
}

/* EPERM from setgroups means /proc/PID/setgroups says deny: so with the single-id map,
 * and newgidmap writes it too when the gid map holds only the caller's own gid. */
static int become_root(char mapped, struct error *err)
{
	char uid_map[MAP_MAX], gid_map[MAP_MAX];

	if (setgroups(0, NULL) < 0 && errno != EPERM)
		return error_set(err, errno, "setgroups", "", "cannot drop supplementary groups");
	if (setresgid(0, 0, 0) < 0)
		return error_set(err, errno, "setresgid", "", "cannot become gid 0 in the user namespace");
	if (setresuid(0, 0, 0) < 0)
		return error_set(err, errno, "setresuid", "", "cannot become uid 0 in the user namespace");
	if (read_map("/proc/self/uid_map", uid_map, err) < 0 ||
	    read_map("/proc/self/gid_map", gid_map, err) < 0)
		return -1;
	emit("event", "name:s method:s uid_map:s gid_map:s", "idmap",
	     mapped == MAPPED_NEWUIDMAP ? "newuidmap" : "single", uid_map, gid_map);
	return 0;
}

/* Returns -1 with err->reported set when the parent failed and reports why. */
static int probe_child(const struct probe_config *c, int sync, struct error *err)
{
	char mapped;

	if (unshare(CLONE_NEWNS | (c->userns ? CLONE_NEWUSER : 0)) < 0)
		return error_set(err, errno, "unshare", "", "cannot create a %s namespace",
				 c->userns ? "user and mount" : "mount");
	if (send(sync, "r", 1, MSG_NOSIGNAL) != 1)
		return error_set(err, errno, "send", "", "cannot signal the parent process");
	if (read(sync, &mapped, 1) != 1) {
		err->reported = true;
		return -1;
	}
	if (mapped != NOT_MAPPED && become_root(mapped, err) < 0)
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
		r = map_ids(c, pid, &mapped, err);
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
	static char text[65536];
	static struct probe_config c = { .userns = -1 };

	if (config_read(MSG_FD, text, sizeof text, probe_set, &c, err) < 0 || check_config(&c, err) < 0)
		return -1;
	return run_probe(&c, err);
}
