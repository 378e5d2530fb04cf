/*
 * uinotifywait - wait for filesystem events, as inotifywait(1) does.
 *
 * Options, output bytes, exit codes and stderr lines are those of
 * inotify-tools' inotifywait 3.22; what is new (sources, synthetic events,
 * readiness, pruning excludes, globs, overflow handling, sub-second times)
 * is only visible when asked for, or where inotifywait is silently wrong.
 * See tools/man/uinotifywait.1.
 */
#include "tw.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uinotify/version.h>
#define STR_(x) #x
#define STR(x) STR_(x)
#define VERSION_STRING                                                         \
	"uinotifywait " STR(UINOTIFY_VERSION_MAJOR) "." STR(UINOTIFY_VERSION_MINOR) "."  \
	STR(UINOTIFY_VERSION_PATCH) " (inotifywait 3.22 compatible)"

struct opts {
	int events;
	bool monitor;
	int quiet;
	long timeout;
	bool recursive;
	bool csv;
	bool daemon;
	bool syslog;
	bool no_dereference;
	bool no_newline;
	char *format;     /* with the newline inotifywait appends */
	const char *timefmt;
	const char *fromfile;
	const char *outfile;
	int source;       /* -1: the library's default */
	long interval_ms;
	bool recover;
	int ready_fd;
	const char *ready_file;
	bool mark_synthetic;
	struct tw_filter filter;
};

static struct opts o;
static struct tw_regexes regexes;
static uint32_t orig_events;
static int exit_code = -1;
static struct timespec deadline;

static void print_help(void)
{
	printf("%s\n", VERSION_STRING);
	printf("Wait for a particular event on a file or set of files.\n");
	printf("Usage: %s [ options ] file1 [ file2 ] [ file3 ] [ ... ]\n",
	       tw_prog);
	printf("Options:\n"
	       "\t-h|--help     \tShow this help text.\n"
	       "\t@<file>       \tExclude the specified file from being watched.\n"
	       "\t--exclude <pattern>\n"
	       "\t              \tExclude all events on files matching the\n"
	       "\t              \textended regular expression <pattern>.\n"
	       "\t              \tMay be repeated; a directory matching it\n"
	       "\t              \t(with a trailing '/') gets no watch.\n"
	       "\t--excludei <pattern>\n"
	       "\t              \tLike --exclude but case insensitive.\n"
	       "\t--exclude-glob <glob>\n"
	       "\t              \tExclude names (or, with a '/', paths)\n"
	       "\t              \tmatching the shell glob; may be repeated.\n"
	       "\t--include <pattern>\n"
	       "\t              \tExclude all events on files except the ones\n"
	       "\t              \tmatching the extended regular expression\n"
	       "\t              \t<pattern>.\n"
	       "\t--includei <pattern>\n"
	       "\t              \tLike --include but case insensitive.\n"
	       "\t-m|--monitor  \tKeep listening for events forever or until "
	       "--timeout expires.\n"
	       "\t              \tWithout this option, %s will exit after one "
	       "event is received.\n"
	       "\t-d|--daemon   \tSame as --monitor, except run in the background\n"
	       "\t              \tlogging events to a file specified by --outfile.\n"
	       "\t              \tImplies --syslog.\n"
	       "\t-P|--no-dereference\n"
	       "\t              \tDo not follow symlinks.\n"
	       "\t-r|--recursive\tWatch directories recursively.\n"
	       "\t--fromfile <file>\n"
	       "\t              \tRead files to watch from <file> or `-' for stdin.\n"
	       "\t-o|--outfile <file>\n"
	       "\t              \tPrint events to <file> rather than stdout.\n"
	       "\t-s|--syslog   \tSend errors to syslog rather than stderr.\n"
	       "\t-q|--quiet    \tPrint less (only print events).\n"
	       "\t-qq           \tPrint nothing (not even events).\n"
	       "\t--format <fmt>\tPrint using a specified printf-like format\n"
	       "\t              \tstring; read the man page for more details.\n"
	       "\t--no-newline  \tDon't print newline symbol after\n"
	       "\t              \t--format string.\n"
	       "\t--timefmt <fmt>\tstrftime-compatible format string for use with\n"
	       "\t              \t%%T in --format string; %%N, %%3N, %%6N give\n"
	       "\t              \tfractions of a second.\n"
	       "\t-c|--csv      \tPrint events in CSV format.\n"
	       "\t-t|--timeout <seconds>\n"
	       "\t              \tWhen listening for a single event, time out after\n"
	       "\t              \twaiting for an event for <seconds> seconds.\n"
	       "\t              \tIf <seconds> is zero, %s will never time out.\n"
	       "\t-e|--event <event1> [ -e|--event <event2> ... ]\n"
	       "\t\tListen for specific event(s).  If omitted, all events are \n"
	       "\t\tlistened for.\n"
	       "\t--source <kernel|scan|auto>\n"
	       "\t              \tWhere events come from (default: auto).\n"
	       "\t--interval <ms>\tScan interval of the scan source.\n"
	       "\t--recover     \tAfter a queue overflow, rescan and report\n"
	       "\t              \twhat changed (as SYNTHETIC events).\n"
	       "\t--ready-fd <n>\tWrite \"ready\\n\" to fd <n> once watching.\n"
	       "\t--ready-file <file>\n"
	       "\t              \tCreate <file> once watching.\n"
	       "\t--mark-synthetic\n"
	       "\t              \tAdd SYNTHETIC to the events of directory\n"
	       "\t              \tlistings and rescans (also: %%S in --format).\n\n",
	       tw_prog, tw_prog);
	printf("Exit status:\n");
	printf("\t0  -  An event you asked to watch for was received.\n");
	printf("\t1  -  An event you did not ask to watch for was received\n");
	printf("\t      (usually delete_self or unmount), or some error occurred.\n");
	printf("\t2  -  The --timeout option was given and no events occurred\n");
	printf("\t      in the specified interval of time.\n\n");
	printf("Events:\n");
	tw_print_event_descriptions(stdout);
}

