/* SPDX-License-Identifier: ISC */
/*
 * main.c: runs the integration test suites against real daemons.
 */
#include <stdlib.h>

#include <check.h>

#include "suites.h"
#include "users.h"

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	users_sweep();
	sr = srunner_create(lifecycle_suite());
	srunner_add_suite(sr, control_suite());
	srunner_add_suite(sr, local_suite());
	srunner_add_suite(sr, mesh_suite());
	srunner_add_suite(sr, attacks_suite());
	srunner_add_suite(sr, trust_suite());
	srunner_add_suite(sr, trust_flood_suite());
	srunner_add_suite(sr, trust_claims_suite());
	srunner_add_suite(sr, trust_keys_suite());
	srunner_add_suite(sr, trust_psk_suite());
	srunner_add_suite(sr, trust_origin_suite());
	srunner_add_suite(sr, trust_revoke_suite());
	srunner_add_suite(sr, membership_suite());
	srunner_add_suite(sr, detect_suite());
	srunner_add_suite(sr, calls_suite());
	srunner_add_suite(sr, events_suite());
	srunner_add_suite(sr, handlers_suite());
	srunner_add_suite(sr, metrics_suite());
	srunner_add_suite(sr, tags_suite());
	srunner_add_suite(sr, netns_suite());
	srunner_add_suite(sr, access_suite());
	srunner_add_suite(sr, impair_suite());
	srunner_add_suite(sr, watch_suite());
	srunner_add_suite(sr, cli_suite());
	srunner_add_suite(sr, kv_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
