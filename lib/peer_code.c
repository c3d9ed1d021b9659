/* SPDX-License-Identifier: ISC */
/*
 * peer_code.c: names of the error codes, as they travel on the wire.
 */
#include <string.h>

#include "peer.h"

static const struct {
	enum peer_code	 code;
	const char	*name;
} codes[] = {
	{ PEER_OK,			"OK" },
	{ PEER_CANCELLED,		"CANCELLED" },
	{ PEER_UNKNOWN,			"UNKNOWN" },
	{ PEER_INVALID_ARGUMENT,	"INVALID_ARGUMENT" },
	{ PEER_DEADLINE_EXCEEDED,	"DEADLINE_EXCEEDED" },
	{ PEER_NOT_FOUND,		"NOT_FOUND" },
	{ PEER_ALREADY_EXISTS,		"ALREADY_EXISTS" },
	{ PEER_PERMISSION_DENIED,	"PERMISSION_DENIED" },
	{ PEER_RESOURCE_EXHAUSTED,	"RESOURCE_EXHAUSTED" },
	{ PEER_FAILED_PRECONDITION,	"FAILED_PRECONDITION" },
	{ PEER_UNIMPLEMENTED,		"UNIMPLEMENTED" },
	{ PEER_INTERNAL,		"INTERNAL" },
	{ PEER_UNAVAILABLE,		"UNAVAILABLE" },
};

const char *
peer_code_name(enum peer_code code)
{
	size_t	i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return codes[i].name;
	return "UNKNOWN";
}

enum peer_code
peer_code_from_name(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(codes[i].name, name) == 0)
			return codes[i].code;
	return PEER_UNKNOWN;
}
