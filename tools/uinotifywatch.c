/*
 * uinotifywatch - count filesystem events per watched file or directory,
 * as inotifywatch(1) does: same options, table, messages and exit codes,
 * plus --source/--interval, --exclude-glob and -c/--csv.
 * See tools/man/uinotifywatch.1.
 */
#include "tw.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <uinotify/version.h>
#define STR_(x) #x
#define STR(x) STR_(x)
#define VERSION_STRING                                                         \
	"uinotifywatch " STR(UINOTIFY_VERSION_MAJOR) "." STR(UINOTIFY_VERSION_MINOR) "."  \
	STR(UINOTIFY_VERSION_PATCH) " (inotifywatch 3.22 compatible)"

static int events;
static long timeout;
static int verbose;
static int zero;
static int sort_key = -1;
static bool recursive;
static bool csv;
static int source = -1;
static long interval_ms;
static const char *fromfile;
static struct tw_filter filter;
static struct tw_regexes regexes;

static volatile sig_atomic_t done, print_now, established, interrupts;

/* The table's columns, in inotifywatch's order, with its widths. */
static const struct {
	uint32_t mask;
	const char *name;
	int width;
} columns[] = {
	{ IN_ACCESS, "access", 6 },
	{ IN_MODIFY, "modify", 6 },
	{ IN_ATTRIB, "attrib", 6 },
	{ IN_CLOSE_WRITE, "close_write", 11 },
	{ IN_CLOSE_NOWRITE, "close_nowrite", 13 },
	{ IN_OPEN, "open", 4 },
	{ IN_MOVED_FROM, "moved_from", 10 },
	{ IN_MOVED_TO, "moved_to", 8 },
	{ IN_MOVE_SELF, "move_self", 9 },
	{ IN_CREATE, "create", 6 },
	{ IN_DELETE, "delete", 6 },
	{ IN_DELETE_SELF, "delete_self", 11 },
	{ IN_UNMOUNT, "unmount", 7 },
};
#define NCOLUMNS (sizeof columns / sizeof columns[0])
static unsigned long totals[NCOLUMNS], grand_total;

static int bit_index(uint32_t mask)
{
	return __builtin_ctz(mask);
}

static void print_help(void)
{
	printf("%s\n", VERSION_STRING);
	printf("Gather filesystem usage statistics using %s.\n", tw_prog);
	printf("Usage: %s [ options ] file1 [ file2 ] [ ... ]\n", tw_prog);
	printf("Options:\n"
	       "\t-h|--help    \tShow this help text.\n"
	       "\t-v|--verbose \tBe verbose.\n"
	       "\t@<file>       \tExclude the specified file from being watched.\n"
	       "\t--fromfile <file>\n"
	       "\t\tRead files to watch from <file> or `-' for stdin.\n"
	       "\t--exclude <pattern>\n"
	       "\t\tExclude all events on files matching the extended regular\n"
	       "\t\texpression <pattern>.  May be repeated.\n"
	       "\t--excludei <pattern>\n"
	       "\t\tLike --exclude but case insensitive.\n"
	       "\t--exclude-glob <glob>\n"
	       "\t\tExclude names (or, with a '/', paths) matching the glob.\n"
	       "\t--include <pattern>\n"
	       "\t\tExclude all events on files except the ones\n"
	       "\t\tmatching the extended regular expression\n"
	       "\t\t<pattern>.\n"
	       "\t--includei <pattern>\n"
	       "\t\tLike --include but case insensitive.\n"
	       "\t-z|--zero\n"
	       "\t\tIn the final table of results, output rows and columns even\n"
	       "\t\tif they consist only of zeros (the default is to not output\n"
	       "\t\tthese rows and columns).\n"
	       "\t-r|--recursive\tWatch directories recursively.\n"
	       "\t-P|--no-dereference\n"
	       "\t\tDo not follow symlinks.\n"
	       "\t-t|--timeout <seconds>\n"
	       "\t\tListen only for specified amount of time in seconds; if\n"
	       "\t\tomitted or zero, %s will execute until receiving an\n"
	       "\t\tinterrupt signal.\n"
	       "\t-e|--event <event1> [ -e|--event <event2> ... ]\n"
	       "\t\tListen for specific event(s).  If omitted, all events are \n"
	       "\t\tlistened for.\n"
	       "\t-a|--ascending <event>\n"
	       "\t\tSort ascending by a particular event, or `total'.\n"
	       "\t-d|--descending <event>\n"
	       "\t\tSort descending by a particular event, or `total'.\n"
	       "\t-c|--csv\tPrint the table as CSV.\n"
	       "\t--source <kernel|scan|auto>\n"
	       "\t\tWhere events come from (default: auto).\n"
	       "\t--interval <ms>\n"
	       "\t\tScan interval of the scan source.\n\n",
	       tw_prog);
	printf("Exit status:\n");
	printf("\t0  -  Exited normally.\n");
	printf("\t1  -  Some error occurred.\n\n");
	printf("Events:\n");
	tw_print_event_descriptions(stdout);
}

