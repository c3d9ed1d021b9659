/* SPDX-License-Identifier: ISC */
/*
 * bench_common.h: what the benchmarks share: a private directory,
 * daemons on one network key and the wait for their membership, the
 * raw relay chain that is their baseline, the payload every frame and
 * message is cut from, the clock, the parsing of their options, and
 * the children watched while they run and stopped at any exit.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <sys/types.h>

#include <netinet/in.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_IO_MAX		(256u << 10)	/* most a relay reads */
#define BENCH_PAYLOAD_MAX	(1u << 20)
#define BENCH_FRAME_HDR		4	/* the raw chain's length prefix */
#define BENCH_HEAD_MAX		96	/* most bytes before a payload */
#define BENCH_WRITE_FRAMES	64	/* frames gathered into one writev */
#define BENCH_STOP_SECS		5	/* SIGTERM, then SIGKILL */

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* The signal that asks the program to stop, or 0. */
extern volatile sig_atomic_t	 bench_quit;
/* $PEERD, else build/peerd. */
extern const char		*bench_peerd;
/* The run's private directory, /tmp/PROG.XXXXXX. */
extern char			 bench_dir[64];
/* bench_dir/peerd.conf, empty: the daemons run on their defaults. */
extern char			 bench_conf[96];
/* BENCH_PAYLOAD_MAX random bytes, the stuff of every payload. */
extern uint8_t			*bench_pat;

/*
 * Checks $PEERD, fills bench_pat, makes bench_dir with an empty
 * configuration file in it, and catches SIGINT, SIGTERM and SIGHUP
 * (bench_quit) and ignores SIGPIPE.  At any exit of this process every
 * child is stopped and bench_dir removed.
 */
void	 bench_setup(const char *prog);

/*
 * The argument of option -opt: a whole number from min to max, or
 * seconds from min to 3600.  errx(2) with the range and unit if not.
 */
unsigned long long bench_opt_num(int opt, const char *arg,
	    unsigned long long min, unsigned long long max, const char *unit);
double	 bench_opt_secs(int opt, const char *arg, double min);

/* Removes dir and everything below it; "" is left alone. */
void	 bench_rm_tree(const char *dir);

double	 bench_now(void);		/* CLOCK_MONOTONIC, seconds */
/* errx() if a signal asked to stop. */
void	 bench_check_quit(void);
void	 bench_sleep_ms(int ms);
/* utime + stime of pid in seconds; this process to the nanosecond. */
double	 bench_proc_cpu(pid_t pid);
/* Sorts a[n] in ascending order, for bench_pct. */
void	 bench_sort(double *a, int n);
/* The p-th percentile of a sorted a[n] (n >= 1), the nearest rank. */
double	 bench_pct(const double *a, int n, double p);

/*
 * Payload seq: bench_pat with seq in its first and last 8 bytes (size
 * at least 16).  A lost, repeated, reordered or misplaced payload
 * shows, and so does any other byte that differs.
 */
void	 bench_stamp(uint8_t *m, size_t size, uint64_t seq);
bool	 bench_payload_ok(const uint8_t *m, size_t size, uint64_t seq);
/* The head of a CBOR byte string of len bytes into h[5]; its length. */
size_t	 bench_bstr_head(uint8_t *h, size_t len);

/*
 * Forks a helper that dies with this process (PR_SET_PDEATHSIG) and
 * runs in its own session, out of reach of a ^C.  As fork().
 */
pid_t	 bench_spawn(void);
/* Watches pid: its death ends the program.  what is kept, not copied. */
void	 bench_child_add(pid_t pid, const char *what);
/* The same, and the end of log is shown if it dies; log is kept too. */
void	 bench_child_add_log(pid_t pid, const char *what, const char *log);
/* errx() if a watched child has died, saying which and how. */
void	 bench_check_children(void);
/*
 * Sends sig to a watched child and reaps it (SIGKILL after
 * BENCH_STOP_SECS), so that its end does not end the program.
 */
