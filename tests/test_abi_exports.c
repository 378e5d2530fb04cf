/*
 * tests/test_abi_exports.c - what libuinotify.so offers the dynamic linker:
 *
 *   - exactly the calls the public headers declare with UINOTIFY_EXPORT
 *     (the .h files of include/uinotify/): no internal symbol, no test hook;
 *   - each with the default version UINOTIFY_0.2 (src/libuinotify.map);
 *   - the soname libuinotify.so.0;
 *   - a static TLS block of at most STATIC_TLS_MAX bytes and no
 *     DF_STATIC_TLS: glibc carves static TLS out of every thread's stack,
 *     and a library that needs it cannot always be dlopen()ed.
 *
 * The ELF file is read here (64-bit only), no binutils needed.
 */
#include "runner.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The drop-in library's bound too (test_preload_noharm.c). */
#define STATIC_TLS_MAX 64
#define VERSION_NODE "UINOTIFY_0.2"
#define SONAME "libuinotify.so.0"

#ifndef UIN_LIBUINOTIFY_SO
#define UIN_LIBUINOTIFY_SO ""
#endif
#ifndef UIN_PUBLIC_INCLUDE
#define UIN_PUBLIC_INCLUDE ""
#endif

#define MAX_NAMES 512

struct names {
	int n;
	char *v[MAX_NAMES];
};

static void names_add(struct names *s, const char *name, size_t len)
{
	CHECK(s->n < MAX_NAMES);
	s->v[s->n++] = strndup(name, len);
}

static bool names_has(const struct names *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0)
			return true;
	return false;
}

static void names_free(struct names *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->v[i]);
	s->n = 0;
}

/* An exported symbol: its name and the version it is bound to. */
struct export {
	char name[128];
	char version[64]; /* "" if none */
	bool hidden;      /* name@VERSION, not name@@VERSION */
};

struct elf {
	const unsigned char *map;
	size_t size;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
};

