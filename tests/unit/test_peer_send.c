/* SPDX-License-Identifier: ISC */
/*
 * test_peer_send.c: reading and writing byte strings with peer_bytes
 * and peer_bytes_head.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "cbor_scan.h"
#include "peer.h"
#include "suites.h"

#define B(...)		((const uint8_t[]){ __VA_ARGS__ })

START_TEST(test_bytes)
{
	const uint8_t	*d;
	uint8_t		 head[PEER_BYTES_HEAD_MAX], *buf;
	size_t		 n, h;
	static const struct {
		size_t	n;
		size_t	headlen;
		uint8_t	first;
	} heads[] = {
		{ 0, 1, 0x40 }, { 23, 1, 0x57 }, { 24, 2, 0x58 },
		{ 255, 2, 0x58 }, { 256, 3, 0x59 }, { 65535, 3, 0x59 },
		{ 65536, 5, 0x5a },
	};
	size_t		 i;

	ck_assert_int_eq(peer_bytes(B(0x43, 1, 2, 3), 4, &d, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(d[0], 1);
	ck_assert_uint_eq(d[2], 3);
	ck_assert_int_eq(peer_bytes(B(0x40), 1, &d, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(peer_bytes(B(0x58, 0x02, 7, 8), 4, &d, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(d[1], 8);
	/* Truncated head, length past the end, trailing bytes. */
	ck_assert_int_eq(peer_bytes(B(0x59, 0x01), 2, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0x58), 1, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0x45, 1, 2), 3, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0), 10, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0x41, 1, 2), 3, &d, &n), -1);
	/* Other major types, chunks, nothing. */
	ck_assert_int_eq(peer_bytes(B(0x63, 'a', 'b', 'c'), 4, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0x03), 1, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0x81, 0x41, 0x01), 3, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0xf6), 1, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0x5f, 0x41, 1, 0xff), 4, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(B(0x43, 1, 2, 3), 0, &d, &n), -1);
	ck_assert_int_eq(peer_bytes(NULL, 0, &d, &n), -1);

	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		h = peer_bytes_head(head, heads[i].n);
		ck_assert_uint_eq(h, heads[i].headlen);
		ck_assert_uint_eq(head[0], heads[i].first);
		ck_assert_ptr_nonnull(buf = calloc(1, h + heads[i].n));
		memcpy(buf, head, h);
		ck_assert_uint_eq(cbor_scan_item(buf, h + heads[i].n),
		    h + heads[i].n);
		ck_assert_int_eq(peer_bytes(buf, h + heads[i].n, &d, &n), 0);
		ck_assert_uint_eq(n, heads[i].n);
		ck_assert_ptr_eq(d, buf + h);
		free(buf);
	}
	ck_assert_uint_eq(peer_bytes_head(head, (size_t)1 << 32), 9);
	ck_assert_uint_eq(head[0], 0x5b);
}
END_TEST

Suite *
peer_send_suite(void)
{
	Suite	*s = suite_create("peer_send");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_bytes);
	suite_add_tcase(s, tc);
	return s;
}
