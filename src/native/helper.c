/* tsc-helper: what the multi-threaded Node engine cannot do itself (namespaces, id
 * maps, mounts). Usage and wire format: docs/helper-protocol.md. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "helper.h"

static const struct mode {
	const char *name;
	int (*run)(struct error *err);
	bool closes_fds; /* closes the inherited descriptors itself, once configured */
} modes[] = {
	{ "probe", probe_main, false },
	{ "userns-exec", userns_exec_main, false },
	{ "fsops", fsops_main, false },
	{ "run", run_main, true },
	{ "exec", exec_main, false },
};

static const struct mode *find_mode(const char *name)
{
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (strcmp(modes[i].name, name) == 0)
			return &modes[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct mode *mode = argc == 2 ? find_mode(argv[1]) : NULL;
	struct error err = { 0 };

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("tsc-helper %s %d\n", TSC_HELPER_VERSION, TSC_PROTOCOL_VERSION);
		return 0;
	}
	if (!mode) {
		fprintf(stderr, "usage: tsc-helper probe|userns-exec|fsops|run (with the message socket on fd 3)\n"
				"       tsc-helper --version\n");
		return 2;
	}
	if (seal_self(argv, &err) < 0 || (!mode->closes_fds && close_inherited_fds(-1, &err) < 0))
		goto fail;
	/* no program the helper starts may hold the engine's socket open */
	if (fcntl(MSG_FD, F_SETFD, FD_CLOEXEC) < 0) {
		error_set(&err, errno, "fcntl", "", "file descriptor 3 is not open");
		goto fail;
	}
	if (mode->run(&err) < 0)
		goto fail;
	emit("done", "");
	return 0;
fail:
	report_error(&err);
	return 1;
}
