/* SPDX-License-Identifier: ISC */
/*
 * listen.c: binding the mesh's TCP addresses.  Binding at start-up
 * claims the port and reports a clash before the daemon says it is
 * ready.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "listen.h"
#include "log.h"

struct listener {
	struct evconnlistener	*lev;
	listen_accept_fn	*fn;
	void			*arg;
	char			 addr[ADDR_STRLEN];	/* as bound */
};

struct listeners {
	struct listener	*l;
	size_t		 n;
};

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener	*l = arg;
	char		 buf[ADDR_STRLEN];

	(void)lev; (void)salen;
	log_debug("mesh: connection from %s", addr_format(sa, buf));
	l->fn(fd, sa, l->arg);
}

static void
accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	evconnlistener_enable(arg);
}

static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct timeval	tv = { 1, 0 };
	int		e = EVUTIL_SOCKET_ERROR();

	(void)arg;
	log_warnx("mesh: accept: %s%s", strerror(e),
	    e == EMFILE || e == ENFILE ? "; pausing for 1 s" : "");
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		/* Out of descriptors: pause instead of spinning on accept. */
		evconnlistener_disable(lev);
		event_base_once(evconnlistener_get_base(lev), -1, EV_TIMEOUT,
		    accept_resume_cb, lev, &tv);
	}
}

static bool
is_ipv6_wildcard(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6	*sin6 = (const void *)ss;

	return ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
}

/* Binds one address; -1 on failure, 1 if skipped. */
static int
listener_bind(struct event_base *base, struct listener *l, const char *addr,
    listen_accept_fn *fn, void *arg)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen;
	char			why[128];
	int			fd, on = 1;

	if (addr_parse(addr, &ss, &sslen, why, sizeof(why)) == -1) {
		log_warnx("listen %s", why);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		if (errno == EAFNOSUPPORT && is_ipv6_wildcard(&ss)) {
			log_info("listen %s: no IPv6 on this host, skipped",
			    addr);
			return 1;
		}
		log_warn("listen %s: socket", addr);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1) {
		if (errno == EADDRNOTAVAIL && is_ipv6_wildcard(&ss)) {
			log_info("listen %s: no IPv6 on this host, skipped",
			    addr);
			close(fd);
			return 1;
		}
		log_warn("listen %s", addr);
		close(fd);
		return -1;
	}
	sslen = sizeof(ss);
	if (listen(fd, 128) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		log_warn("listen %s", addr);
		close(fd);
		return -1;
	}
	l->lev = evconnlistener_new(base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (l->lev == NULL) {
		log_warnx("listen %s: cannot watch the socket", addr);
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(l->lev, accept_error_cb);
	l->fn = fn;
	l->arg = arg;
	addr_format((struct sockaddr *)&ss, l->addr);
	log_info("mesh: listening on %s", l->addr);
	return 0;
}

struct listeners *
listeners_open(struct event_base *base, char (*addrs)[ADDR_STRLEN], int n,
    listen_accept_fn *fn, void *arg)
{
	struct listeners	*ls;
	int			 i, r;

	if ((ls = calloc(1, sizeof(*ls))) == NULL ||
	    (ls->l = calloc((size_t)n, sizeof(*ls->l))) == NULL) {
		free(ls);
		log_warn("listen");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		r = listener_bind(base, &ls->l[ls->n], addrs[i], fn, arg);
		if (r == -1) {
			listeners_free(ls);
			return NULL;
		}
		if (r == 0)
			ls->n++;
	}
	if (ls->n == 0) {
		log_warnx("no usable listen address");
		listeners_free(ls);
		return NULL;
	}
	return ls;
}

void
listeners_free(struct listeners *ls)
{
	size_t	i;

	if (ls == NULL)
		return;
	for (i = 0; i < ls->n; i++)
		evconnlistener_free(ls->l[i].lev);
	free(ls->l);
	free(ls);
}

size_t
listeners_count(const struct listeners *ls)
{
	return ls->n;
}

const char *
listeners_addr(const struct listeners *ls, size_t i)
{
	return ls->l[i].addr;
}

int
listeners_dialable(const struct listeners *ls, char (*out)[ADDR_STRLEN],
    int max)
{
	struct ifaddrs	*ifa, *i;
	char		 host[ADDR_STRLEN], *colon;
	const char	*a;
	size_t		 k;
	int		 n = 0;

	for (k = 0; k < ls->n && n < max; k++) {
		a = ls->l[k].addr;
		if (strncmp(a, "0.0.0.0:", 8) != 0 && strncmp(a, "[::]:", 5) != 0) {
			snprintf(out[n++], ADDR_STRLEN, "%s", a);
			continue;
		}
		if ((colon = strrchr(a, ':')) == NULL || getifaddrs(&ifa) == -1)
			continue;
		for (i = ifa; i != NULL && n < max; i = i->ifa_next) {
			if (i->ifa_addr == NULL || (i->ifa_addr->sa_family !=
			    (a[0] == '[' ? AF_INET6 : AF_INET)))
				continue;
			addr_format(i->ifa_addr, host);
			/* Loopback and link-local are of no use to others. */
			if (strncmp(host, "127.", 4) == 0 ||
			    strncmp(host, "[::1]", 5) == 0 ||
			    strncmp(host, "[fe80", 5) == 0)
				continue;
			*strrchr(host, ':') = '\0';
			snprintf(out[n++], ADDR_STRLEN, "%s%s", host, colon);
		}
		freeifaddrs(ifa);
	}
	return n;
}
