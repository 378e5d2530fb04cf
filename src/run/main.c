/*
 * src/run/main.c - uinotify-run [OPTIONS] [--] COMMAND [ARGS...]
 *
 * Runs COMMAND (and every process it starts) with its inotify system calls
 * served by uinotify, whatever its libc or linkage: Go programs, musl and
 * static binaries.  See uinotify-run(1) and docs/run.md.
 *
 * Exit status: COMMAND's own (COMMAND replaces this process).  125 when
 * uinotify-run itself fails (bad option, no seccomp), 126 when COMMAND
 * cannot be executed, 127 when it is not found, as env(1) and timeout(1).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uinotify/inotify.h>
#include <uinotify/version.h>

#include "instance/config.h"
#include "run/launch.h"
#include "run/run.h"

#define EXIT_OURS 125

#define STR_(x) #x
#define STR(x) STR_(x)
#define VERSION                                                                \
	STR(UINOTIFY_VERSION_MAJOR)                                            \
	"." STR(UINOTIFY_VERSION_MINOR) "." STR(UINOTIFY_VERSION_PATCH)

static const char usage_text[] =
	"Usage: uinotify-run [OPTIONS] [--] COMMAND [ARGS...]\n"
	"Run COMMAND with its inotify calls served by uinotify, whatever its\n"
	"libc or linkage (Go, musl, static binaries), and every process it "
	"starts.\n"
	"\n"
	"  -s, --source=KIND        auto (default), kernel, scan or none\n"
	"  -i, --interval=MS        the scanner's interval (10..60000)\n"
	"  -r, --recover            rescan after lost events (IN_Q_OVERFLOW)\n"
	"      --max-user-instances=N, --max-user-watches=N,\n"
	"      --max-queued-events=N  limits for the whole tree\n"
	"      --fds=LOW[:COUNT]    descriptor numbers for instances (default:\n"
	"                           the top 128 below 1024 or RLIMIT_NOFILE)\n"
	"  -v, --verbose            say which calls were served (also\n"
	"                           UINOTIFY_DEBUG=1)\n"
	"  -h, --help               this text\n"
	"  -V, --version            the version\n"
	"\n"
	"The UINOTIFY_* variables of the library apply (uinotify(7)).\n"
	"Exit status: COMMAND's; 125 if uinotify-run fails, 126 if COMMAND\n"
	"cannot run, 127 if it is not found.\n";

static _Noreturn void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "uinotify-run: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'uinotify-run --help' for more information.\n");
	exit(EXIT_OURS);
}

/* An option's value by the library's rules (instance/config.h), else a
 * usage error. */
static long option(enum uin_env var, const char *opt, const char *arg)
{
	long v;
	if (!uin_cfg_option(uin_env_def(var), opt, "uinotify-run", arg, &v)) {
		fprintf(stderr,
			"Try 'uinotify-run --help' for more information.\n");
		exit(EXIT_OURS);
	}
	return v;
}

/* Settings applied in the supervisor, before it serves. */
static struct {
	int source;     /* -1: the library's default */
	int interval;   /* 0: the library's default */
	bool recover;
	int limits[3];  /* -1: default */
} want = {-1, 0, false, {-1, -1, -1}};

static int setup(char *why, size_t why_len)
{
	int ret = want.source >= 0 ? uinotify_set_default_source(
					     (enum uinotify_source)want.source)
				   : 0;
	if (ret < 0) {
		snprintf(why, why_len, "cannot use that source: %s",
			 strerror(-ret));
		return ret;
	}
	if (want.interval > 0)
		uinotify_set_scan_interval(want.interval);
	if (want.recover)
		setenv("UINOTIFY_RECOVER", "1", 1);
	for (int i = 0; i < 3; i++)
		if (want.limits[i] >= 0)
			uinotify_set_limit((enum uinotify_limit)i, want.limits[i]);
	return 0;
}

/* The trapped range: a power-of-two count at a multiple of itself, so
 * that the filter checks it with one mask, under 1024 (select()) and
 * under RLIMIT_NOFILE. */
static void default_fds(void)
{
	struct rlimit rl;
	long top = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)top)
		top = (long)rl.rlim_cur;
	long count = 128;
	while (count > 1 && count > top / 4)
		count /= 2;
	run_cfg.fd_count = (int)count;
	run_cfg.fd_lo = (int)((top - count) / count * count);
}

static void parse_fds(const char *s)
{
	static const struct uin_cfg_def low = {"LOW", UIN_CFG_INT, 3, INT_MAX,
					       NULL, NULL, 0, NULL};
	static const struct uin_cfg_def cnt = {"COUNT", UIN_CFG_INT, 1, 4096,
					       NULL, NULL, 0, NULL};
	char buf[64];
	long lo, count = 128;
	snprintf(buf, sizeof buf, "%s", s);
	char *colon = strchr(buf, ':');
	if (colon)
		*colon = 0;
	if (strlen(s) >= sizeof buf || uin_cfg_parse(&low, buf, &lo) ||
	    (colon && uin_cfg_parse(&cnt, colon + 1, &count)) ||
	    (count & (count - 1)) || lo % count || lo > INT_MAX - count)
		usage_error("invalid --fds '%s' (LOW[:COUNT], COUNT a power of "
			    "two up to 4096, LOW >= 3 a multiple of COUNT)",
			    s);
	run_cfg.fd_lo = (int)lo;
	run_cfg.fd_count = (int)count;
}