static void elf_open(struct elf *e, const char *path)
{
	if (!path[0])
		SKIP("built without UIN_LIBUINOTIFY_SO");
	int fd = CHECK_OK(open(path, O_RDONLY | O_CLOEXEC));
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	e->size = (size_t)st.st_size;
	e->map = mmap(NULL, e->size, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(e->map != MAP_FAILED);
	close(fd);
	e->eh = (const Elf64_Ehdr *)e->map;
	CHECK(memcmp(e->eh->e_ident, ELFMAG, SELFMAG) == 0);
	if (e->eh->e_ident[EI_CLASS] != ELFCLASS64)
		SKIP("not a 64-bit ELF");
	e->sh = (const Elf64_Shdr *)(e->map + e->eh->e_shoff);
}

static const Elf64_Shdr *elf_section(const struct elf *e, Elf64_Word type)
{
	for (int i = 0; i < e->eh->e_shnum; i++)
		if (e->sh[i].sh_type == type)
			return &e->sh[i];
	return NULL;
}

/* The name of version index ndx, from the version definitions. */
static const char *elf_version_name(const struct elf *e, unsigned ndx)
{
	const Elf64_Shdr *vd = elf_section(e, SHT_GNU_verdef);
	if (!vd)
		return NULL;
	const char *str = (const char *)(e->map + e->sh[vd->sh_link].sh_offset);
	const unsigned char *p = e->map + vd->sh_offset;
	for (Elf64_Word i = 0; i < vd->sh_info; i++) {
		const Elf64_Verdef *d = (const Elf64_Verdef *)p;
		if (d->vd_ndx == ndx) {
			const Elf64_Verdaux *a =
				(const Elf64_Verdaux *)(p + d->vd_aux);
			return str + a->vda_name;
		}
		if (!d->vd_next)
			break;
		p += d->vd_next;
	}
	return NULL;
}

/* Every symbol the library defines for others, with its version. */
static int elf_exports(const struct elf *e, struct export *out, int max)
{
	const Elf64_Shdr *ds = elf_section(e, SHT_DYNSYM);
	CHECK(ds != NULL);
	const Elf64_Shdr *vs = elf_section(e, SHT_GNU_versym);
	const Elf64_Sym *sym = (const Elf64_Sym *)(e->map + ds->sh_offset);
	const char *str = (const char *)(e->map + e->sh[ds->sh_link].sh_offset);
	const Elf64_Half *ver =
		vs ? (const Elf64_Half *)(e->map + vs->sh_offset) : NULL;
	size_t n = ds->sh_size / sizeof *sym;
	int k = 0;
	for (size_t i = 1; i < n; i++) {
		int bind = ELF64_ST_BIND(sym[i].st_info);
		if (sym[i].st_shndx == SHN_UNDEF ||
		    (bind != STB_GLOBAL && bind != STB_WEAK))
			continue;
		const char *name = str + sym[i].st_name;
		unsigned v = ver ? ver[i] & 0x7fff : 0;
		const char *vname = v > 1 ? elf_version_name(e, v) : NULL;
		/* GNU ld's symbol for a version node itself. */
		if (sym[i].st_shndx == SHN_ABS && vname &&
		    strcmp(vname, name) == 0)
			continue;
		CHECK(k < max);
		snprintf(out[k].name, sizeof out[k].name, "%s", name);
		snprintf(out[k].version, sizeof out[k].version, "%s",
			 vname ? vname : "");
		out[k].hidden = ver && (ver[i] & 0x8000);
		k++;
	}
	return k;
}

/* The names the public headers declare with UINOTIFY_EXPORT. */
static void header_exports(struct names *s)
{
	if (!UIN_PUBLIC_INCLUDE[0])
		SKIP("built without UIN_PUBLIC_INCLUDE");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/uinotify", UIN_PUBLIC_INCLUDE);
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	struct dirent *de;
	int headers = 0;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 3 || strcmp(de->d_name + l - 2, ".h") != 0)
			continue;
		headers++;
		char path[8192];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "r");
		CHECK(f != NULL);
		static char text[1 << 20];
		size_t len = fread(text, 1, sizeof text - 1, f);
		fclose(f);
		CHECK(len < sizeof text - 1);
		text[len] = 0;
		/* Blank out comments, keeping the line structure. */
		for (char *p = text; *p; p++) {
			if (p[0] == '/' && p[1] == '*') {
				char *q = strstr(p + 2, "*/");
				CHECK(q != NULL);
				for (; p < q + 2; p++)
					if (*p != '\n')
						*p = ' ';
				p--;
			} else if (p[0] == '/' && p[1] == '/') {
				for (; *p && *p != '\n'; p++)
					*p = ' ';
				p--;
			}
		}
		const char *key = "UINOTIFY_EXPORT";
		for (char *p = strstr(text, key); p; p = strstr(p + 1, key)) {
			/* Not the macro's own #define line. */
			const char *bol = p;
			while (bol > text && bol[-1] != '\n')
				bol--;
			while (*bol == ' ' || *bol == '\t')
				bol++;
			if (*bol == '#')
				continue;
			/* The identifier before the first '(' of the
			 * declaration. */
			char *paren = p + strlen(key);
			while (*paren && *paren != '(' && *paren != ';')
				paren++;
			CHECK(*paren == '(');
			char *end = paren;
			while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
					   end[-1] == '\n'))
				end--;
			char *start = end;
			while (start > p &&
			       (start[-1] == '_' || (start[-1] >= 'a' &&
						     start[-1] <= 'z') ||
				(start[-1] >= '0' && start[-1] <= '9')))
				start--;
			CHECK(end > start);
			names_add(s, start, (size_t)(end - start));
		}
	}
	closedir(d);
	CHECK(headers >= 5);
}

TEST(every_export_is_uinotify_0_2)
{
	struct elf e;
	elf_open(&e, UIN_LIBUINOTIFY_SO);
	static struct export ex[MAX_NAMES];
	int n = elf_exports(&e, ex, MAX_NAMES);
	int bad = 0;
	for (int i = 0; i < n; i++) {
		if (strcmp(ex[i].version, VERSION_NODE) == 0 && !ex[i].hidden)
			continue;
		fprintf(stderr, "%s: version '%s'%s, not %s\n", ex[i].name,
			ex[i].version, ex[i].hidden ? " (hidden)" : "",
			VERSION_NODE);
		bad++;
	}
	CHECK(n > 0);
	CHECK_EQ(bad, 0);
	munmap((void *)e.map, e.size);
}

