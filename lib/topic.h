/* SPDX-License-Identifier: ISC */
/*
 * topic.h: how a subscription pattern matches an event's topic, the
 * same in the daemon and in libpeer.
 */
#ifndef PEER_TOPIC_H
#define PEER_TOPIC_H

#include <stdbool.h>

/*
 * Whether topic matches pattern: "*" matches every topic, "a.*" every
 * topic that starts with "a." and goes on, anything else only itself.
 */
bool	topic_matches(const char *pattern, const char *topic);

#endif
