/* `run`: the privileges of the container's process — ids, capabilities, rlimits and the
 * seccomp filter, from their configuration lines to the system calls of process B. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "run.h"

static const char *const cap_names[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "CPU", RLIMIT_CPU }, { "FSIZE", RLIMIT_FSIZE }, { "DATA", RLIMIT_DATA },
	{ "STACK", RLIMIT_STACK }, { "CORE", RLIMIT_CORE }, { "RSS", RLIMIT_RSS },
	{ "NPROC", RLIMIT_NPROC }, { "NOFILE", RLIMIT_NOFILE }, { "MEMLOCK", RLIMIT_MEMLOCK },
	{ "AS", RLIMIT_AS }, { "LOCKS", RLIMIT_LOCKS }, { "SIGPENDING", RLIMIT_SIGPENDING },
	{ "MSGQUEUE", RLIMIT_MSGQUEUE }, { "NICE", RLIMIT_NICE }, { "RTPRIO", RLIMIT_RTPRIO },
	{ "RTTIME", RLIMIT_RTTIME },
};

static int parse_id(const char *key, const char *value, unsigned long long max, unsigned long long *out,
		    struct error *err)
{
	char *end;

	errno = 0;
	*out = strtoull(value, &end, 10);
	if (!*value || *end || errno || *out > max || value[0] == '-')
		return error_set(err, 0, "config", "", "%s: bad number %s", key, value);
	return 0;
}

static int parse_limit(const char *key, const char *value, rlim_t *out, struct error *err)
{
	unsigned long long v;

	if (strcmp(value, "unlimited") == 0 || strcmp(value, "18446744073709551615") == 0) {
		*out = RLIM_INFINITY;
		return 0;
	}
	if (parse_id(key, value, ~0ULL, &v, err) < 0)
		return -1;
	*out = (rlim_t)v;
	return 0;
}

int run_add_cap(struct run_config *c, const char *value, struct error *err)
{
	const char *name = strncmp(value, "CAP_", 4) == 0 ? value + 4 : value;

	for (size_t i = 0; i < sizeof cap_names / sizeof cap_names[0]; i++)
		if (strcmp(cap_names[i], name) == 0) {
			c->caps |= 1ULL << i;
			return 0;
		}
	return error_set(err, 0, "config", "", "unknown capability %s", value);
}

int run_add_rlimit(struct run_config *c, char *value, struct error *err)
{
	char *save, *name = strtok_r(value, " ", &save), *soft = strtok_r(NULL, " ", &save),
		    *hard = strtok_r(NULL, " ", &save);
	struct run_rlimit *r = &c->rlimits[c->nrlimits];

	if (!hard || strtok_r(NULL, " ", &save))
		return error_set(err, 0, "config", "", "rlimit must be NAME SOFT HARD");
	if (c->nrlimits == RLIMITS_MAX)
		return error_set(err, 0, "config", "", "too many rlimit lines");
	if (strncmp(name, "RLIMIT_", 7) == 0)
		name += 7;
	r->resource = -1;
	for (size_t i = 0; i < sizeof rlimit_names / sizeof rlimit_names[0]; i++)
		if (strcmp(rlimit_names[i].name, name) == 0)
			r->resource = rlimit_names[i].resource;
	if (r->resource < 0)
		return error_set(err, 0, "config", "", "unknown rlimit %s", name);
	if (parse_limit("rlimit", soft, &r->value.rlim_cur, err) < 0 ||
	    parse_limit("rlimit", hard, &r->value.rlim_max, err) < 0)
		return -1;
	if (r->value.rlim_cur > r->value.rlim_max)
		return error_set(err, 0, "config", "", "rlimit %s: soft above hard", name);
	c->nrlimits++;
	return 0;
}

int run_check_ids(struct run_config *c, struct error *err)
{
	unsigned long long v;

	if (c->uid_s) {
		if (parse_id("uid", c->uid_s, 0xfffffffeU, &v, err) < 0)
			return -1;
		c->uid = (uid_t)v;
	}
	if (c->gid_s) {
		if (parse_id("gid", c->gid_s, 0xfffffffeU, &v, err) < 0)
			return -1;
		c->gid = (gid_t)v;
	}
	if (c->groups_s && *c->groups_s) {
		char buf[1024], *save, *g;

		snprintf(buf, sizeof buf, "%s", c->groups_s);
		for (g = strtok_r(buf, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
			if (c->ngroups == GROUPS_MAX)
				return error_set(err, 0, "config", "", "more than %d groups", GROUPS_MAX);
			if (parse_id("groups", g, 0xfffffffeU, &v, err) < 0)
				return -1;
			c->groups[c->ngroups++] = (gid_t)v;
		}
	}
	return 0;
}

int run_load_seccomp(struct run_config *c, struct error *err)
{
	static unsigned char raw[SECCOMP_MAX * 8 + 1];
	ssize_t n;
	int fd = open(c->seccomp, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return error_set(err, errno, "open", c->seccomp, "cannot open the seccomp filter");
	n = read(fd, raw, sizeof raw);
	close(fd);
	if (n < 0)
		return error_set(err, errno, "read", c->seccomp, "cannot read the seccomp filter");
	if (n == 0 || n % 8 || (size_t)n > SECCOMP_MAX * 8)
		return error_set(err, 0, "config", c->seccomp, "the seccomp filter must be 1 to %d instructions of 8 bytes",
				 SECCOMP_MAX);
	c->nfilter = (size_t)n / 8;
	for (size_t i = 0; i < c->nfilter; i++) {
		const unsigned char *p = raw + i * 8;
		c->filter[i] = (struct sock_filter){
			.code = (unsigned short)(p[0] | p[1] << 8),
			.jt = p[2],
			.jf = p[3],
			.k = (unsigned)p[4] | (unsigned)p[5] << 8 | (unsigned)p[6] << 16 | (unsigned)p[7] << 24,
		};
	}
	return 0;
}

/* ---- process B ---- */