enum {
	OPT_FROMFILE = 256, OPT_EXCLUDE, OPT_EXCLUDEI, OPT_INCLUDE,
	OPT_INCLUDEI, OPT_SOURCE, OPT_INTERVAL, OPT_EXCLUDE_GLOB,
};

static bool parse_sort(const char *arg, bool ascending, bool *sort_set)
{
	int ev;

	if (ascending && *sort_set) {
		fprintf(stderr, "Please specify -a or -d once only!\n");
		return false;
	}
	if (!strcasecmp(arg, "total")) {
		sort_key = ascending ? 0 : -1;
	} else if (ascending && !strcasecmp(arg, "move")) {
		fprintf(stderr, "Cannot sort by `move' event; please use "
				"`moved_from' or `moved_to'.\n");
		return false;
	} else if (ascending && !strcasecmp(arg, "close")) {
		fprintf(stderr, "Cannot sort by `close' event; please use "
				"`close_write' or `close_nowrite'.\n");
		return false;
	} else {
		ev = tw_str_to_events(arg, ',');
		if (ev == -1) {
			fprintf(stderr, "'%s' is not a valid key for sorting!\n",
				arg);
			return false;
		}
		/* As inotifywatch: "-d access" is -1, which means total. */
		sort_key = ascending ? ev : -ev;
	}
	/* Only -a counts as a sort option given (inotifywatch's rule). */
	if (ascending)
		*sort_set = true;
	return true;
}

static bool parse_opts(int *argc, char ***argv)
{
	static const struct option longs[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "event", required_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "zero", no_argument, NULL, 'z' },
		{ "ascending", required_argument, NULL, 'a' },
		{ "descending", required_argument, NULL, 'd' },
		{ "recursive", no_argument, NULL, 'r' },
		{ "no-dereference", no_argument, NULL, 'P' },
		{ "fromfile", required_argument, NULL, OPT_FROMFILE },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "excludei", required_argument, NULL, OPT_EXCLUDEI },
		{ "include", required_argument, NULL, OPT_INCLUDE },
		{ "includei", required_argument, NULL, OPT_INCLUDEI },
		{ "inotify", no_argument, NULL, 'I' },
		{ "fanotify", no_argument, NULL, 'F' },
		{ "filesystem", no_argument, NULL, 'S' },
		{ "csv", no_argument, NULL, 'c' },
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "exclude-glob", required_argument, NULL, OPT_EXCLUDE_GLOB },
		{ NULL, 0, NULL, 0 },
	};
	bool sort_set = false;
	int c, ev;

	while ((c = getopt_long(*argc, *argv, "hrPa:d:zve:t:IFSc", longs,
				NULL)) != -1) {
		switch (c) {
		case 'h':
			print_help();
			return false;
		case 'v':
			verbose++;
			break;
		case 'r':
			recursive = true;
			break;
		case 'z':
			zero++;
			break;
		case 'P':
			events |= IN_DONT_FOLLOW;
			break;
		case 'c':
			csv = true;
			break;
		case 'I':
			break;
		case 'F':
		case 'S':
			fprintf(stderr, "%s: fanotify (-F, -S) is not supported: "
					"uinotify provides inotify semantics.\n",
				tw_prog);
			return false;
		case OPT_EXCLUDE:
		case OPT_EXCLUDEI:
		case OPT_INCLUDE:
		case OPT_INCLUDEI:
			tw_regexes_add(&regexes, optarg,
				       c == OPT_EXCLUDEI || c == OPT_INCLUDEI,
				       c == OPT_INCLUDE || c == OPT_INCLUDEI);
			break;
		case OPT_EXCLUDE_GLOB:
			if (tw_filter_add_glob(&filter, optarg))
				return false;
			break;
		case OPT_FROMFILE:
			if (fromfile) {
				fprintf(stderr, "Multiple --fromfile options given.\n");
				return false;
			}
			fromfile = optarg;
			break;
		case 't':
			if (!tw_parse_timeout(optarg, &timeout))
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
			events |= ev;
			break;
		case 'a':
		case 'd':
			if (!parse_sort(optarg, c == 'a', &sort_set))
				return false;
			break;
		case OPT_SOURCE:
			if (!tw_opt_source(optarg, &source))
				return false;
			break;
		case OPT_INTERVAL:
			if (!tw_opt_interval(optarg, &interval_ms))
				return false;
			break;
		default:
			return false;
		}
	}
	*argc -= optind;
	*argv += optind;
	if (sort_key != 0 && sort_key != -1 &&
	    !(abs(sort_key) & ((events & ~IN_DONT_FOLLOW) ? events
							  : IN_ALL_EVENTS))) {
		fprintf(stderr, "Can't sort by an event which isn't being watched "
				"for!\n");
		return false;
	}
	if (regexes.has_include && regexes.has_exclude) {
		fprintf(stderr, "include and exclude regexp cannot both be "
				"specified.\n");
		return false;
	}
	return true;
}

