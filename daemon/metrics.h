/* SPDX-License-Identifier: ISC */
/*
 * metrics.h: numbers for monitoring, written through one writer API
 * either as Prometheus text (exposition format 0.0.4) or as a CBOR map,
 * and a small HTTP server (libevent's evhttp) that serves the text on
 * GET /metrics.  It knows nothing of the modules whose numbers it
 * writes: whoever opens it hands it a function that writes them.
 */
#ifndef PEERD_METRICS_H
#define PEERD_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct cbor_buf;
struct evbuffer;
struct event_base;
struct metrics;
struct metrics_writer;

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,
};

struct metrics_label {
	const char	*name;		/* [a-z_]+, ours */
	const char	*value;		/* any text: escaped as written */
};

/*
 * A latency histogram with fixed bounds (metrics_bounds, in seconds):
 * cheap enough to count every call.  Zeroed is empty.
 */
#define METRICS_BUCKETS	16
struct metrics_hist {
	uint64_t	 bucket[METRICS_BUCKETS + 1];	/* not cumulative; the
							   last: above all */
	uint64_t	 count;
	double		 sum;		/* seconds */
};
extern const double	metrics_bounds[METRICS_BUCKETS];

void		 metrics_observe(struct metrics_hist *, double seconds);

/*
 * Outcomes by error code (enum peer_code, 0 to METRICS_CODES - 1): a
 * code without a name counts as UNKNOWN, so no name is written twice.
 */
#define METRICS_CODES	16
unsigned	 metrics_code(int code);

/*
 * What the writer is handed: a family (its name, type and help), then
 * its samples, then the next family.  A sample of a histogram family is
 * written with metrics_histogram, of the others with metrics_value;
 * samples out of place are ignored.
 */
typedef void	 metrics_gather_fn(struct metrics_writer *, void *arg);

void		 metrics_family(struct metrics_writer *, const char *name,
		    enum metrics_type, const char *help);
void		 metrics_value(struct metrics_writer *,
		    const struct metrics_label *, size_t nlabels, double);
void		 metrics_histogram(struct metrics_writer *,
		    const struct metrics_label *, size_t nlabels,
		    const struct metrics_hist *);

/* What gather writes, as Prometheus text into out.  -1: out of memory. */
int		 metrics_text(struct evbuffer *out, metrics_gather_fn *,
		    void *arg);
/*
 * The same as one CBOR map into out, by family name: {"type", "help",
 * "samples": [{"labels": {...}, "value"} or {"labels", "count", "sum",
 * "buckets": [{"le", "count"}, ...]}]}.  Check out->failed after.
 */
void		 metrics_cbor(struct cbor_buf *out, metrics_gather_fn *,
		    void *arg);

/* What the HTTP server may hold, whatever its clients do. */
#define METRICS_CONNS_MAX	16	/* connections at once */
#define METRICS_HEADERS_MAX	8192	/* bytes of request line and headers */
#define METRICS_IDLE_MS		5000	/* without a byte read or written */
#define METRICS_CONN_MS		10000	/* a connection's whole life */

/*
 * Serves GET /metrics on listen (numeric ADDR:PORT, IPv6 in brackets;
 * port 0 picks one), the text of gather.  NULL after logging why.
 */
struct metrics	*metrics_open(struct event_base *, const char *listen,
		    metrics_gather_fn *, void *arg);
/* Closes the listener and every connection. NULL is fine. */
void		 metrics_free(struct metrics *);
/* The address bound, as ADDR:PORT. */
const char	*metrics_addr(const struct metrics *);

#endif
