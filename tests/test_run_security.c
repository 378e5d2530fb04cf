/*
 * tests/test_run_security.c - uinotify-run gives no process more rights
 * than it had: COMMAND runs with no_new_privs (the filter needs it), so a
 * setuid program in the tree runs without its privileges; the supervisor
 * is the user who started it; and a path is looked up with the caller's
 * credentials, so a program that dropped to another user gets the EACCES
 * the kernel gives it, even from a supervisor running as root.
 */
#include <pwd.h>

#include "test_run.h"

#ifndef UIN_PRELOAD_FAULTS
#define UIN_PRELOAD_FAULTS "inotify_faults-not-built"
#endif

static void require_root(void)
{
	if (geteuid() != 0)
		SKIP("needs root (to make a setuid file and drop to nobody)");
	if (access("/usr/bin/setpriv", X_OK) != 0)
		SKIP("setpriv (util-linux) is not installed");
}

TEST(command_runs_with_no_new_privs)
{
	run_require();
	static struct pl_child c;
	char *argv[] = {(char *)"/bin/grep", (char *)"^NoNewPrivs",
			(char *)"/proc/self/status", NULL};
	CHECK_EQ(run_program(false, NULL, argv, NULL, &c, 10000), 0);
	CHECK_STR(c.obuf, "NoNewPrivs:\t0\n");
	CHECK_EQ(run_program(true, NULL, argv, NULL, &c, 10000), 0);
	CHECK_STR(c.obuf, "NoNewPrivs:\t1\n");
}

/* The tmpdir and its parents searchable by nobody. */
static void open_up_tmpdir(void)
{
	char p[4096];
	snprintf(p, sizeof p, "%s", uin_test_tmpdir());
	for (char *s = p + strlen(p); s > p + 1; s = strrchr(p, '/')) {
		chmod(p, 0755);
		*s = 0;
		if (!strcmp(p, "/tmp"))
			break;
	}
}

TEST(setuid_program_runs_without_privileges)
{
	run_require();
	require_root();
	open_up_tmpdir();
	/* A setuid-root copy of id(1), run as nobody. */
	const char *id = uin_test_path("id");
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "cp /usr/bin/id %s && chmod 4755 %s", id, id);
	CHECK_EQ(system(cmd), 0);
	static struct pl_child plain, ours;
	char *argv[] = {(char *)"/usr/bin/setpriv", (char *)"--reuid=65534",
			(char *)"--regid=65534", (char *)"--clear-groups",
			(char *)"--", (char *)id, (char *)"-u", NULL};
	CHECK_EQ(run_program(false, NULL, argv, NULL, &plain, 10000), 0);
	if (strcmp(plain.obuf, "0\n"))
		SKIP("this filesystem ignores setuid bits (nosuid?)");
	CHECK_EQ(run_program(true, NULL, argv, NULL, &ours, 10000), 0);
	CHECK_STR(ours.obuf, "65534\n");
}

TEST(paths_are_checked_with_the_callers_credentials)
{
	run_require();
	require_root();
	open_up_tmpdir();
	/* root-only 0700 with a subdirectory; search-only 0711 with a
	 * readable subdirectory; a file nobody may not read. */
	const char *names[] = {"w", "w/closed", "w/closed/inner", "w/search",
			       "w/search/inner"};
	mode_t modes[] = {0755, 0700, 0755, 0711, 0755};
	for (int i = 0; i < 5; i++) {
		CHECK_OK(mkdir(uin_test_path(names[i]), 0755));
		CHECK_OK(chmod(uin_test_path(names[i]), modes[i]));
	}
	int f = open(uin_test_path("w/secret"), O_CREAT | O_WRONLY, 0600);
	CHECK(f >= 0);
	close(f);
	static struct pl_child kernel, ours;
	char *argv[] = {(char *)"/usr/bin/setpriv",
			(char *)"--reuid=65534",
			(char *)"--regid=65534",
			(char *)"--clear-groups",
			(char *)"--",
			(char *)UIN_PRELOAD_FAULTS,
			(char *)uin_test_path("w"),
			(char *)"access",
			(char *)"closed,closed/inner,search,search/inner,secret,.",
			NULL};
	CHECK_EQ(run_program(false, NULL, argv, NULL, &kernel, 10000), 0);
	/* The kernel's answers, as nobody: */
	CHECK(strstr(kernel.obuf, "add_watch closed = -1 EACCES") != NULL);
	CHECK(strstr(kernel.obuf, "add_watch search/inner = 1") != NULL);
	CHECK_EQ(run_program(true, NULL, argv, NULL, &ours, 10000), 0);
	CHECK_STR(ours.obuf, kernel.obuf);
}