/* Statistics ------------------------------------------------------------------ */

static uint32_t user_events;

static void on_event(struct tw_ctx *ctx, const struct tw_event *ev)
{
	struct tw_watch *w = ev->w;

	(void)ctx;
	if (ev->mask & IN_Q_OVERFLOW) {
		fprintf(stderr, "%s: the event queue overflowed: events were lost "
				"and the counts are incomplete\n", tw_prog);
		return;
	}
	if (!w || ev->filtered != TW_PASS ||
	    !(ev->mask & (user_events | IN_IGNORED | IN_UNMOUNT)))
		return;
	for (size_t i = 0; i < NCOLUMNS; i++)
		if (ev->mask & columns[i].mask) {
			w->hits[bit_index(columns[i].mask)]++;
			totals[i]++;
		}
	w->hit_total++;
	grand_total++;
}

static bool column_shown(size_t i)
{
	return (columns[i].mask & user_events) && (zero || totals[i]);
}

static unsigned long stat_of(const struct tw_watch *w, int key)
{
	int k = abs(key);

	return k == 0 || key == -1 ? w->hit_total
				   : w->hits[bit_index((uint32_t)k)];
}

struct rows {
	struct tw_watch **v;
	size_t n, cap;
};

static void collect(struct tw_watch *w, void *arg)
{
	struct rows *r = arg;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct tw_watch **grown = realloc(r->v, cap * sizeof *grown);

		if (!grown)
			return;
		r->v = grown;
		r->cap = cap;
	}
	r->v[r->n++] = w;
}

static int compare_rows(const void *a, const void *b)
{
	const struct tw_watch *x = *(struct tw_watch *const *)a;
	const struct tw_watch *y = *(struct tw_watch *const *)b;
	unsigned long sx = stat_of(x, sort_key), sy = stat_of(y, sort_key);
	bool ascending = sort_key >= 0 && sort_key != -1;

	if (sx == sy) /* inotifywatch breaks ties by its wds: post-order */
		return x->post < y->post ? -1 : x->post > y->post;
	if (ascending)
		return sx < sy ? -1 : 1;
	return sx > sy ? -1 : 1;
}

static int print_info(struct tw_ctx *ctx)
{
	struct rows rows = { 0 };
	const char *sep = csv ? "," : "  ";

	if (!grand_total) {
		fprintf(stderr, "No events occurred.\n");
		return EXIT_SUCCESS;
	}
	printf(csv ? "total," : "total  ");
	for (size_t i = 0; i < NCOLUMNS; i++)
		if (column_shown(i))
			printf("%s%s", columns[i].name, sep);
	printf("filename\n");

	tw_foreach_watch(ctx, collect, &rows);
	qsort(rows.v, rows.n, sizeof *rows.v, compare_rows);
	for (size_t r = 0; r < rows.n; r++) {
		struct tw_watch *w = rows.v[r];

		if (!zero && !w->hit_total)
			continue;
		if (csv)
			printf("%lu,", w->hit_total);
		else
			printf("%-5lu  ", w->hit_total);
		for (size_t i = 0; i < NCOLUMNS; i++) {
			unsigned long v = w->hits[bit_index(columns[i].mask)];

			if (!column_shown(i))
				continue;
			if (csv)
				printf("%lu,", v);
			else
				printf("%-*lu  ", columns[i].width, v);
		}
		if (csv) {
			char buf[TW_MAX_STRLEN * 2 + 3];

			printf("%s\n", tw_csv_escape(w->path, buf, sizeof buf));
		} else {
			printf("%s\n", w->path);
		}
	}
	free(rows.v);
	fflush(stdout);
	return EXIT_SUCCESS;
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1) {
		print_now = 1;
		return;
	}
	if (sig == SIGINT && !established) {
		/* inotifywatch's "impatient user" rule: the second one quits. */
		static const char first[] =
			"No statistics have been collected because I haven't "
			"finished establishing\ninotify watches yet.  If you are "
			"sure you want me to exit, interrupt me again.\n";
		static const char second[] =
			"No statistics collected, asked to abort before all "
			"watches could be established.\n";
		ssize_t n;

		if (interrupts++) {
			n = write(STDERR_FILENO, second, sizeof second - 1);
			(void)n;
			_exit(1);
		}
		n = write(STDERR_FILENO, first, sizeof first - 1);
		(void)n;
		return;
	}
	done = 1;
}

