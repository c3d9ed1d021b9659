/* SPDX-License-Identifier: ISC */
/*
 * listen.c: binding the mesh's TCP addresses.  Binding at start-up
 * claims the port and reports a clash before the daemon says it is
 * ready.  Until encrypted links exist, an accepted connection is closed
 * at once.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "listen.h"
#include "log.h"

struct listener {
	struct evconnlistener	*lev;
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
	char	buf[ADDR_STRLEN];

	(void)lev; (void)salen; (void)arg;
	log_debug("mesh: connection from %s closed: links are not enabled",
	    addr_format(sa, buf));
	close(fd);
}

static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	(void)lev; (void)arg;
	log_warn("mesh: accept");
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
listener_bind(struct event_base *base, struct listener *l, const char *addr)
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
	addr_format((struct sockaddr *)&ss, l->addr);
	log_info("mesh: listening on %s", l->addr);
	return 0;
}

struct listeners *
listeners_open(struct event_base *base, char (*addrs)[ADDR_STRLEN], int n)
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
		if ((r = listener_bind(base, &ls->l[ls->n], addrs[i])) == -1) {
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