enum {
	OPT_FORMAT = 256, OPT_TIMEFMT, OPT_FROMFILE, OPT_EXCLUDE, OPT_EXCLUDEI,
	OPT_INCLUDE, OPT_INCLUDEI, OPT_NO_NEWLINE, OPT_SOURCE, OPT_INTERVAL,
	OPT_RECOVER, OPT_READY_FD, OPT_READY_FILE, OPT_EXCLUDE_GLOB,
	OPT_MARK_SYNTHETIC,
};

static bool parse_opts(int *argc, char ***argv)
{
	static const struct option longs[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "event", required_argument, NULL, 'e' },
		{ "monitor", no_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "timeout", required_argument, NULL, 't' },
		{ "filename", no_argument, NULL, 'f' },
		{ "recursive", no_argument, NULL, 'r' },
		{ "csv", no_argument, NULL, 'c' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "syslog", no_argument, NULL, 's' },
		{ "no-dereference", no_argument, NULL, 'P' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "no-newline", no_argument, NULL, OPT_NO_NEWLINE },
		{ "timefmt", required_argument, NULL, OPT_TIMEFMT },
		{ "fromfile", required_argument, NULL, OPT_FROMFILE },
		{ "outfile", required_argument, NULL, 'o' },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "excludei", required_argument, NULL, OPT_EXCLUDEI },
		{ "include", required_argument, NULL, OPT_INCLUDE },
		{ "includei", required_argument, NULL, OPT_INCLUDEI },
		{ "inotify", no_argument, NULL, 'I' },
		{ "fanotify", no_argument, NULL, 'F' },
		{ "filesystem", no_argument, NULL, 'S' },
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "recover", no_argument, NULL, OPT_RECOVER },
		{ "ready-fd", required_argument, NULL, OPT_READY_FD },
		{ "ready-file", required_argument, NULL, OPT_READY_FILE },
		{ "exclude-glob", required_argument, NULL, OPT_EXCLUDE_GLOB },
		{ "mark-synthetic", no_argument, NULL, OPT_MARK_SYNTHETIC },
		{ NULL, 0, NULL, 0 },
	};
	const char *user_format = NULL;
	int c, ev;

	o.source = -1;
	o.ready_fd = -1;
	while ((c = getopt_long(*argc, *argv, "mrhcdsPqt:fo:e:IFS", longs,
				NULL)) != -1) {
		switch (c) {
		case 'h':
			print_help();
			return false;
		case 'm':
			o.monitor = true;
			break;
		case 'q':
			o.quiet++;
			break;
		case 'r':
			o.recursive = true;
			break;
		case 'c':
			o.csv = true;
			break;
		case 'd':
			o.daemon = o.monitor = o.syslog = true;
			break;
		case 's':
			o.syslog = true;
			break;
		case 'P':
			o.no_dereference = true;
			break;
		case 'I':
			break;
		case 'F':
		case 'S':
			fprintf(stderr, "%s: fanotify (-F, -S) is not supported: "
					"uinotify provides inotify semantics.\n",
				tw_prog);
			return false;
		case 'f':
			fprintf(stderr, "The '--filename' option no longer exists.  "
					"The option it enabled in earlier\nversions of "
					"inotifywait is now turned on by default.\n");
			return false;
		case OPT_FORMAT:
			user_format = optarg;
			break;
		case OPT_NO_NEWLINE:
			o.no_newline = true;
			break;
		case OPT_TIMEFMT:
			o.timefmt = optarg;
			break;
		case OPT_EXCLUDE:
		case OPT_EXCLUDEI:
		case OPT_INCLUDE:
		case OPT_INCLUDEI:
			tw_regexes_add(&regexes, optarg,
				       c == OPT_EXCLUDEI || c == OPT_INCLUDEI,
				       c == OPT_INCLUDE || c == OPT_INCLUDEI);
			break;
		case OPT_EXCLUDE_GLOB:
			if (tw_filter_add_glob(&o.filter, optarg))
				return false;
			break;
		case OPT_FROMFILE:
			if (o.fromfile) {
				fprintf(stderr, "Multiple --fromfile options given.\n");
				return false;
			}
			o.fromfile = optarg;
			break;
		case 'o':
			if (o.outfile) {
				fprintf(stderr, "Multiple --outfile options given.\n");
				return false;
			}
			o.outfile = optarg;
			break;
		case 't':
			if (!tw_parse_timeout(optarg, &o.timeout))
				return false;
			break;
		case 'e':
			ev = tw_str_to_events(optarg, ',');
			if (ev == -1) {
				fprintf(stderr, "'%s' is not a valid event!  Run with "
						"the '--help' option to see a list of "
						"events.\n", optarg);
				return false;
			}
			o.events |= ev;
			break;
		case OPT_SOURCE:
			if (!tw_opt_source(optarg, &o.source))
				return false;
			break;
		case OPT_INTERVAL:
			if (!tw_opt_interval(optarg, &o.interval_ms))
				return false;
			break;
		case OPT_RECOVER:
			o.recover = true;
			break;
		case OPT_READY_FD: {
			long fd;

			if (!tw_opt_number("--ready-fd", optarg, 0, INT_MAX,
					   &fd))
				return false;
			if (fcntl((int)fd, F_GETFD) < 0) {
				fprintf(stderr, "%s: --ready-fd %s: not an open file "
						"descriptor.\n", tw_prog, optarg);
				return false;
			}
			o.ready_fd = (int)fd;
			break;
		}
		case OPT_READY_FILE:
			o.ready_file = optarg;
			break;
		case OPT_MARK_SYNTHETIC:
			o.mark_synthetic = true;
			break;
		default: /* getopt printed why */
			return false;
		}
	}

	if (regexes.has_include && regexes.has_exclude) {
		fprintf(stderr, "include and exclude regexp cannot both be "
				"specified.\n");
		return false;
	}
	if (user_format && o.csv) {
		fprintf(stderr, "-c and --format cannot both be specified.\n");
		return false;
	}
	if (!user_format && o.timefmt) {
		fprintf(stderr, "--timefmt cannot be specified without --format.\n");
		return false;
	}
	if (user_format && strstr(user_format, "%T") && !o.timefmt) {
		fprintf(stderr, "%%T is in --format string, but --timefmt was not "
				"specified.\n");
		return false;
	}
	if (!user_format && o.no_newline) {
		fprintf(stderr, "--no-newline cannot be specified without "
				"--format.\n");
		return false;
	}
	if (o.daemon && !o.outfile) {
		fprintf(stderr, "-o must be specified with -d.\n");
		return false;
	}
	if (o.interval_ms && o.source == UINOTIFY_SOURCE_KERNEL)
		fprintf(stderr, "%s: --interval has no effect with --source "
				"kernel.\n", tw_prog);
	if (user_format) {
		size_t len = strlen(user_format);

		if (!(o.format = malloc(len + 2)))
			return false;
		memcpy(o.format, user_format, len);
		if (!o.no_newline)
			o.format[len++] = '\n';
		o.format[len] = 0;
	}
	*argc -= optind;
	*argv += optind;
	return true;
}