void	 bench_child_end(pid_t pid, int sig);
int	 bench_nonblock(int fd);
/* A TCP listener on 127.0.0.1, port from the kernel, in sin.  err()s. */
int	 bench_listen_lo(struct sockaddr_in *sin);
/* The last lines of a daemon's log, to stderr. */
void	 bench_show_log(const char *log);

/*
 * Forks (bench_spawn) and execs argv[0] with argv, its output to log
 * and its input from /dev/null.  Not watched.  The child's pid.
 */
pid_t	 bench_exec(const char *const argv[], const char *log);

/* state/network.key, 0600: the same key makes daemons one network. */
void	 bench_key_write(const char *state, const uint8_t key[32]);
/*
 * Forks (bench_spawn) and execs $PEERD on 127.0.0.1:0 with discovery
 * off and bench_conf, its output to log, bootstrapped to
 * 127.0.0.1:boot_port (0: none), with a -o for each of opts (NULL, or
 * ended by NULL).  Not watched.  The child's pid.
 */
pid_t	 bench_peerd_spawn(const char *state, const char *sock,
	    const char *name, const char *log, int boot_port,
	    const char *const *opts);

/* One daemon in bench_dir/NAME: its state, socket and log. */
struct bench_node {
	const char	*name;
	pid_t		 pid;
	char		 dir[96];
	char		 state[112];
	char		 sock[112];
	char		 log[112];
	int		 port;		/* mesh, on 127.0.0.1 */
	const char	*opts[4];	/* -o settings, NULL after the last */
};

/*
 * The settings of an end node of a relayed path (-R): one link, to its
 * bootstrap node, and no links dialed for calls.
 */
extern const char *const bench_relayed_opts[4];

/*
 * Starts nd on 127.0.0.1 with the network key, bootstrapped to boot
 * (NULL: none), and returns once it answers on its control socket with
 * its mesh port read back.  Watched as a child; its log ends shown if
 * it dies.
 */
void	 bench_node_start(struct bench_node *nd, const uint8_t key[32],
	    const struct bench_node *boot);
/* Waits until each of the n daemons counts all n as alive members. */
void	 bench_nodes_wait(const struct bench_node *nodes, int n, int secs);
/* Exits unless nd has exactly links mesh links up. */
void	 bench_node_links(const struct bench_node *nd, uint64_t links);

/*
 * The raw chain: this process -> Unix socket -> relay R1 -> TCP on
 * 127.0.0.1 -> relay R2 -> Unix socket -> the end, a forked process
 * each.  Frames are a 4-byte big-endian length and the payload.  The
 * echo end writes every whole frame straight back.  The sink end
 * checks that frame k is payload k (bench_payload_ok), counting from 0,
 * and answers a frame of length 0 with the number of frames before it
 * (8 bytes, host order), then counts from 0 again.
 */
enum bench_end {
	BENCH_ECHO,
	BENCH_SINK,
};

struct bench_chain {
	pid_t	pid[3];		/* R1, R2, the end */
	int	fd;		/* ours, non-blocking */
};

void	 bench_chain_start(struct bench_chain *, enum bench_end);

/*
 * Writes frames of size bytes: frame k is payload k, after a head and
 * before a trail.  The head is the raw chain's length unless head says
 * otherwise: it puts the head of payload seq of size bytes into h (at
 * most BENCH_HEAD_MAX) and returns its length.  next and off say how
 * far the writing has come; the rest is scratch.
 */
struct bench_frames {
	size_t		 size;
	size_t		(*head)(uint8_t *h, size_t size, uint64_t seq);
	const char	*trail;		/* or NULL */
	uint64_t	 next;		/* the first not wholly written */
	size_t		 off;		/* bytes of it written */
	uint8_t		 hdr[BENCH_WRITE_FRAMES][BENCH_HEAD_MAX + 8];
	size_t		 hlen[BENCH_WRITE_FRAMES];
	uint8_t		 tail[BENCH_WRITE_FRAMES][8];
};

/*
 * One writev of frames next to end - 1 (at most BENCH_WRITE_FRAMES);
 * next and off move on by what the socket took.  err()s if it broke.
 */
void	 bench_frames_write(int fd, struct bench_frames *, uint64_t end);

#endif