/* The settings as text for the re-executed supervisor, and back. */
static char settings[256];

static void write_settings(void)
{
	snprintf(settings, sizeof settings, "%d %d %d %d %d %d %d %d %d",
		 run_cfg.verbose, run_cfg.fd_lo, run_cfg.fd_count, want.source,
		 want.interval, want.recover, want.limits[0], want.limits[1],
		 want.limits[2]);
}

static bool read_settings(const char *s)
{
	int v, rec;
	if (!s || sscanf(s, "%d %d %d %d %d %d %d %d %d", &v, &run_cfg.fd_lo,
			 &run_cfg.fd_count, &want.source, &want.interval, &rec,
			 &want.limits[0], &want.limits[1],
			 &want.limits[2]) != 9)
		return false;
	run_cfg.verbose = v;
	want.recover = rec;
	return true;
}

int main(int argc, char **argv)
{
	static struct run_launch_opts lo = {.setup = setup, .settings = settings};
	/* The supervisor, re-executed by launch.c: uinotify-run --supervise
	 * SOCK PID, its settings in UINOTIFY_RUN_SUPERVISOR. */
	if (argc == 4 && !strcmp(argv[1], "--supervise")) {
		if (!read_settings(getenv("UINOTIFY_RUN_SUPERVISOR")))
			return EXIT_OURS;
		unsetenv("UINOTIFY_RUN_SUPERVISOR");
		uin_env_quiet();
		run_supervise(atoi(argv[2]), (pid_t)atoi(argv[3]), &lo);
	}
	enum { OPT_MAXI = 256, OPT_MAXW, OPT_MAXQ, OPT_FDS };
	static const struct option opts[] = {
		{"source", required_argument, NULL, 's'},
		{"interval", required_argument, NULL, 'i'},
		{"recover", no_argument, NULL, 'r'},
		{"max-user-instances", required_argument, NULL, OPT_MAXI},
		{"max-user-watches", required_argument, NULL, OPT_MAXW},
		{"max-queued-events", required_argument, NULL, OPT_MAXQ},
		{"fds", required_argument, NULL, OPT_FDS},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	run_cfg.verbose = uin_env(UIN_ENV_DEBUG) != 0;
	default_fds();
	int c;
	/* "+": options end at COMMAND, whose own options are its. */
	while ((c = getopt_long(argc, argv, "+s:i:rvhV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			want.source = (int)option(UIN_ENV_SOURCE, "--source",
						  optarg);
			break;
		case 'i':
			want.interval = (int)option(UIN_ENV_SCAN_INTERVAL_MS,
						    "--interval", optarg);
			break;
		case 'r':
			want.recover = true;
			break;
		case OPT_MAXI:
		case OPT_MAXW:
		case OPT_MAXQ:
			want.limits[c - OPT_MAXI] = (int)option(
				(enum uin_env)(UIN_ENV_MAX_USER_INSTANCES + c -
					       OPT_MAXI),
				c == OPT_MAXI	? "--max-user-instances"
				: c == OPT_MAXW ? "--max-user-watches"
						: "--max-queued-events",
				optarg);
			break;
		case OPT_FDS:
			parse_fds(optarg);
			break;
		case 'v':
			run_cfg.verbose = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("uinotify-run %s\n", VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'uinotify-run --help' for more "
					"information.\n");
			return EXIT_OURS;
		}
	}
	if (optind >= argc)
		usage_error("%s", "no COMMAND given");
	char **command = argv + optind;
	if (run_supervised()) {
		/* Nested (or the tree is served already): the outer
		 * supervisor answers every call; one is enough. */
		if (run_cfg.verbose)
			fprintf(stderr, "uinotify-run: already served; running "
					"%s directly\n",
				command[0]);
		execvp(command[0], command);
		int err = errno;
		fprintf(stderr, "uinotify-run: %s: %s\n", command[0],
			strerror(err));
		return err == ENOENT ? 127 : 126;
	}
	/* Every UINOTIFY_* variable checked here, once (but those an option
	 * overrides): the supervisor, whose library reads them, reports none
	 * again (read_settings). */
	if (want.source >= 0)
		uin_env_given(UIN_ENV_SOURCE, want.source);
	if (want.interval > 0)
		uin_env_given(UIN_ENV_SCAN_INTERVAL_MS, want.interval);
	if (want.recover)
		uin_env_given(UIN_ENV_RECOVER, 1);
	for (int i = 0; i < 3; i++)
		if (want.limits[i] >= 0)
			uin_env_given((enum uin_env)(UIN_ENV_MAX_USER_INSTANCES +
						     i),
				      want.limits[i]);
	uin_env_check_all();
	write_settings();
	run_launch(command, &lo);
}
