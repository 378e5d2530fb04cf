/*
 * src/instance/config.c - the one parser of configuration values, and the
 * table of the UINOTIFY_* variables (config.h; documented in uinotify(7),
 * whose ENVIRONMENT table follows this one line for line).
 */
#include "instance/config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <uinotify/inotify.h>

#include "engine/fault.h"
#include "sources/scan.h"

/* Parsing -------------------------------------------------------------------- */

static const struct uin_cfg_name bool_names[] = {
	{"1", 1, false},     {"0", 0, false},    {"yes", 1, true},
	{"no", 0, true},     {"true", 1, true},  {"false", 0, true},
	{"on", 1, true},     {"off", 0, true},   {NULL, 0, false},
};

static const struct uin_cfg_name *names_of(const struct uin_cfg_def *d)
{
	return d->kind == UIN_CFG_BOOL ? bool_names : d->names;
}

enum uin_cfg_status uin_cfg_parse(const struct uin_cfg_def *d, const char *s,
				  long *out)
{
	if (!s || !*s)
		return UIN_CFG_UNSET;
	if (d->kind != UIN_CFG_INT) {
		for (const struct uin_cfg_name *n = names_of(d); n->name; n++)
			if (!strcasecmp(s, n->name)) {
				*out = n->value;
				return UIN_CFG_OK;
			}
		return UIN_CFG_NOT_NAME;
	}
	/* Digits with an optional sign, and nothing else: strtol alone would
	 * take leading blanks and stop at the first stray byte. */
	const char *p = s + (*s == '+' || *s == '-');
	if (!*p || strspn(p, "0123456789") != strlen(p))
		return UIN_CFG_NOT_NUMBER;
	errno = 0;
	char *end;
	long v = strtol(s, &end, 10);
	if (errno == ERANGE || v < d->min || v > d->max)
		return UIN_CFG_RANGE;
	if (errno || *end)
		return UIN_CFG_NOT_NUMBER;
	*out = v;
	return UIN_CFG_OK;
}