static void set_handler(int sig)
{
	struct sigaction sa = { 0 };

	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL); /* no SA_RESTART: poll returns EINTR */
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
	filter.at = NULL;
	filter.nat = 0;
	tw_filter_free(&filter);
}

int main(int argc, char **argv)
{
	struct timespec deadline = { 0 };
	int err;

	tw_prog = "uinotifywatch";
	atexit(cleanup);
	set_handler(SIGINT);
	if (!parse_opts(&argc, &argv))
		return EXIT_FAILURE;
	if (!tw_regexes_compile(&regexes, &filter))
		return EXIT_FAILURE;
	if (interval_ms) /* in range: tw_opt_interval */
		uinotify_set_scan_interval((int)interval_ms);
	ctx.fd = tw_open_instance(source);
	if (ctx.fd < 0)
		return EXIT_FAILURE;
	if (!(events & ~IN_DONT_FOLLOW))
		events |= IN_ALL_EVENTS;
	user_events = (uint32_t)events & ~IN_DONT_FOLLOW;
	ctx.mask = (uint32_t)events;
	ctx.recursive = recursive;
	ctx.maintain = recursive;
	if (recursive)
		ctx.mask |= IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE;
	ctx.dont_follow = events & IN_DONT_FOLLOW;
	ctx.keep_dead = true;
	ctx.source = source;
	ctx.filter = &filter;
	ctx.emit = on_event;

	if (tw_paths_build(&paths, argc, argv, fromfile))
		return EXIT_FAILURE;
	if (!paths.nwatch) {
		fprintf(stderr, "No files specified to watch!\n");
		return EXIT_FAILURE;
	}
	filter.at = paths.exclude;
	filter.nat = paths.nexclude;
	if (tw_ctx_init(&ctx))
		return EXIT_FAILURE;

	fprintf(stderr, "Establishing watches...\n");
	for (size_t i = 0; i < paths.nwatch; i++) {
		if (recursive && verbose)
			fprintf(stderr, "Setting up watch(es) on %s\n",
				paths.watch[i]);
		err = tw_watch_path(&ctx, paths.watch[i]);
		if (err && err != -ENOSPC) {
			fprintf(stderr, "Failed to watch %s: %s\n", paths.watch[i],
				strerror(-err));
			return EXIT_FAILURE;
		}
		if (recursive && verbose && !err)
			fprintf(stderr, "OK, %s is now being watched.\n",
				paths.watch[i]);
	}
	if (!ctx.nwatches)
		return EXIT_FAILURE;
	tw_setup_done(&ctx);
	if (verbose)
		fprintf(stderr, "Total of %zu watches.\n", ctx.nwatches);
	fprintf(stderr, "Finished establishing watches, now collecting "
			"statistics.\n");
	if (timeout && verbose)
		fprintf(stderr, "Will listen for events for %ld seconds.\n",
			timeout);
	established = 1;
	set_handler(SIGINT);
	set_handler(SIGHUP);
	set_handler(SIGTERM);
	set_handler(SIGUSR1);
	if (tw_timeout_expires(timeout)) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout;
	}

	while (!done) {
		int ms = -1, r;

		if (tw_timeout_expires(timeout)) {
			struct timespec now;
			long long left;

			clock_gettime(CLOCK_MONOTONIC, &now);
			left = (deadline.tv_sec - now.tv_sec) * 1000LL +
			       (deadline.tv_nsec - now.tv_nsec) / 1000000;
			if (left <= 0)
				break;
			ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		r = tw_pump(&ctx, ms);
		if (r < 0) {
			fprintf(stderr, "%s\n", strerror(-r));
			return EXIT_FAILURE;
		}
		if (print_now) {
			print_now = 0;
			print_info(&ctx);
			printf("\n");
			fflush(stdout);
		}
	}
	return print_info(&ctx);
}
