/* SPDX-License-Identifier: ISC */
/*
 * admins.h: the nodes whose signature may rotate the network key and
 * revoke members: the IDs in the config key `admins` plus those in
 * STATE/admins (written when this node made the network, or joined it
 * with a token that named admins).
 */
#ifndef PEERD_ADMINS_H
#define PEERD_ADMINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"

#define ADMINS_MAX	16

struct admins {
	uint8_t	ids[ADMINS_MAX][NODE_ID_LEN];
	size_t	n;
};

/*
 * Fills a with the config's IDs (base32, as the `admins` key gives them)
 * and those of dir/admins, without repeats.  A missing file is no admins
 * from it.  0, or -1 after logging why (a bad file, more than
 * ADMINS_MAX in all).
 */
int	admins_load(struct admins *, const char *dir,
	    const char *const *config_ids, size_t nconfig);
/* Writes ids to dir/admins (0600, replaced atomically).  0 or -1. */
int	admins_save(const char *dir, const uint8_t (*ids)[NODE_ID_LEN],
	    size_t n);
bool	admins_has(const struct admins *, const uint8_t id[NODE_ID_LEN]);

#endif
