/* SPDX-License-Identifier: ISC */
/*
 * addr.h: numeric socket addresses written as ADDR:PORT, with IPv6
 * addresses in brackets ("[::1]:7654").
 */
#ifndef PEERD_ADDR_H
#define PEERD_ADDR_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define ADDR_STRLEN	96	/* "[v6%scope]:port" and NUL */

#define HOST_MAX	254	/* a DNS name and NUL */

/*
 * Splits HOST:PORT or [IPV6]:PORT.  HOST may be a DNS name; it is only
 * checked for characters a name or address can hold.  0, or -1 with
 * the reason in err.
 */
int		 addr_split(const char *, char host[HOST_MAX], uint16_t *port,
		    char *err, size_t errlen);
/*
 * Parses a numeric IPv4 or bracketed IPv6 address and port (0 picks a
 * free port).  0, or -1 with the reason in err.
 */
int		 addr_parse(const char *, struct sockaddr_storage *,
		    socklen_t *, char *err, size_t errlen);
/* Formats sa as ADDR:PORT into buf (ADDR_STRLEN bytes); returns buf. */
const char	*addr_format(const struct sockaddr *, char *buf);

#endif
