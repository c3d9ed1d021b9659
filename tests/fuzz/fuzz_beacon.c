/* SPDX-License-Identifier: ISC */
/*
 * fuzz_beacon.c: libFuzzer target for everything discovery reads from
 * the LAN: beacon_open() on any datagram.
 *
 * The first input byte picks the mode, the rest is the data:
 *
 *	bit 0	0: the data is a datagram, opened as received;
 *		1: the data is a plaintext, sealed here with the network's
 *		   beacon key and then opened, so the CBOR decoding behind
 *		   the AEAD is reached.
 *
 * The network key and the clock are fixed (NETWORK_KEY, NOW), so a
 * recorded beacon replays.  A beacon that opens must seal again into
 * one that opens to the same id and port.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "beacon.h"

#define NOW		1700000000ull	/* the clock, in unix seconds */
#define NETWORK_KEY	0x42		/* every byte of it */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint8_t	key[BEACON_KEY_LEN];

static void
init(void)
{
	static int	done;
	uint8_t		netkey[32];

	if (done)
		return;
	if (sodium_init() < 0)
		abort();
	memset(netkey, NETWORK_KEY, sizeof(netkey));
	beacon_key(netkey, key);
	done = 1;
}

static void
check_open(const uint8_t *b, size_t len)
{
	uint8_t		id[32], id2[32], again[BEACON_MAX];
	uint16_t	port, port2;
	ssize_t		n;

	if (beacon_open(key, b, len, NOW, id, &port) == -1)
		return;
	if (port == 0)
		abort();
	n = beacon_seal(key, id, port, NOW, again, sizeof(again));
	if (n == -1 ||
	    beacon_open(key, again, (size_t)n, NOW, id2, &port2) == -1 ||
	    memcmp(id, id2, sizeof(id)) != 0 || port != port2)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t	b[BEACON_MAX];
	ssize_t	n;

	init();
	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0) {
		check_open(data + 1, size - 1);
		return 0;
	}
	n = beacon_seal_plain(key, data + 1, size - 1, b, sizeof(b));
	if (n != -1)
		check_open(b, (size_t)n);
	return 0;
}
