/* SPDX-License-Identifier: ISC */
/*
 * main.c: runs every unit test suite.
 */
#include <stdlib.h>

#include <check.h>

#include "suites.h"

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(access_suite());
	srunner_add_suite(sr, admins_suite());
	srunner_add_suite(sr, base32_suite());
	srunner_add_suite(sr, beacon_suite());
	srunner_add_suite(sr, callmsg_suite());
	srunner_add_suite(sr, changes_suite());
	srunner_add_suite(sr, cbor_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, frame_suite());
	srunner_add_suite(sr, heap_suite());
	srunner_add_suite(sr, hlc_suite());
	srunner_add_suite(sr, hello_suite());
	srunner_add_suite(sr, json_suite());
	srunner_add_suite(sr, kvmerge_suite());
	srunner_add_suite(sr, kvmsg_suite());
	srunner_add_suite(sr, kvring_suite());
	srunner_add_suite(sr, kvstore_suite());
	srunner_add_suite(sr, members_suite());
	srunner_add_suite(sr, metrics_suite());
	srunner_add_suite(sr, netkeys_suite());
	srunner_add_suite(sr, nodemap_suite());
	srunner_add_suite(sr, noise_suite());
	srunner_add_suite(sr, originauth_suite());
	srunner_add_suite(sr, pairkey_suite());
	srunner_add_suite(sr, peer_event_suite());
	srunner_add_suite(sr, peer_kv_suite());
	srunner_add_suite(sr, peer_send_suite());
	srunner_add_suite(sr, peer_serve_suite());
	srunner_add_suite(sr, peer_watch_suite());
	srunner_add_suite(sr, place_suite());
	srunner_add_suite(sr, proto_suite());
	srunner_add_suite(sr, rate_suite());
	srunner_add_suite(sr, ratelog_suite());
	srunner_add_suite(sr, reqnum_suite());
	srunner_add_suite(sr, statefile_suite());
	srunner_add_suite(sr, tags_suite());
	srunner_add_suite(sr, token_suite());
	srunner_add_suite(sr, wire_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
