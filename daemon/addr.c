/* SPDX-License-Identifier: ISC */
/*
 * addr.c: parsing and printing ADDR:PORT.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int
addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
    char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	char		 host[ADDR_STRLEN];
	const char	*port, *colon;
	char		*end;
	unsigned long	 p;
	size_t		 hlen;
	int		 rc;

	if (s[0] == '[') {
		if ((colon = strchr(s, ']')) == NULL || colon[1] != ':') {
			snprintf(err, errlen, "\"%s\": expected [IPV6]:PORT", s);
			return -1;
		}
		hlen = (size_t)(colon - s - 1);
		s++;
		port = colon + 2;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL) {
			snprintf(err, errlen, "\"%s\": expected ADDR:PORT "
			    "(IPv6 in brackets)", s);
			return -1;
		}
		hlen = (size_t)(colon - s);
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		snprintf(err, errlen, "\"%s\": bad address", s);
		return -1;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	p = strtoul(port, &end, 10);
	if (*port < '0' || *port > '9' || *end != '\0' || p > 65535) {
		snprintf(err, errlen, "\"%s\": port must be 0-65535", port);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "\"%s\": not a numeric address", host);
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

const char *
addr_format(const struct sockaddr *sa, char *buf)
{
	char	host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1], serv[8];

	if (getnameinfo(sa, sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
	    host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(buf, ADDR_STRLEN, "?");
	else if (sa->sa_family == AF_INET6)
		snprintf(buf, ADDR_STRLEN, "[%s]:%s", host, serv);
	else
		snprintf(buf, ADDR_STRLEN, "%s:%s", host, serv);
	return buf;
}
