/* SPDX-License-Identifier: ISC */
/*
 * suites.h: the integration test suites.
 */
#ifndef TESTS_INTEGRATION_SUITES_H
#define TESTS_INTEGRATION_SUITES_H

#include <check.h>

Suite	*access_suite(void);
Suite	*attacks_suite(void);
Suite	*trust_suite(void);
Suite	*trust_flood_suite(void);
Suite	*trust_claims_suite(void);
Suite	*trust_keys_suite(void);
Suite	*trust_psk_suite(void);
Suite	*trust_origin_suite(void);
Suite	*trust_revoke_suite(void);
Suite	*control_suite(void);
Suite	*detect_suite(void);
Suite	*impair_suite(void);
Suite	*kv_suite(void);
Suite	*local_suite(void);
Suite	*lifecycle_suite(void);
Suite	*membership_suite(void);
Suite	*metrics_suite(void);
Suite	*calls_suite(void);
Suite	*cli_suite(void);
Suite	*events_suite(void);
Suite	*handlers_suite(void);
Suite	*mesh_suite(void);
Suite	*netns_suite(void);
Suite	*tags_suite(void);
Suite	*watch_suite(void);

#endif
