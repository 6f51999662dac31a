/* Mapping the ids of a new user namespace, for `probe` and `userns-exec`.
 *
 * Only a process outside a user namespace can write its id maps, so the parent writes
 * them (with newuidmap/newgidmap, or the single-id map) while the child that unshared
 * waits on a socket pair; then the child becomes root in the namespace, which makes the
 * files it creates the caller's. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "helper.h"

#define MAP_MAX 4096 /* of a map's text; the event carries no more anyway */

/* What the parent tells the child once the ids are mapped. */
enum { MAPPED_NEWUIDMAP = 'n', MAPPED_DIRECT = 'd', MAPPED_SINGLE = 's', NOT_MAPPED = '-' };

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

int idmap_set(struct idmap_config *c, const char *key, char *value, struct error *err)
{
	if (strcmp(key, "uidmap") == 0)
		return add_extent(&c->uid, key, value, err);
	if (strcmp(key, "gidmap") == 0)
		return add_extent(&c->gid, key, value, err);
	if (strcmp(key, "newuidmap") == 0)
		return config_once(&c->newuidmap, key, value, err);
	if (strcmp(key, "newgidmap") == 0)
		return config_once(&c->newgidmap, key, value, err);
	return 1;
}

int idmap_check(const struct idmap_config *c, struct error *err)
{
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

/* Root (in the initial user namespace) may write any map itself: the configured lines
 * as they are, e.g. `0 0 4294967295` for a container of root that sees the host's ids. */
static int write_configured_map(pid_t pid, const struct idmap_config *c, struct error *err)
{
	const struct idmap *maps[2] = { &c->uid, &c->gid };
	const char *names[2] = { "uid_map", "gid_map" };
	char path[32], text[MAP_MAX];

	for (int m = 0; m < 2; m++) {
		size_t len = 0;

		for (size_t i = 0; i < maps[m]->n; i++) {
			int n = snprintf(text + len, sizeof text - len, "%s%c", maps[m]->fields[i], i % 3 == 2 ? '\n' : ' ');

			if (n < 0 || (size_t)n >= sizeof text - len)
				return error_set(err, 0, "config", "", "the %s is too long", names[m]);
			len += (size_t)n;
		}
		snprintf(path, sizeof path, "/proc/%d/%s", pid, names[m]);
		if (write_file(path, 0, text, err) < 0)
			return -1;
	}
	return 0;
}

/* A uid_map can be written only once: if newgidmap fails after newuidmap worked, the
 * single-id map is out of reach too. Without userns there is nothing to map. */
int idmap_write(const struct idmap_config *c, bool userns, pid_t pid, char *mapped, struct error *err)
{
	struct tool_result res;

	*mapped = userns ? MAPPED_SINGLE : NOT_MAPPED;
	if (!userns)
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
	if (geteuid() == 0 && c->uid.n > 0 && c->gid.n > 0) {
		*mapped = MAPPED_DIRECT;
		return write_configured_map(pid, c, err);
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
	     mapped == MAPPED_NEWUIDMAP ? "newuidmap" : mapped == MAPPED_DIRECT ? "direct" : "single", uid_map, gid_map);
	return 0;
}

/* Called by the child after unshare(). Returns -1 with err->reported set when the parent
 * failed (it closes the socket pair) and reports why itself. */
int idmap_enter(int sync, struct error *err)
{
	char mapped;

	if (send(sync, "r", 1, MSG_NOSIGNAL) != 1)
		return error_set(err, errno, "send", "", "cannot signal the parent process");
	if (read(sync, &mapped, 1) != 1) {
		err->reported = true;
		return -1;
	}
	return mapped == NOT_MAPPED ? 0 : become_root(mapped, err);
}
