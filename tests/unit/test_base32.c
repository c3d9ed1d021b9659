/* SPDX-License-Identifier: ISC */
/*
 * test_base32.c: node IDs as base32.
 */
#include <string.h>

#include <check.h>

#include "base32.h"
#include "suites.h"

/* RFC 4648 section 10, lowercase and without padding. */
static const struct {
	const char	*in, *out;
} rfc_vectors[] = {
	{ "", "" }, { "f", "my" }, { "fo", "mzxq" }, { "foo", "mzxw6" },
	{ "foob", "mzxw6yq" }, { "fooba", "mzxw6ytb" },
	{ "foobar", "mzxw6ytboi" },
};

START_TEST(test_rfc4648_vectors)
{
	char	out[32];
	uint8_t	back[8];
	size_t	n = strlen(rfc_vectors[_i].in);

	base32_encode((const uint8_t *)rfc_vectors[_i].in, n, out);
	ck_assert_str_eq(out, rfc_vectors[_i].out);
	ck_assert_uint_eq(strlen(out), BASE32_LEN(n));
	ck_assert(base32_decode(out, back, n));
	ck_assert_mem_eq(back, rfc_vectors[_i].in, n);
}
END_TEST

START_TEST(test_node_id_round_trip)
{
	uint8_t	key[32], back[32];
	char	s[BASE32_LEN(32) + 1];
	size_t	i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 37 + 11);
	base32_encode(key, sizeof(key), s);
	ck_assert_uint_eq(strlen(s), 52);
	ck_assert(base32_decode(s, back, sizeof(back)));
	ck_assert_mem_eq(key, back, sizeof(key));
	/* Upper case is accepted on input. */
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] >= 'a' && s[i] <= 'z')
			s[i] -= 32;
	ck_assert(base32_decode(s, back, sizeof(back)));
	ck_assert_mem_eq(key, back, sizeof(key));
}
END_TEST

START_TEST(test_decode_rejects)
{
	uint8_t	out[32];

	ck_assert(!base32_decode("mzxw6", out, 4));	/* wrong length */
	ck_assert(!base32_decode("mzxw6yq1", out, 5));	/* '1' not in set */
	ck_assert(!base32_decode("mzxw6y=", out, 4));	/* padding */
	ck_assert(base32_decode("my", out, 1) && out[0] == 'f');
	ck_assert(!base32_decode("mz", out, 1));	/* stray low bits */
	ck_assert(!base32_decode("m3", out, 1));
	ck_assert(!base32_decode("", out, 1));
}
END_TEST

Suite *
base32_suite(void)
{
	Suite	*s = suite_create("base32");
	TCase	*tc = tcase_create("base32");

	tcase_add_loop_test(tc, test_rfc4648_vectors, 0,
	    sizeof(rfc_vectors) / sizeof(rfc_vectors[0]));
	tcase_add_test(tc, test_node_id_round_trip);
	tcase_add_test(tc, test_decode_rejects);
	suite_add_tcase(s, tc);
	return s;
}