int run_set_rlimits(const struct run_config *c, struct error *err)
{
	for (size_t i = 0; i < c->nrlimits; i++)
		if (setrlimit(c->rlimits[i].resource, &c->rlimits[i].value) < 0)
			return error_set(err, errno, "setrlimit", "", "cannot set rlimit %d", c->rlimits[i].resource);
	return 0;
}

int run_set_credentials(const struct run_config *c, struct error *err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };
	char text[16];
	int last = 40;

	if (read_file("/proc/sys/kernel/cap_last_cap", text, sizeof text, &(struct error){ 0 }) >= 0)
		last = atoi(text);
	for (int i = 0; i <= last; i++)
		if (!(c->caps & (1ULL << i)) && prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL)
			return error_set(err, errno, "prctl", "", "cannot drop capability %d from the bounding set", i);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return error_set(err, errno, "prctl", "", "cannot keep capabilities");
	if (setgroups(c->ngroups, c->groups) < 0 && !(errno == EPERM && c->ngroups == 0))
		return error_set(err, errno, "setgroups", "", "cannot set the supplementary groups");
	if (setresgid(c->gid, c->gid, c->gid) < 0)
		return error_set(err, errno, "setresgid", "", "cannot become gid %u", c->gid);
	if (setresuid(c->uid, c->uid, c->uid) < 0)
		return error_set(err, errno, "setresuid", "", "cannot become uid %u", c->uid);
	data[0].effective = data[0].permitted = (unsigned)c->caps;
	data[1].effective = data[1].permitted = (unsigned)(c->caps >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return error_set(err, errno, "capset", "", "cannot set the capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return error_set(err, errno, "prctl", "", "cannot clear the ambient capabilities");
	return 0;
}

int run_install_seccomp(const struct run_config *c, struct error *err)
{
	struct sock_fprog prog = { .len = (unsigned short)c->nfilter, .filter = (struct sock_filter *)c->filter };

	if (c->nfilter && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return error_set(err, errno, "seccomp", c->seccomp, "cannot install the seccomp filter");
	return 0;
}
