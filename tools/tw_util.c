/*
 * tools/tw_util.c - the parts of inotify-tools' interface that must be
 * reproduced byte for byte: event names and their order, option values and
 * their error messages, path lists, CSV quoting; plus the filters and the
 * sub-second time formats.
 */
#include "tw.h"

#include "instance/config.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

const char *tw_prog = "uinotifywait";
static bool use_syslog;

void tw_set_syslog(bool on, const char *ident)
{
	use_syslog = on;
	if (on)
		openlog(ident, LOG_CONS | LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void tw_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (use_syslog)
		vsyslog(LOG_INFO, fmt, ap);
	else
		vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* Events ------------------------------------------------------------------ */

static const struct {
	const char *name;
	uint32_t mask;
} event_names[] = {
	{ "ACCESS", IN_ACCESS },
	{ "MODIFY", IN_MODIFY },
	{ "ATTRIB", IN_ATTRIB },
	{ "CLOSE_WRITE", IN_CLOSE_WRITE },
	{ "CLOSE_NOWRITE", IN_CLOSE_NOWRITE },
	{ "OPEN", IN_OPEN },
	{ "MOVED_FROM", IN_MOVED_FROM },
	{ "MOVED_TO", IN_MOVED_TO },
	{ "CREATE", IN_CREATE },
	{ "DELETE", IN_DELETE },
	{ "DELETE_SELF", IN_DELETE_SELF },
	{ "UNMOUNT", IN_UNMOUNT },
	{ "Q_OVERFLOW", IN_Q_OVERFLOW },
	{ "IGNORED", IN_IGNORED },
	{ "CLOSE", IN_CLOSE },
	{ "MOVE_SELF", IN_MOVE_SELF },
	{ "ISDIR", IN_ISDIR },
	{ "ONESHOT", IN_ONESHOT },
};

int tw_onestr_to_event(const char *s)
{
	if (!s || !*s)
		return 0;
	for (size_t i = 0; i < sizeof event_names / sizeof event_names[0]; i++)
		if (!strcasecmp(s, event_names[i].name))
			return (int)event_names[i].mask;
	if (!strcasecmp(s, "MOVE"))
		return IN_MOVE;
	if (!strcasecmp(s, "ALL_EVENTS"))
		return IN_ALL_EVENTS;
	return -1;
}

int tw_str_to_events(const char *s, char sep)
{
	char item[4096];
	int ret = 0;

	if (!s || !*s)
		return 0;
	for (;;) {
		const char *end = strchr(s, sep);
		size_t len = end ? (size_t)(end - s) : strlen(s);
		int one;

		if (len >= sizeof item)
			len = sizeof item - 1;
		memcpy(item, s, len);
		item[len] = 0;
		one = tw_onestr_to_event(item);
		if (one == 0 || one == -1)
			return one;
		ret |= one;
		if (!end)
			return ret;
		s = end + 1;
		if (!*s) /* a trailing separator makes the whole list empty */
			return 0;
	}
}

size_t tw_events_to_str(uint32_t mask, char sep, bool synthetic, char *out,
			size_t cap)
{
	size_t len = 0;

	out[0] = 0;
	for (size_t i = 0; i < sizeof event_names / sizeof event_names[0]; i++) {
		if (!(mask & event_names[i].mask))
			continue;
		len += (size_t)snprintf(out + len, cap - len, "%s%s",
					len ? (char[]){ sep, 0 } : "",
					event_names[i].name);
		if (len >= cap)
			return cap - 1;
	}
	if (!len)
		len = (size_t)snprintf(out, cap, "0x%08x", mask);
	if (synthetic && len < cap)
		len += (size_t)snprintf(out + len, cap - len, "%c%s", sep,
					TW_SYNTHETIC_NAME);
	return len < cap ? len : cap - 1;
}

void tw_print_event_descriptions(FILE *f)
{
	fputs("\taccess\t\tfile or directory contents were read\n"
	      "\tmodify\t\tfile or directory contents were written\n"
	      "\tattrib\t\tfile or directory attributes changed\n"
	      "\tclose_write\tfile or directory closed, after being opened in\n"
	      "\t           \twritable mode\n"
	      "\tclose_nowrite\tfile or directory closed, after being opened in\n"
	      "\t           \tread-only mode\n"
	      "\tclose\t\tfile or directory closed, regardless of read/write mode\n"
	      "\topen\t\tfile or directory opened\n"
	      "\tmoved_to\tfile or directory moved to watched directory\n"
	      "\tmoved_from\tfile or directory moved from watched directory\n"
	      "\tmove\t\tfile or directory moved to or from watched directory\n"
	      "\tmove_self\t\tA watched file or directory was moved.\n"
	      "\tcreate\t\tfile or directory created within watched directory\n"
	      "\tdelete\t\tfile or directory deleted within watched directory\n"
	      "\tdelete_self\tfile or directory was deleted\n"
	      "\tunmount\t\tfile system containing file or directory unmounted\n",
	      f);
}

/* Option values ------------------------------------------------------------ */

bool tw_parse_timeout(const char *s, long *out)
{
	static const struct uin_cfg_def any = {"--timeout", UIN_CFG_INT,
					       LONG_MIN, LONG_MAX, NULL,
					       NULL, 0, NULL};

	switch (uin_cfg_parse(&any, s, out)) {
	case UIN_CFG_OK:
		return true;
	case UIN_CFG_RANGE:
		fprintf(stderr, "Something went wrong with the timeout value you "
				"provided.\n%s\n", strerror(ERANGE));
		return false;
	case UIN_CFG_UNSET:
		fprintf(stderr, "The provided value is not a valid timeout value.\n"
				"Please specify a long int value.\n");
		return false;
	default:
		fprintf(stderr, "'%s' is not a valid timeout value.\n"
				"Please specify a long int value.\n", s);
		return false;
	}
}

static bool option_failed(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", tw_prog);
	return false;
}

bool tw_opt_source(const char *arg, int *out)
{
	static const struct uin_cfg_name names[] = {
		{ "auto", UINOTIFY_SOURCE_AUTO, false },
		{ "kernel", UINOTIFY_SOURCE_KERNEL, false },
		{ "scan", UINOTIFY_SOURCE_SCAN, false },
		{ NULL, 0, false },
	};
	static const struct uin_cfg_def def = { "--source", UIN_CFG_ENUM, 0, 0,
						NULL, names, 0, NULL };
	long v;

	if (!uin_cfg_option(&def, NULL, tw_prog, arg, &v))
		return option_failed();
	*out = (int)v;
	uin_env_given(UIN_ENV_SOURCE, v); /* UINOTIFY_SOURCE is not read */
	return true;
}

bool tw_opt_interval(const char *arg, long *out)
{
	if (!uin_cfg_option(uin_env_def(UIN_ENV_SCAN_INTERVAL_MS), "--interval",
			    tw_prog, arg, out))
		return option_failed();
	uin_env_given(UIN_ENV_SCAN_INTERVAL_MS, *out); /* not read */
	return true;
}

bool tw_opt_number(const char *opt, const char *arg, long min, long max,
		   long *out)
{
	const struct uin_cfg_def def = { opt, UIN_CFG_INT, min, max, NULL,
					 NULL, 0, NULL };

	if (!uin_cfg_option(&def, NULL, tw_prog, arg, out))
		return option_failed();
	return true;
}

static int push(char ***list, size_t *n, const char *s)
{
	char **grown = realloc(*list, (*n + 2) * sizeof **list);

	if (!grown)
		return -ENOMEM;
	*list = grown;
	if (!(grown[*n] = strdup(s)))
		return -ENOMEM;
	grown[++*n] = NULL;
	return 0;
}

/* An item of the list: "" and a lone "@" are skipped, "@x" excludes x. */
static int add_item(struct tw_paths *p, const char *s)
{
	if (!*s || !strcmp(s, "@"))
		return 0;
	if (*s == '@')
		return push(&p->exclude, &p->nexclude, s + 1);
	return push(&p->watch, &p->nwatch, s);
}

int tw_paths_build(struct tw_paths *p, int argc, char **argv,
		   const char *fromfile)
{
	FILE *file = NULL;
	char line[4096];
	int err = 0;

	memset(p, 0, sizeof *p);
	p->watch = calloc(1, sizeof *p->watch);
	p->exclude = calloc(1, sizeof *p->exclude);
	if (!p->watch || !p->exclude)
		return -ENOMEM;

	if (fromfile) {
		file = strcmp(fromfile, "-") ? fopen(fromfile, "r") : stdin;
		if (!file)
			fprintf(stderr, "Couldn't open %s: %s\n", fromfile,
				strerror(errno));
	}
	while (file && !err && fgets(line, sizeof line, file)) {
		size_t len = strlen(line);

		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		err = add_item(p, line);
	}
	if (file && file != stdin)
		fclose(file);
	for (int i = 0; i < argc && !err; i++)
		err = add_item(p, argv[i]);
	return err;
}

void tw_paths_free(struct tw_paths *p)
{
	for (size_t i = 0; i < p->nwatch; i++)
		free(p->watch[i]);
	for (size_t i = 0; i < p->nexclude; i++)
		free(p->exclude[i]);
	free(p->watch);
	free(p->exclude);
	memset(p, 0, sizeof *p);
}

const char *tw_csv_escape(const char *s, char *buf, size_t cap)
{
	size_t len, o = 0;

	if (!s || !(len = strlen(s)) || len > TW_MAX_STRLEN)
		return "";
	if (!strpbrk(s, "\",\n") && s[0] != ' ' && s[len - 1] != ' ')
		return s;
	buf[o++] = '"';
	for (size_t i = 0; i < len && o + 3 < cap; i++) {
		if (s[i] == '"')
			buf[o++] = '"';
		buf[o++] = s[i];
	}
	buf[o++] = '"';
	buf[o] = 0;
	return buf;
}

/* Time formats ---------------------------------------------------------------- */

size_t tw_strftime_ns(char *out, size_t cap, const char *fmt,
		      const struct timespec *ts)
{
	char expanded[TW_MAX_STRLEN];
	size_t o = 0;
	struct tm tm;
	time_t secs = ts->tv_sec;

	/* Expand %N and %<digit>N first; leave every other %x to strftime. */
	for (const char *p = fmt; *p && o + 12 < sizeof expanded; p++) {
		int digits = 0;

		if (p[0] != '%') {
			expanded[o++] = *p;
			continue;
		}
		if (p[1] == 'N')
			digits = 9;
		else if (p[1] >= '1' && p[1] <= '9' && p[2] == 'N')
			digits = p[1] - '0';
		if (!digits) {
			expanded[o++] = *p++;
			if (!*p)
				break;
			expanded[o++] = *p; /* keeps "%%N" literal */
			continue;
		}
		{
			long v = ts->tv_nsec;

			for (int d = 9; d > digits; d--)
				v /= 10;
			o += (size_t)snprintf(expanded + o, sizeof expanded - o,
					      "%0*ld", digits, v);
			p += digits == 9 && p[1] == 'N' ? 1 : 2;
		}
	}
	expanded[o] = 0;
	localtime_r(&secs, &tm);
	return strftime(out, cap, expanded, &tm);
}

/* Filters -------------------------------------------------------------------- */

int tw_filter_add_regex(struct tw_filter *f, const char *re, bool icase,
			bool include)
{
	regex_t **list = include ? &f->include : &f->exclude;
	size_t *n = include ? &f->ninclude : &f->nexclude;
	regex_t *grown = realloc(*list, (*n + 1) * sizeof **list);

	if (!grown)
		return -ENOMEM;
	*list = grown;
	if (regcomp(&grown[*n], re,
		    REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0)))
		return -EINVAL;
	++*n;
	return 0;
}

int tw_filter_add_glob(struct tw_filter *f, const char *glob)
{
	return push(&f->globs, &f->nglobs, glob);
}

void tw_filter_free(struct tw_filter *f)
{
	for (size_t i = 0; i < f->nexclude; i++)
		regfree(&f->exclude[i]);
	for (size_t i = 0; i < f->ninclude; i++)
		regfree(&f->include[i]);
	for (size_t i = 0; i < f->nglobs; i++)
		free(f->globs[i]);
	free(f->exclude);
	free(f->include);
	free(f->globs);
	memset(f, 0, sizeof *f);
}

/* A glob without '/' matches a name; one with '/' the whole path. */
static bool glob_match(const char *glob, const char *path, const char *name)
{
	if (strchr(glob, '/'))
		return !fnmatch(glob, path, 0);
	return !fnmatch(glob, name, 0);
}

int tw_filter_check(const struct tw_filter *f, const char *path,
		    const char *name)
{
	for (size_t i = 0; i < f->nexclude; i++)
		if (!regexec(&f->exclude[i], path, 0, NULL, 0))
			return TW_EXCLUDED;
	for (size_t i = 0; i < f->nglobs; i++)
		if (glob_match(f->globs[i], path, name))
			return TW_EXCLUDED;
	if (f->ninclude) {
		for (size_t i = 0; i < f->ninclude; i++)
			if (!regexec(&f->include[i], path, 0, NULL, 0))
				return TW_PASS;
		return TW_NOT_INCLUDED;
	}
	return TW_PASS;
}

bool tw_filter_prune(const struct tw_filter *f, const char *dirpath)
{
	size_t len = strlen(dirpath);
	char bare[PATH_MAX + 1];
	const char *name;

	for (size_t i = 0; i < f->nat; i++) {
		size_t el = strlen(f->at[i]);

		if (el && f->at[i][el - 1] == '/')
			el--;
		if (len == el + 1 && !strncmp(f->at[i], dirpath, el))
			return true;
	}
	/* Every event inside the directory has a path starting "dir/": a
	 * pattern that matches that prefix is taken to exclude the subtree. */
	for (size_t i = 0; i < f->nexclude; i++)
		if (!regexec(&f->exclude[i], dirpath, 0, NULL, 0))
			return true;
	if (!f->nglobs || len < 2 || len > PATH_MAX)
		return false;
	memcpy(bare, dirpath, len - 1);
	bare[len - 1] = 0;
	name = strrchr(bare, '/');
	name = name ? name + 1 : bare;
	for (size_t i = 0; i < f->nglobs; i++)
		if (glob_match(f->globs[i], bare, name) ||
		    (strchr(f->globs[i], '/') && !fnmatch(f->globs[i], dirpath, 0)))
			return true;
	return false;
}

/* Regexes given on the command line ------------------------------------------ */

void tw_regexes_add(struct tw_regexes *r, const char *re, bool icase,
		    bool include)
{
	if (r->n < sizeof r->v / sizeof r->v[0]) {
		r->v[r->n].re = re;
		r->v[r->n].icase = icase;
		r->v[r->n++].include = include;
	}
	if (include)
		r->has_include = true;
	else
		r->has_exclude = true;
}

bool tw_regexes_compile(const struct tw_regexes *r, struct tw_filter *f)
{
	for (size_t i = 0; i < r->n; i++) {
		if (tw_filter_add_regex(f, r->v[i].re, r->v[i].icase,
					r->v[i].include)) {
			fprintf(stderr, "Error in `%s' regular expression.\n",
				r->v[i].include ? "include" : "exclude");
			return false;
		}
	}
	return true;
}

/* The instance ---------------------------------------------------------------- */

int tw_open_instance(int source)
{
	int fd = tw_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		fprintf(stderr, "Couldn't initialize inotify: %s\n",
			strerror(err));
		if (err == EMFILE)
			fprintf(stderr, "Try increasing the value of "
					"/proc/sys/fs/inotify/max_user_instances\n");
		return -1;
	}
	int set = source >= 0 ? tw_set_source(fd, (enum uinotify_source)source)
			      : 0;
	if (set < 0) {
		fprintf(stderr, "%s: cannot use the %s source: %s\n", tw_prog,
			source == UINOTIFY_SOURCE_SCAN ? "scan" : "requested",
			strerror(-set));
		tw_close(fd);
		return -1;
	}
	return fd;
}
