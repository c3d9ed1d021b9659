/* SPDX-License-Identifier: ISC */
/*
 * suites.h: the unit test suites, one per module.
 */
#ifndef TESTS_SUITES_H
#define TESTS_SUITES_H

#include <check.h>

Suite	*access_suite(void);
Suite	*admins_suite(void);
Suite	*base32_suite(void);
Suite	*beacon_suite(void);
Suite	*callmsg_suite(void);
Suite	*changes_suite(void);
Suite	*cbor_suite(void);
Suite	*config_suite(void);
Suite	*frame_suite(void);
Suite	*heap_suite(void);
Suite	*hlc_suite(void);
Suite	*hello_suite(void);
Suite	*json_suite(void);
Suite	*kvmerge_suite(void);
Suite	*kvmsg_suite(void);
Suite	*kvring_suite(void);
Suite	*kvstore_suite(void);
Suite	*members_suite(void);
Suite	*metrics_suite(void);
Suite	*netkeys_suite(void);
Suite	*nodemap_suite(void);
Suite	*noise_suite(void);
Suite	*originauth_suite(void);
Suite	*pairkey_suite(void);
Suite	*peer_event_suite(void);
Suite	*peer_kv_suite(void);
Suite	*peer_send_suite(void);
Suite	*peer_serve_suite(void);
Suite	*peer_watch_suite(void);
Suite	*place_suite(void);
Suite	*proto_suite(void);
Suite	*rate_suite(void);
Suite	*ratelog_suite(void);
Suite	*reqnum_suite(void);
Suite	*statefile_suite(void);
Suite	*tags_suite(void);
Suite	*token_suite(void);
Suite	*wire_suite(void);

#endif
