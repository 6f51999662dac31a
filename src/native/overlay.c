/* The mount probes of `probe`: kernel overlayfs and fuse-overlayfs, each on its own set
 * of scratch directories. They run in the probe's mount namespace with workdir as the
 * current directory, so the paths are relative to it (and reported so). */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "helper.h"

struct overlay_set {
	const char *dir, *lower, *upper, *work, *merged, *work_work;
	const char *lower_a, *lower_b, *merged_a, *merged_b, *options;
};

#define OVERLAY_SET(d)                                                                        \
	{ d, d "/lower", d "/upper", d "/work", d "/merged", d "/work/work",                  \
	  d "/lower/a", d "/lower/b", d "/merged/a", d "/merged/b",                           \
	  "lowerdir=" d "/lower,upperdir=" d "/upper,workdir=" d "/work" }

static const struct overlay_set kernel_set = OVERLAY_SET("ovl-kernel");
static const struct overlay_set fuse_set = OVERLAY_SET("ovl-fuse");

static int make_overlay_dirs(const struct overlay_set *s, struct error *err)
{
	const char *dirs[] = { s->dir, s->lower, s->upper, s->work, s->merged };

	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		if (make_dir(dirs[i], err) < 0)
			return -1;
	if (write_file(s->lower_a, O_CREAT | O_EXCL, "a\n", err) < 0)
		return -1;
	return write_file(s->lower_b, O_CREAT | O_EXCL, "b\n", err);
}

static void report_failure(const char *name, const struct error *failure)
{
	emit("event", "name:s ok:b errno:i errname:s message:s", name, false, failure->errno_,
	     errname(failure->errno_), failure->message);
}

static bool whiteout_works(const struct overlay_set *s)
{
	struct stat st;

	return unlink(s->merged_b) == 0 && lstat(s->merged_b, &st) < 0 && errno == ENOENT &&
	       lstat(s->lower_b, &st) == 0;
}

static int unmount(const char *path, struct error *err)
{
	if (umount2(path, MNT_DETACH) < 0)
		return error_set(err, errno, "umount2", path, "cannot unmount %s", path);
	return 0;
}

/* In a user namespace, userxattr makes overlay keep its metadata in user.* xattrs, which
 * an unprivileged mounter may write; real root uses the default trusted.* ones. */
int probe_kernel_overlay(bool userns, struct error *err)
{
	const struct overlay_set *s = &kernel_set;
	const char *extra = userns ? "userxattr" : "";
	char data[256], content[8];
	struct error failure;

	if (make_overlay_dirs(s, err) < 0)
		return -1;
	snprintf(data, sizeof data, "%s%s%s", s->options, userns ? "," : "", extra);
	if (mount("overlay", s->merged, "overlay", 0, data) < 0) {
		error_set(&failure, errno, "mount", s->merged, "cannot mount overlay with %s", data);
		report_failure("overlay", &failure);
		return 0;
	}
	if (read_file(s->merged_a, content, sizeof content, &failure) < 0)
		report_failure("overlay", &failure);
	else
		emit("event", "name:s ok:b options:s whiteout:b", "overlay", true, extra, whiteout_works(s));
	if (unmount(s->merged, err) < 0)
		return -1;
	/* overlay leaves work/work with mode 0, which would keep the caller from deleting it */
	if (chmod(s->work_work, 0700) < 0 && errno != ENOENT)
		return error_set(err, errno, "chmod", s->work_work, "cannot make %s deletable", s->work_work);
	return 0;
}

static bool is_fuse_mount(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == FUSE_SUPER_MAGIC;
}

/* fuse-overlayfs returns once it has mounted and gone to the background; the daemon
 * exits when the mount is gone. */
int probe_fuse_overlayfs(const char *tool, struct error *err)
{
	const struct overlay_set *s = &fuse_set;
	char *argv[] = { (char *)tool, "-o", (char *)s->options, (char *)s->merged, NULL };
	struct tool_result res;
	struct error failure;
	char content[8];

	if (make_overlay_dirs(s, err) < 0 || run_tool(argv, &res, err) < 0)
		return -1;
	if (res.status != 0 || !is_fuse_mount(s->merged)) {
		if (res.stderr_[0] == '\0' || res.status == 0)
			snprintf(res.stderr_, sizeof res.stderr_, "%s exited with status %d%s", tool,
				 res.status, res.status == 0 ? ", but mounted no FUSE file system" : "");
		emit("event", "name:s ok:b status:i message:s", "fuse-overlayfs", false, res.status,
		     res.stderr_);
		return 0;
	}
	if (read_file(s->merged_a, content, sizeof content, &failure) < 0)
		report_failure("fuse-overlayfs", &failure);
	else
		emit("event", "name:s ok:b", "fuse-overlayfs", true);
	return unmount(s->merged, err);
}
