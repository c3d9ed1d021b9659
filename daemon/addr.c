/* SPDX-License-Identifier: ISC */
/*
 * addr.c: parsing and printing ADDR:PORT.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int
addr_split(const char *s, char host[HOST_MAX], uint16_t *port, char *err,
    size_t errlen)
{
	const char	*p, *colon;
	char		*end;
	unsigned long	 n;
	size_t		 hlen, i;

	if (s[0] == '[') {
		if ((colon = strchr(s, ']')) == NULL || colon[1] != ':') {
			snprintf(err, errlen, "\"%s\": expected [IPV6]:PORT", s);
			return -1;
		}
		hlen = (size_t)(colon - s - 1);
		p = colon + 2;
		s++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL) {
			snprintf(err, errlen, "\"%s\": expected ADDR:PORT "
			    "(IPv6 in brackets)", s);
			return -1;
		}
		hlen = (size_t)(colon - s);
		p = colon + 1;
	}
	if (hlen == 0 || hlen >= HOST_MAX) {
		snprintf(err, errlen, "\"%s\": bad address", s);
		return -1;
	}
	for (i = 0; i < hlen; i++)
		if (!isalnum((unsigned char)s[i]) && strchr(".-_:%", s[i]) == NULL) {
			snprintf(err, errlen, "\"%.*s\": bad address", (int)hlen,
			    s);
			return -1;
		}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	n = strtoul(p, &end, 10);
	if (*p < '0' || *p > '9' || *end != '\0' || n > 65535) {
		snprintf(err, errlen, "\"%s\": port must be 0-65535", p);
		return -1;
	}
	*port = (uint16_t)n;
	return 0;
}

int
addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
    char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	char		 host[HOST_MAX], port[8];
	uint16_t	 p;

	if (addr_split(s, host, &p, err, errlen) == -1)
		return -1;
	snprintf(port, sizeof(port), "%u", p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0) {
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
