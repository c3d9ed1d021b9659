/* SPDX-License-Identifier: ISC */
/*
 * kvstore_bench: what the key-value store's disk costs a write.  It
 * puts N items (new keys, in order) of 64 B and 4 KiB values into a
 * fresh store (kvstore.c, LMDB), timing each put, with every commit
 * flushed to the disk (sync_each) and without (the daemon's way: the
 * commits reach the OS, kvstore_sync flushes them once a second); then
 * reads every key back in a random order.  The baseline, in the same
 * run, is the least a store could do: appending the same bytes to a
 * plain file with write(2), and fdatasync(2) after each when
 * flushing.  Each is run on the state directory's file system (-d,
 * default /var/tmp) and on /dev/shm (memory) if it exists.
 */
#include <sys/stat.h>

#include <err.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvstore.h"

#define KEY_LEN		32

static unsigned	 n = 20000;
static double	*lat;			/* µs of each op */
static uint8_t	 val[4096 + KEY_LEN];

static double
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts lat and gives its 50th and 99th percentiles. */
static void
pcts(double *p50, double *p99)
{
	qsort(lat, n, sizeof(*lat), dbl_cmp);
	*p50 = lat[n / 2];
	*p99 = lat[(size_t)n * 99 / 100];
}

/* One CBOR byte string of size bytes in all, in val. */
static size_t
value(size_t size)
{
	size_t	body = size - 3;

	val[0] = 0x59;
	val[1] = body >> 8;
	val[2] = body & 0xff;
	memset(val + 3, 0x5a, body);
	return size;
}

static void
rm_store(const char *d)
{
	char	path[512];

	snprintf(path, sizeof(path), "%.400s/kv/data.mdb", d);
	unlink(path);
	snprintf(path, sizeof(path), "%.400s/kv/lock.mdb", d);
	unlink(path);
	snprintf(path, sizeof(path), "%.400s/kv", d);
	rmdir(path);
	snprintf(path, sizeof(path), "%.400s/append", d);
	unlink(path);
	rmdir(d);
}

static void
run_store(const char *d, size_t size, bool sync_each)
{
	struct kvstore_params	 p;
	struct kvstore		*s;
	struct kv_item		 it, got;
	struct stat		 st;
	char			 kdir[512], key[KEY_LEN + 1], why[256];
	double			 t0, t, p50, p99, flush, gp50, gp99;
	unsigned		 i, j;

	snprintf(kdir, sizeof(kdir), "%.400s/kv", d);
	p.dir = kdir;
	p.max_bytes = UINT64_C(1) << 30;
	p.sync_each = sync_each;
	if ((s = kvstore_open(&p, why, sizeof(why))) == NULL)
		errx(1, "%s", why);
	memset(&it, 0, sizeof(it));
	it.value = val;
	it.valuelen = value(size);
	it.key = key;
	it.ver.node[0] = 1;
	t0 = now_us();
	for (i = 0; i < n; i++) {
		it.keylen = (size_t)snprintf(key, sizeof(key), "bench/%010u",
		    i);
		it.ver.hlc = (uint64_t)(i + 1) << 16;
		t = now_us();
		if (kvstore_put(s, &it) != KVSTORE_STORED)
			errx(1, "%s: put %u failed", kdir, i);
		lat[i] = now_us() - t;
	}
	t = now_us() - t0;
	pcts(&p50, &p99);
	flush = now_us();
	if (kvstore_sync(s) == -1)
		errx(1, "%s: sync failed", kdir);
	flush = now_us() - flush;
	/* Every key read back, in a shuffled order. */
	for (i = 0; i < n; i++) {
		j = (unsigned)(((uint64_t)i * 2654435761u) % n);
		(void)snprintf(key, sizeof(key), "bench/%010u", j);
		t0 = now_us();
		if (kvstore_get(s, key, strlen(key), &got) != 1 ||
		    got.valuelen != it.valuelen)
			errx(1, "%s: get %u failed", kdir, j);
		lat[i] = now_us() - t0;
	}
	pcts(&gp50, &gp99);
	snprintf(why, sizeof(why), "%.200s/data.mdb", kdir);
	if (stat(why, &st) == -1)
		err(1, "%s", why);
	printf("  lmdb    %-4s %5zu B %9.0f %9.1f %9.1f %9.1f %7.1f %6.2f\n",
	    sync_each ? "sync" : "os", size, n / (t / 1e6), p50, p99,
	    flush / 1e3, gp50,
	    (double)st.st_size / kvstore_bytes(s));
	kvstore_close(s);
}

/* The baseline: the same bytes appended to a file. */
static void
run_append(const char *d, size_t size, bool sync_each)
{
	char		path[512];
	double		t0, t, p50, p99, flush;
	unsigned	i;
	int		fd;

	snprintf(path, sizeof(path), "%.400s/append", d);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC,
	    0600)) == -1)
		err(1, "%s", path);
	t0 = now_us();
	for (i = 0; i < n; i++) {
		t = now_us();
		if (write(fd, val, size + KEY_LEN) != (ssize_t)(size + KEY_LEN))
			err(1, "%s", path);
		if (sync_each && fdatasync(fd) == -1)
			err(1, "%s", path);
		lat[i] = now_us() - t;
	}
	t = now_us() - t0;
	pcts(&p50, &p99);
	flush = now_us();
	if (fdatasync(fd) == -1)
		err(1, "%s", path);
	flush = now_us() - flush;
	close(fd);
	printf("  append  %-4s %5zu B %9.0f %9.1f %9.1f %9.1f\n",
	    sync_each ? "sync" : "os", size, n / (t / 1e6), p50, p99,
	    flush / 1e3);
}

static void
run_fs(const char *where)
{
	static const size_t	sizes[] = { 64, 4096 };
	char			d[512];
	size_t			i;
	int			sync_each;

	snprintf(d, sizeof(d), "%.400s/kvstore_bench.XXXXXX", where);
	if (mkdtemp(d) == NULL)
		err(1, "%s", d);
	printf("%s: %u puts of new keys each\n", where, n);
	printf("  %-7s %-4s %7s %9s %9s %9s %9s %7s %6s\n", "store", "sync",
	    "value", "puts/s", "p50 us", "p99 us", "flush ms", "get us",
	    "disk/B");
	for (sync_each = 0; sync_each <= 1; sync_each++)
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			run_append(d, sizes[i], sync_each);
			run_store(d, sizes[i], sync_each);
			rm_store(d);
			if (mkdir(d, 0700) == -1)
				err(1, "%s", d);
		}
	rmdir(d);
}

int
main(int argc, char **argv)
{
	const char	*dir = "/var/tmp";
	struct stat	 st;
	int		 c;

	while ((c = getopt(argc, argv, "d:n:")) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'n':
			n = (unsigned)strtoul(optarg, NULL, 10);
			if (n < 100 || n > 10000000)
				errx(2, "-n: 100 to 10000000 puts");
			break;
		default:
			fprintf(stderr, "usage: kvstore_bench [-d dir] "
			    "[-n puts]\n");
			return 2;
		}
	}
	if ((lat = calloc(n, sizeof(*lat))) == NULL)
		err(1, "calloc");
	run_fs(dir);
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode))
		run_fs("/dev/shm");
	free(lat);
	return 0;
}