TEST(exports_are_the_public_headers)
{
	struct elf e;
	elf_open(&e, UIN_LIBUINOTIFY_SO);
	static struct export ex[MAX_NAMES];
	int n = elf_exports(&e, ex, MAX_NAMES);
	struct names declared = {0}, exported = {0};
	header_exports(&declared);
	for (int i = 0; i < n; i++)
		names_add(&exported, ex[i].name, strlen(ex[i].name));
	int unexpected = 0, missing = 0;
	for (int i = 0; i < exported.n; i++)
		if (!names_has(&declared, exported.v[i])) {
			fprintf(stderr, "exported, not in a public header: "
					"%s\n", exported.v[i]);
			unexpected++;
		}
	for (int i = 0; i < declared.n; i++)
		if (!names_has(&exported, declared.v[i])) {
			fprintf(stderr, "declared UINOTIFY_EXPORT, not "
					"exported: %s\n", declared.v[i]);
			missing++;
		}
	fprintf(stderr, "%d exported, %d declared\n", exported.n, declared.n);
	CHECK_EQ(unexpected, 0);
	CHECK_EQ(missing, 0);
	CHECK_EQ(exported.n, declared.n);
	names_free(&declared);
	names_free(&exported);
	munmap((void *)e.map, e.size);
}

/* Whatever the headers say: no test hook, no internal name. */
TEST(no_test_hooks_nor_internals)
{
	struct elf e;
	elf_open(&e, UIN_LIBUINOTIFY_SO);
	static struct export ex[MAX_NAMES];
	int n = elf_exports(&e, ex, MAX_NAMES);
	int bad = 0;
	for (int i = 0; i < n; i++) {
		const char *s = ex[i].name;
		if (strncmp(s, "uinotify_", 9) == 0 && !strstr(s, "debug"))
			continue;
		fprintf(stderr, "exported: %s\n", s);
		bad++;
	}
	CHECK_EQ(bad, 0);
	munmap((void *)e.map, e.size);
}

TEST(soname)
{
	struct elf e;
	elf_open(&e, UIN_LIBUINOTIFY_SO);
	const Elf64_Shdr *dyn = elf_section(&e, SHT_DYNAMIC);
	CHECK(dyn != NULL);
	const Elf64_Dyn *d = (const Elf64_Dyn *)(e.map + dyn->sh_offset);
	const char *str = (const char *)(e.map + e.sh[dyn->sh_link].sh_offset);
	const char *soname = NULL;
	for (size_t i = 0; i < dyn->sh_size / sizeof *d && d[i].d_tag; i++)
		if (d[i].d_tag == DT_SONAME)
			soname = str + d[i].d_un.d_val;
	CHECK_STR(soname, SONAME);
	munmap((void *)e.map, e.size);
}

TEST(static_tls_is_small)
{
	struct elf e;
	elf_open(&e, UIN_LIBUINOTIFY_SO);
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(e.map + e.eh->e_phoff);
	long tls = 0;
	for (int i = 0; i < e.eh->e_phnum; i++)
		if (ph[i].p_type == PT_TLS)
			tls = (long)ph[i].p_memsz;
	fprintf(stderr, "PT_TLS: %ld bytes (at most %d)\n", tls,
		STATIC_TLS_MAX);
	if (tls > STATIC_TLS_MAX)
		uin_test_fail(__FILE__, __LINE__,
			      "static TLS of libuinotify.so is %ld bytes (at "
			      "most %d)",
			      tls, STATIC_TLS_MAX);
	const Elf64_Shdr *dyn = elf_section(&e, SHT_DYNAMIC);
	CHECK(dyn != NULL);
	const Elf64_Dyn *d = (const Elf64_Dyn *)(e.map + dyn->sh_offset);
	for (size_t i = 0; i < dyn->sh_size / sizeof *d && d[i].d_tag; i++)
		if (d[i].d_tag == DT_FLAGS)
			CHECK(!(d[i].d_un.d_val & DF_STATIC_TLS));
	munmap((void *)e.map, e.size);
}