/* Appending to a bounded buffer, always terminated. */
struct out {
	char *buf;
	size_t len, pos;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o,
							const char *fmt, ...)
{
	if (o->pos >= o->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->pos += (size_t)n;
	if (o->pos >= o->len)
		o->pos = o->len - 1;
}

/* s quoted: at most 64 bytes, control bytes as '?'. */
static void put_quoted(struct out *o, const char *s)
{
	char q[72];
	size_t i = 0;
	for (; s && s[i] && i < 64; i++)
		q[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	q[i] = 0;
	put(o, "'%s%s'", q, s && s[i] ? "..." : "");
}

static void put_range(struct out *o, const struct uin_cfg_def *d)
{
	put(o, "%ld..%ld%s%s", d->min, d->max, d->unit ? " " : "",
	    d->unit ? d->unit : "");
}

void uin_cfg_explain(const struct uin_cfg_def *d, const char *label,
		     const char *s, enum uin_cfg_status status, char *buf,
		     size_t len)
{
	struct out o = {buf, len, 0};
	if (!len)
		return;
	buf[0] = 0;
	const char *name = label ? label : d->name;
	put(&o, "%s%s", name, name[0] == '-' ? " " : "=");
	put_quoted(&o, s ? s : "");
	switch (status) {
	case UIN_CFG_OK:
		put(&o, " is valid");
		break;
	case UIN_CFG_UNSET:
		put(&o, " is empty");
		break;
	case UIN_CFG_NOT_NUMBER:
		put(&o, " is not a whole number (");
		put_range(&o, d);
		put(&o, ")");
		break;
	case UIN_CFG_RANGE:
		put(&o, " is out of range (");
		put_range(&o, d);
		put(&o, ")");
		break;
	case UIN_CFG_NOT_NAME:
		put(&o, " is not ");
		if (d->kind == UIN_CFG_BOOL) {
			put(&o, "a boolean (1, 0, yes, no, true, false, on, "
				"off)");
			break;
		}
		put(&o, "one of ");
		bool first = true;
		for (const struct uin_cfg_name *n = d->names; n->name; n++)
			if (!n->alias) {
				put(&o, "%s%s", first ? "" : ", ", n->name);
				first = false;
			}
		break;
	}
}

const char *uin_cfg_value_text(const struct uin_cfg_def *d, long v, char *buf,
			       size_t len)
{
	if (d->kind != UIN_CFG_INT)
		for (const struct uin_cfg_name *n = names_of(d); n->name; n++)
			if (n->value == v && !n->alias) {
				snprintf(buf, len, "%s", n->name);
				return buf;
			}
	snprintf(buf, len, "%ld%s%s", v, d->unit ? " " : "",
		 d->unit ? d->unit : "");
	return buf;
}

bool uin_cfg_option(const struct uin_cfg_def *d, const char *label,
		    const char *prog, const char *arg, long *out)
{
	enum uin_cfg_status st = uin_cfg_parse(d, arg, out);
	if (st == UIN_CFG_OK)
		return true;
	if (st == UIN_CFG_UNSET)
		st = d->kind == UIN_CFG_INT ? UIN_CFG_NOT_NUMBER
					    : UIN_CFG_NOT_NAME;
	char why[512];
	uin_cfg_explain(d, label, arg, st, why, sizeof why);
	fprintf(stderr, "%s: %s\n", prog, why);
	return false;
}

/* The variables ------------------------------------------------------------ */

static const struct uin_cfg_name source_names[] = {
	{"auto", UINOTIFY_SOURCE_AUTO, false},
	{"kernel", UINOTIFY_SOURCE_KERNEL, false},
	{"scan", UINOTIFY_SOURCE_SCAN, false},
	{"none", UINOTIFY_SOURCE_NONE, false},
	{NULL, 0, false},
};

static const struct uin_cfg_name rearm_names[] = {
	{"auto", UIN_REARM_AUTO, false},
	{"sync", UIN_REARM_SYNC, false},
	{"async", UIN_REARM_ASYNC, false},
	{"off", UIN_REARM_OFF, false},
	{"0", UIN_REARM_OFF, true},
	{NULL, 0, false},
};

/* A limit's default: the kernel's own, else Linux's default. */
static long proc_limit(const char *path, long fallback)
{
	static const struct uin_cfg_def any = {"", UIN_CFG_INT, 0, INT_MAX,
					       NULL, NULL, 0, NULL};
	char buf[32];
	int fd = UIN_SYS_RETRY("config.limit.open",
			       open(path, O_RDONLY | O_CLOEXEC));
	if (fd < 0)
		return fallback;
	ssize_t n = UIN_SYS_RETRY("config.limit.read",
				  read(fd, buf, sizeof buf - 1));
	close(fd);
	if (n <= 0)
		return fallback;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = 0;
	long v;
	return uin_cfg_parse(&any, buf, &v) == UIN_CFG_OK ? v : fallback;
}

static long def_instances(void)
{
	return proc_limit("/proc/sys/fs/inotify/max_user_instances", 128);
}

static long def_watches(void)
{
	return proc_limit("/proc/sys/fs/inotify/max_user_watches", 8192);
}

static long def_queued(void)
{
	return proc_limit("/proc/sys/fs/inotify/max_queued_events", 16384);
}

#define INT_VAR(name, lo, hi, unit, def)                                     \
	{name, UIN_CFG_INT, lo, hi, unit, NULL, def, NULL}
#define LIMIT_VAR(name, fn) {name, UIN_CFG_INT, 0, INT_MAX, NULL, NULL, 0, fn}
#define BOOL_VAR(name, def) {name, UIN_CFG_BOOL, 0, 1, NULL, NULL, def, NULL}
#define ENUM_VAR(name, names, def)                                           \
	{name, UIN_CFG_ENUM, 0, 0, NULL, names, def, NULL}

static const struct uin_cfg_def defs[UIN_ENV_COUNT] = {
	[UIN_ENV_SOURCE] =
		ENUM_VAR("UINOTIFY_SOURCE", source_names, UINOTIFY_SOURCE_AUTO),
	[UIN_ENV_MAX_USER_INSTANCES] =
		LIMIT_VAR("UINOTIFY_MAX_USER_INSTANCES", def_instances),
	[UIN_ENV_MAX_USER_WATCHES] =
		LIMIT_VAR("UINOTIFY_MAX_USER_WATCHES", def_watches),
	[UIN_ENV_MAX_QUEUED_EVENTS] =
		LIMIT_VAR("UINOTIFY_MAX_QUEUED_EVENTS", def_queued),
	[UIN_ENV_RECOVER] = BOOL_VAR("UINOTIFY_RECOVER", 0),
	[UIN_ENV_FORK_REARM] =
		ENUM_VAR("UINOTIFY_FORK_REARM", rearm_names, UIN_REARM_AUTO),
	[UIN_ENV_DEBUG] = BOOL_VAR("UINOTIFY_DEBUG", 0),
	[UIN_ENV_SCAN_INTERVAL_MS] =
		INT_VAR("UINOTIFY_SCAN_INTERVAL_MS", UIN_SCAN_MIN_INTERVAL_MS,
			UIN_SCAN_MAX_INTERVAL_MS, "ms",
			UIN_SCAN_DEFAULT_INTERVAL_MS),
	[UIN_ENV_SCAN_CLOSE_WRITE_MS] =
		INT_VAR("UINOTIFY_SCAN_CLOSE_WRITE_MS", 0, 3600000, "ms", 500),
	[UIN_ENV_SCAN_COLD_MS] = INT_VAR("UINOTIFY_SCAN_COLD_MS", 0, 3600000,
					 "ms", UIN_SCAN_DEFAULT_COLD_MS),
	[UIN_ENV_SCAN_FORCE_SYNC] =
		INT_VAR("UINOTIFY_SCAN_FORCE_SYNC", 0, 2, NULL, 2),
	[UIN_ENV_SCAN_STAT_THREADS] =
		INT_VAR("UINOTIFY_SCAN_STAT_THREADS", 0,
			UIN_SCAN_MAX_STAT_THREADS, NULL, 4),
	[UIN_ENV_SCAN_STAT_WAIT_US] =
		INT_VAR("UINOTIFY_SCAN_STAT_WAIT_US", 0, 10000000, "us", 100),
};

const struct uin_cfg_def *uin_env_def(enum uin_env v)
{
	return (unsigned)v < UIN_ENV_COUNT ? &defs[v] : NULL;
}

/*
 * Each variable is read once per process (uin_env_fresh: at each use),
 * and a bad value reported once.  No lock: a fork can come at any moment
 * (a child must never find one held), and reading is idempotent, so
 * racing threads may each parse; one reports, one publishes, the others
 * return what they parsed, which is the same.
 */
static atomic_bool claimed[UIN_ENV_COUNT], ready[UIN_ENV_COUNT],
	reported[UIN_ENV_COUNT];
static atomic_long values[UIN_ENV_COUNT];
static atomic_bool quiet;

static void report(const struct uin_cfg_def *d, const char *s,
		   enum uin_cfg_status st, long used)
{
	char line[640], val[64];
	struct out o = {line, sizeof line - 1, 0};
	put(&o, "uinotify: ");
	uin_cfg_explain(d, NULL, s, st, line + o.pos, o.len - o.pos);
	o.pos += strlen(line + o.pos);
	put(&o, "; using %s", uin_cfg_value_text(d, used, val, sizeof val));
	line[o.pos++] = '\n';
	/* One write, so that lines of several processes do not mix; no stdio
	 * (its lock, its buffer: this may run anywhere). */
	for (size_t done = 0; done < o.pos;) {
		ssize_t n = write(STDERR_FILENO, line + done, o.pos - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
}

/* v's value now, reported if bad (once per process). */
static long parse_now(enum uin_env v)
{
	int saved = errno;
	const struct uin_cfg_def *d = &defs[v];
	const char *s = getenv(d->name);
	long x;
	enum uin_cfg_status st = uin_cfg_parse(d, s, &x);
	if (st != UIN_CFG_OK)
		x = d->dynamic_def ? d->dynamic_def() : d->def;
	if (st != UIN_CFG_OK && st != UIN_CFG_UNSET &&
	    !atomic_exchange(&reported[v], true) && !atomic_load(&quiet))
		report(d, s, st, x);
	errno = saved;
	return x;
}

long uin_env(enum uin_env v)
{
	if (atomic_load_explicit(&ready[v], memory_order_acquire))
		return atomic_load_explicit(&values[v], memory_order_relaxed);
	long x = parse_now(v);
	if (!atomic_exchange(&claimed[v], true)) {
		atomic_store_explicit(&values[v], x, memory_order_relaxed);
		atomic_store_explicit(&ready[v], true, memory_order_release);
	}
	return x;
}

long uin_env_fresh(enum uin_env v)
{
	return parse_now(v);
}

void uin_env_given(enum uin_env v, long value)
{
	atomic_store(&reported[v], true);
	atomic_store(&claimed[v], true);
	atomic_store_explicit(&values[v], value, memory_order_relaxed);
	atomic_store_explicit(&ready[v], true, memory_order_release);
}

void uin_env_check_all(void)
{
	for (int v = 0; v < UIN_ENV_COUNT; v++)
		uin_env((enum uin_env)v);
}

void uin_env_quiet(void)
{
	atomic_store(&quiet, true);
}