/* Output --------------------------------------------------------------------- */

struct out {
	char *buf;
	size_t len;
};

static void out_put(struct out *s, const char *p, size_t n)
{
	if (s->len >= TW_MAX_STRLEN - 1)
		return;
	if (n > TW_MAX_STRLEN - 1 - s->len)
		n = TW_MAX_STRLEN - 1 - s->len;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

/*
 * inotifytools_snprintf.  The result is empty (an error for the format
 * check) when nothing at all was produced; *bad reports a trailing '%'.
 */
static size_t format_event(const char *fmt, const struct tw_event *ev,
			   char *buf, bool *bad)
{
	struct out s = { buf, 0 };
	size_t flen = strlen(fmt);
	const char *wpath = ev->w ? ev->w->path : "";
	char tmp[TW_MAX_STRLEN];
	size_t n;

	*bad = false;
	for (size_t i = 0; i < flen && s.len < TW_MAX_STRLEN - 1; ++i) {
		char ch;

		if (fmt[i] != '%') {
			out_put(&s, &fmt[i], 1);
			continue;
		}
		if (i == flen - 1) {
			*bad = true;
			break;
		}
		ch = fmt[i + 1];
		switch (ch) {
		case '%':
			out_put(&s, "%", 1);
			break;
		case '0':
			out_put(&s, "", 1);
			break;
		case 'n':
			out_put(&s, "\n", 1);
			break;
		case 'w':
			out_put(&s, wpath, strlen(wpath));
			break;
		case 'f':
			out_put(&s, ev->name, strlen(ev->name));
			break;
		case 'c':
			n = (size_t)snprintf(tmp, sizeof tmp, "%x", ev->cookie);
			out_put(&s, tmp, n);
			break;
		case 'e':
			n = tw_events_to_str(ev->mask, ',',
					     ev->synthetic && o.mark_synthetic,
					     tmp, sizeof tmp);
			out_put(&s, tmp, n);
			break;
		case 'T':
			if (o.timefmt) {
				n = tw_strftime_ns(tmp, sizeof tmp, o.timefmt,
						   ev->when);
				out_put(&s, tmp, n);
			}
			break;
		case 'S':
			if (ev->synthetic)
				out_put(&s, TW_SYNTHETIC_NAME,
					strlen(TW_SYNTHETIC_NAME));
			break;
		default:
			if (i < flen - 2 && fmt[i + 2] == 'e') {
				n = tw_events_to_str(ev->mask, ch,
						     ev->synthetic &&
							     o.mark_synthetic,
						     tmp, sizeof tmp);
				out_put(&s, tmp, n);
				i++;
			} else {
				out_put(&s, "%", 1);
				out_put(&s, &ch, 1);
			}
			break;
		}
		++i;
	}
	return s.len;
}

static void validate_format(void)
{
	struct timespec now;
	struct tw_event fake = {
		.wd = 0, .mask = IN_ALL_EVENTS, .cookie = 0, .name = "",
		.when = &now,
	};
	char buf[TW_MAX_STRLEN];
	bool bad;

	clock_gettime(CLOCK_REALTIME, &now);
	if (!format_event(o.format, &fake, buf, &bad) && !bad) {
		fprintf(stderr, "Something is wrong with your format string.\n");
		exit(EXIT_FAILURE);
	}
}

static void print_event(const struct tw_event *ev)
{
	char line[TW_MAX_STRLEN * 3 + 8];
	size_t len = 0;

	if (o.csv) {
		char a[TW_MAX_STRLEN * 2 + 3], ev_str[1024];
		const char *wpath = ev->w ? ev->w->path : "";

		tw_events_to_str(ev->mask, ',', ev->synthetic && o.mark_synthetic,
				 ev_str, sizeof ev_str);
		if (*wpath)
			len += (size_t)snprintf(line + len, sizeof line - len,
						"%s,", tw_csv_escape(wpath, a,
								     sizeof a));
		len += (size_t)snprintf(line + len, sizeof line - len, "%s,",
					tw_csv_escape(ev_str, a, sizeof a));
		if (*ev->name)
			len += (size_t)snprintf(line + len, sizeof line - len,
						"%s", tw_csv_escape(ev->name, a,
								    sizeof a));
		line[len++] = '\n';
	} else {
		bool bad;

		len = format_event(o.format ? o.format : "%w %,e %f\n", ev, line,
				   &bad);
	}
	if (len) {
		fwrite(line, 1, len, stdout);
		fflush(stdout);
	}
}

/* Events --------------------------------------------------------------------- */

static void arm_timer(void)
{
	if (!tw_timeout_expires(o.timeout))
		return;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += o.timeout;
}

static void on_event(struct tw_ctx *ctx, const struct tw_event *ev)
{
	/* Events only the tool asked for (the -r bookkeeping, the delimiter
	 * of its own listings) are none of the user's business. */
	if (!(ev->mask & (orig_events | IN_IGNORED | IN_Q_OVERFLOW | IN_UNMOUNT)))
		return;
	arm_timer();
	if (ev->filtered != TW_PASS)
		return;
	if (ev->mask & IN_Q_OVERFLOW)
		tw_error("%s: the event queue overflowed: events were lost%s\n",
			 tw_prog,
			 o.recover ? "; rescanning the watched directories"
				   : " (--recover rescans after an overflow)");
	if (o.quiet < 2 && (ev->mask & (orig_events | IN_Q_OVERFLOW)))
		print_event(ev);
	if (!o.monitor) {
		exit_code = (orig_events & ev->mask) ? EXIT_SUCCESS : EXIT_FAILURE;
		ctx->stop = true;
	}
}

static int remaining_ms(void)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline.tv_sec - now.tv_sec) * 1000LL +
	     (deadline.tv_nsec - now.tv_nsec) / 1000000;
	if (ms < 0)
		return 0;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static void signal_ready(void)
{
	if (o.ready_file) {
		int fd = open(o.ready_file,
			      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0 || write(fd, "ready\n", 6) != 6)
			tw_error("%s: cannot write %s: %s\n", tw_prog,
				 o.ready_file, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	/* Last, so that a reader of the fd also finds the file. */
	if (o.ready_fd >= 0) {
		ssize_t w = write(o.ready_fd, "ready\n", 6);

		(void)w;
		close(o.ready_fd);
	}
}

static int redirect_output(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);

	if (fd < 0) {
		fprintf(stderr, "Failed to open output file %s\n", path);
		return -1;
	}
	if (fd != STDOUT_FILENO) {
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	return 0;
}

static int daemonize(void)
{
	char logfile[PATH_MAX + 1];
	int fd;

	if (!realpath(o.outfile, logfile)) {
		fprintf(stderr, "%s: %s\n", strerror(errno), o.outfile);
		return -1;
	}
	if (daemon(0, 0)) {
		fprintf(stderr, "Failed to daemonize!\n");
		return -1;
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0 && fd != STDIN_FILENO) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	if (redirect_output(logfile))
		return -1;
	fd = open("/dev/null", O_WRONLY);
	if (fd >= 0 && fd != STDERR_FILENO) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	return 0;
}

static struct tw_ctx ctx = { .fd = -1 };
static struct tw_paths paths;

/* Every exit releases everything (sanitizers check it). */
static void cleanup(void)
{
	fflush(stdout);
	if (ctx.fd >= 0)
		tw_close(ctx.fd);
	ctx.fd = -1;
	tw_ctx_free(&ctx);
	tw_paths_free(&paths);
	o.filter.at = NULL;
	o.filter.nat = 0;
	tw_filter_free(&o.filter);
	free(o.format);
	o.format = NULL;
}

int main(int argc, char **argv)
{
	int err;

	tw_prog = "uinotifywait";
	atexit(cleanup);
	if (!parse_opts(&argc, &argv))
		return EXIT_FAILURE;
	if (o.interval_ms) /* in range: tw_opt_interval */
		uinotify_set_scan_interval((int)o.interval_ms);
	if (!tw_regexes_compile(&regexes, &o.filter))
		return EXIT_FAILURE;
	if (o.format)
		validate_format();

	if (!o.events)
		o.events = IN_ALL_EVENTS;
	orig_events = (uint32_t)o.events;
	ctx.mask = orig_events;
	ctx.recursive = o.recursive;
	ctx.maintain = o.monitor && o.recursive;
	if (ctx.maintain)
		ctx.mask |= IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE;
	if (o.recover) {
		ctx.recover = true;
		ctx.mask |= IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE;
	}
	if (o.no_dereference)
		ctx.mask |= IN_DONT_FOLLOW;
	ctx.source = o.source;
	ctx.filter = &o.filter;
	ctx.emit = on_event;

	if (tw_paths_build(&paths, argc, argv, o.fromfile)) {
		fprintf(stderr, "%s: out of memory\n", tw_prog);
		return EXIT_FAILURE;
	}
	if (!paths.nwatch) {
		fprintf(stderr, "No files specified to watch!\n");
		return EXIT_FAILURE;
	}
	o.filter.at = paths.exclude;
	o.filter.nat = paths.nexclude;
	if (tw_ctx_init(&ctx)) {
		fprintf(stderr, "%s: out of memory\n", tw_prog);
		return EXIT_FAILURE;
	}

	if (o.daemon) {
		if (daemonize())
			return EXIT_FAILURE;
	} else if (o.outfile && redirect_output(o.outfile)) {
		return EXIT_FAILURE;
	}
	/* After the fork of -d: the library's event loop is per process. */
	ctx.fd = tw_open_instance(o.source);
	if (ctx.fd < 0)
		return EXIT_FAILURE;
	tw_set_syslog(o.syslog, tw_prog);

	if (!o.quiet)
		tw_error(o.recursive ? "Setting up watches.  Beware: since -r was "
				       "given, this may take a while!\n"
				     : "Setting up watches.\n");
	for (size_t i = 0; i < paths.nwatch; i++) {
		err = tw_watch_path(&ctx, paths.watch[i]);
		if (err == -ENOSPC) {
			continue; /* reported; keep the watches we have */
		} else if (err) {
			tw_error("Couldn't watch %s: %s\n", paths.watch[i],
				 strerror(-err));
			return EXIT_FAILURE;
		}
	}
	if (!ctx.nwatches)
		return EXIT_FAILURE;
	tw_setup_done(&ctx);
	if (!o.quiet)
		tw_error("Watches established.\n");
	signal_ready();

	arm_timer();
	for (;;) {
		int ms = -1, r;

		if (tw_timeout_expires(o.timeout)) {
			ms = remaining_ms();
			if (!ms && ctx.buf_pos == ctx.buf_len) {
				exit_code = TW_EXIT_TIMEOUT;
				break;
			}
		}
		r = tw_pump(&ctx, ms);
		if (r < 0) {
			tw_error("%s\n", strerror(-r));
			exit_code = EXIT_FAILURE;
			break;
		}
		if (exit_code >= 0)
			break;
	}
	return exit_code;
}
