/* SPDX-License-Identifier: ISC */
/*
 * config.c: the config file, "key = value" lines checked against a
 * table of keys with their types and ranges.  conf/peerd.conf and
 * peerd.conf(5) document the same keys.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "duration.h"

enum config_type {
	CT_NAME,	/* node name */
	CT_PATH,	/* absolute or relative path, fits the field */
	CT_LISTEN,	/* ADDR:PORT, repeatable */
	CT_LOGLEVEL,
	CT_SIZE,	/* bytes, with optional K, M or G (binary) suffix */
	CT_UINT,
	CT_DURATION,	/* milliseconds, or with an ms, s, m or h suffix */
	CT_RATE,	/* a decimal number a second, kept in thousandths */
	CT_PEER,	/* HOST:PORT, repeatable */
	CT_ADVERTISE,	/* HOST:PORT for our record, repeatable */
	CT_BOOL,	/* yes/no, true/false, on/off */
	CT_GROUP,	/* group name, repeatable */
	CT_GROUP_ONE,	/* group name, once; empty: none */
	CT_IFACE,	/* interface name, repeatable */
	CT_UNIX_GROUP,	/* a local group, by name or gid */
	CT_SERVICE,	/* access rule (access.c reads it), repeatable */
	CT_HANDLER,	/* event handler (handlers.c reads it), repeatable */
	CT_ADDR,	/* numeric ADDR:PORT, once */
	CT_TAG,		/* KEY=VALUE, repeatable */
	CT_NODE_ID,	/* a node ID in base32, repeatable */
	CT_ORIGIN_AUTH,	/* auto or required: true if required */
};

static const struct config_key {
	const char		*name;
	enum config_type	 type;
	size_t			 off;
	size_t			 size;
	uint64_t		 min, max;
} config_keys[] = {
#define F(field)	offsetof(struct config, field), \
			sizeof(((struct config *)0)->field)
	{ "admin_clients", CT_UINT,	F(admin_clients), 0, 65536 },
	{ "admin_group", CT_UNIX_GROUP,	F(admin_group),	0, 0 },
	{ "admins",	 CT_NODE_ID,	F(admins),	0, 0 },
	{ "advertise",	 CT_ADVERTISE,	F(advertise),	0, 0 },
	{ "beacon_interval", CT_DURATION, F(beacon_interval), 100, 600000 },
	{ "call_dial",	 CT_BOOL,	F(call_dial),	0, 0 },
	{ "claim_probe_gap", CT_DURATION, F(claim_probe_gap), 100, 600000 },
	{ "claim_rate",	 CT_RATE,	F(claim_rate),	100, 1000000 },
	{ "bootstrap",	 CT_PEER,	F(bootstrap),	0, 0 },
	{ "control_frame_timeout", CT_DURATION, F(control_frame_timeout),
	    100, 3600000 },
	{ "control_input_max", CT_SIZE, F(control_input_max), 64u << 10,
	    UINT64_C(1) << 40 },
	{ "dead_after",	 CT_DURATION,	F(dead_after),	100, 600000 },
	{ "dial_burst",	 CT_UINT,	F(dial_burst),	1, 10000 },
	{ "dial_rate",	 CT_RATE,	F(dial_rate),	1000, 10000000 },
	{ "dial_rate_per_address", CT_RATE, F(dial_rate_per_address), 10,
	    100000 },
	{ "dial_rate_per_host", CT_RATE, F(dial_rate_per_host), 100,
	    10000000 },
	{ "degree_max",	 CT_UINT,	F(degree_max),	1, 256 },
	{ "degree_min",	 CT_UINT,	F(degree_min),	1, 256 },
	{ "discovery",	 CT_BOOL,	F(discovery),	0, 0 },
	{ "discovery_interface", CT_IFACE, F(discovery_ifaces), 0, 0 },
	{ "discovery_port", CT_UINT,	F(discovery_port), 1, 65535 },
	/* A full digest (4096 members, 168 KB) must fit in one burst. */
	{ "gossip_burst", CT_SIZE,	F(gossip_burst), 256u << 10, 1u << 30 },
	{ "gossip_interval", CT_DURATION, F(gossip_interval), 100, 60000 },
	{ "gossip_rate", CT_SIZE,	F(gossip_rate),	4u << 10, 1u << 30 },
	{ "group",	 CT_GROUP,	F(groups),	0, 0 },
	{ "handler",	 CT_HANDLER,	F(handlers),	0, 0 },
	{ "handler_jobs", CT_UINT,	F(handler_jobs), 1, 64 },
	{ "handler_timeout", CT_DURATION, F(handler_timeout), 100, 3600000 },
	{ "handshake_timeout", CT_DURATION, F(handshake_timeout), 100, 60000 },
	{ "hub",	 CT_BOOL,	F(hub),		0, 0 },
	{ "intro_quota", CT_UINT,	F(intro_quota),	16, 4096 },
	{ "key_grace",	 CT_DURATION,	F(key_grace),	1000, 86400000 },
	{ "key_retired_keep", CT_DURATION, F(key_retired_keep), 0,
	    UINT64_C(31536000000) },
	{ "kv_group",	 CT_GROUP_ONE,	F(kv_group),	0, 0 },
	{ "kv_max_bytes", CT_SIZE,	F(kv_max_bytes), 1u << 20,
	    UINT64_C(1) << 40 },
	{ "kv_replicas", CT_UINT,	F(kv_replicas),	1, 7 },
	{ "kv_sync_interval", CT_DURATION, F(kv_sync_interval), 100, 3600000 },
	{ "kv_tombstone_ttl", CT_DURATION, F(kv_tombstone_ttl), 1000,
	    UINT64_C(31536000000) },
	/* At most max_message too: config_finish. */
	{ "kv_value_max", CT_SIZE,	F(kv_value_max), 1u << 10, 1u << 30 },
	{ "listen",	 CT_LISTEN,	F(listen),	0, 0 },
	{ "log_level",	 CT_LOGLEVEL,	F(log_level),	0, 0 },
	{ "max_clients", CT_UINT,	F(max_clients),	1, 65536 },
	{ "max_clients_per_user", CT_UINT, F(max_clients_per_user), 1, 65536 },
	{ "max_handshakes", CT_UINT,	F(max_handshakes), 1, 65536 },
	{ "max_handshakes_per_address", CT_UINT,
	    F(max_handshakes_per_address), 1, 65536 },
	/* A full digest (4096 members) must fit in one message. */
	{ "max_message", CT_SIZE,	F(max_message),	256u << 10, 1u << 30 },
	{ "member_expire", CT_DURATION,	F(member_expire), 1000, 604800000 },
	{ "members_settle", CT_DURATION, F(members_settle), 10000, 86400000 },
	{ "members_soft", CT_UINT,	F(members_soft), 256, 4096 },
	{ "metrics_listen", CT_ADDR,	F(metrics_listen), 0, 0 },
	{ "name",	 CT_NAME,	F(name),	0, 0 },
	{ "new_members_burst", CT_UINT,	F(new_members_burst), 1, 4096 },
	{ "new_members_rate", CT_RATE,	F(new_members_rate), 1000, 100000000 },
	{ "origin_auth", CT_ORIGIN_AUTH, F(origin_auth_required), 0, 0 },
	{ "ping_interval", CT_DURATION,	F(ping_interval), 50, 60000 },
	{ "service",	 CT_SERVICE,	F(services),	0, 0 },
	{ "service_dir", CT_PATH,	F(service_dir),	0, 0 },
	{ "socket",	 CT_PATH,	F(socket_path),	0, 0 },
	{ "socket_group", CT_UNIX_GROUP, F(socket_group), 0, 0 },
	{ "state_dir",	 CT_PATH,	F(state_dir),	0, 0 },
	{ "probe_timeout", CT_DURATION,	F(probe_timeout), 50, 60000 },
	{ "suspect_timeout", CT_DURATION, F(suspect_timeout), 100, 600000 },
	{ "tag",	 CT_TAG,	F(tags),	0, 0 },
#undef F
};
#define NKEYS	(sizeof(config_keys) / sizeof(config_keys[0]))
_Static_assert(NKEYS <= sizeof(((struct config *)0)->set_on) /
    sizeof(int), "struct config's set_on has a slot per key");

void
config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->log_level = LOG_LEVEL_INFO;
	c->max_message = 16u << 20;
	c->max_clients = 1024;
	c->max_clients_per_user = 64;
	c->admin_clients = 16;
	c->control_frame_timeout = 30000;
	c->control_input_max = 64u << 20;
	c->socket_gid = c->admin_gid = GID_NONE;
	c->ping_interval = 1000;
	c->dead_after = 3000;
	c->handshake_timeout = 5000;
	c->max_handshakes = 256;
	c->max_handshakes_per_address = 8;
	c->degree_min = 4;
	c->degree_max = 8;
	c->gossip_interval = 1000;
	c->suspect_timeout = 1000;
	c->probe_timeout = 300;
	c->claim_rate = 2000;
	c->claim_probe_gap = 5000;
	c->member_expire = 3600000;
	c->key_retired_keep = UINT64_C(7) * 24 * 3600000;
	c->discovery = true;
	c->call_dial = true;
	c->discovery_port = 7654;
	c->beacon_interval = 2000;
	c->handler_jobs = 4;
	c->handler_timeout = 30000;
	c->kv_replicas = 3;
	c->kv_tombstone_ttl = 24 * 3600000;
	c->kv_value_max = 1u << 20;
	c->new_members_rate = 50000;
	c->new_members_burst = 1024;
	c->members_soft = 3072;
	c->intro_quota = 512;
	c->members_settle = 600000;
	c->gossip_rate = 64u << 10;
	c->gossip_burst = 1u << 20;
	c->dial_rate = 20000;
	c->dial_burst = 40;
	c->dial_rate_per_host = 5000;
	c->dial_rate_per_address = 200;
	c->kv_max_bytes = UINT64_C(1) << 30;
	c->kv_sync_interval = 10000;
	c->key_grace = 600000;
}

static void
clear_services(struct config *c)
{
	int	i;

	for (i = 0; i < c->nservices; i++) {
		free(c->services[i].rule);
		free(c->services[i].file);
	}
	free(c->services);
	c->services = NULL;
	c->nservices = 0;
}

static void
clear_handlers(struct config *c)
{
	int	i;

	for (i = 0; i < c->nhandlers; i++) {
		free(c->handlers[i].text);
		free(c->handlers[i].file);
	}
	free(c->handlers);
	c->handlers = NULL;
	c->nhandlers = 0;
}

void
config_free(struct config *c)
{
	clear_services(c);
	clear_handlers(c);
}

/* Keeps an access rule and where it was set (file NULL: command line). */
static int
add_service(struct config *c, const char *value, const char *file, int line,
    char *err, size_t errlen)
{
	struct config_service	*s, *more;

	if (*value == '\0' || strlen(value) > CONFIG_RULE_MAX) {
		snprintf(err, errlen, "service: a rule is 1-%d bytes",
		    CONFIG_RULE_MAX);
		return -1;
	}
	if (c->nservices == CONFIG_SERVICES_MAX) {
		snprintf(err, errlen, "service: more than %d rules",
		    CONFIG_SERVICES_MAX);
		return -1;
	}
	/* Grows by doubling: the rules of one file come one at a time. */
	if ((c->nservices & (c->nservices - 1)) == 0) {
		if ((more = reallocarray(c->services, c->nservices == 0 ? 1 :
		    (size_t)c->nservices * 2, sizeof(*more))) == NULL)
			goto oom;
		c->services = more;
	}
	s = &c->services[c->nservices];
	s->line = line;
	s->file = NULL;
	if ((s->rule = strdup(value)) == NULL ||
	    (file != NULL && (s->file = strdup(file)) == NULL)) {
		free(s->rule);
		goto oom;
	}
	c->nservices++;
	return 0;
oom:
	snprintf(err, errlen, "service: %s", strerror(errno));
	return -1;
}

/* Keeps an event handler and where it was set (file NULL: command line). */
static int
add_handler(struct config *c, const char *value, const char *file, int line,
    char *err, size_t errlen)
{
	struct config_handler	*h, *more;

	if (*value == '\0' || strlen(value) > CONFIG_RULE_MAX) {
		snprintf(err, errlen, "handler: a handler is 1-%d bytes",
		    CONFIG_RULE_MAX);
		return -1;
	}
	if (c->nhandlers == CONFIG_HANDLERS_MAX) {
		snprintf(err, errlen, "handler: more than %d handlers",
		    CONFIG_HANDLERS_MAX);
		return -1;
	}
	if ((c->nhandlers & (c->nhandlers - 1)) == 0) {
		if ((more = reallocarray(c->handlers, c->nhandlers == 0 ? 1 :
		    (size_t)c->nhandlers * 2, sizeof(*more))) == NULL)
			goto oom;
		c->handlers = more;
	}
	h = &c->handlers[c->nhandlers];
	h->line = line;
	h->file = NULL;
	if ((h->text = strdup(value)) == NULL ||
	    (file != NULL && (h->file = strdup(file)) == NULL)) {
		free(h->text);
		goto oom;
	}
	c->nhandlers++;
	return 0;
oom:
	snprintf(err, errlen, "handler: %s", strerror(errno));
	return -1;
}

/* A tag, "KEY=VALUE"; a key given twice is a mistake, not an update. */
static int
add_tag(struct config *c, const char *value, char *err, size_t errlen)
{
	char		 buf[TAG_KEY_MAX + TAG_VALUE_MAX + 2];
	const char	*key, *val, *why;

	if (strlen(value) >= sizeof(buf)) {
		snprintf(err, errlen, "tag: \"%.40s...\" is longer than a key "
		    "(%d bytes), '=' and a value (%d bytes)", value,
		    TAG_KEY_MAX, TAG_VALUE_MAX);
		return -1;
	}
	if (tag_split(strcpy(buf, value), &key, &val) == -1) {
		snprintf(err, errlen, "tag: \"%s\" is not KEY=VALUE", value);
		return -1;
	}
	if (tagset_get(&c->tags, key) != NULL) {
		snprintf(err, errlen, "tag: %s given twice", key);
		return -1;
	}
	if (tagset_set(&c->tags, key, val, &why) == -1) {
		snprintf(err, errlen, "tag: \"%.80s\": %s", value, why);
		return -1;
	}
	return 0;
}

/* An admin's node ID: 52 base32 characters of 32 bytes. */
static int
add_node_id(struct config *c, const struct config_key *k, const char *value,
    char *err, size_t errlen)
{
	uint8_t	id[32];
	int	i;

	if (strlen(value) != CONFIG_NODE_ID_STRLEN - 1 ||
	    !base32_decode(value, id, sizeof(id))) {
		snprintf(err, errlen, "%s: \"%.60s\" is not a node ID (52 "
		    "base32 characters)", k->name, value);
		return -1;
	}
	for (i = 0; i < c->nadmins; i++)
		if (strcasecmp(c->admins[i], value) == 0)
			return 0;
	if (c->nadmins == CONFIG_ADMINS_MAX) {
		snprintf(err, errlen, "%s: more than %d node IDs", k->name,
		    CONFIG_ADMINS_MAX);
		return -1;
	}
	snprintf(c->admins[c->nadmins++], CONFIG_NODE_ID_STRLEN, "%s", value);
	return 0;
}

static const struct config_key *
config_key_find(const char *name)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

bool
group_name_valid(const char *s, size_t n)
{
	return name_valid(s, n, GROUP_NAME_MAX);
}

bool
node_name_valid(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > NODE_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

static int
parse_uint(const char *s, bool size_suffix, uint64_t *v)
{
	char			*end;
	unsigned long long	 n;
	unsigned		 shift = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (size_suffix && *end != '\0' && end[1] == '\0') {
		switch (*end) {
		case 'K': case 'k': shift = 10; break;
		case 'M': case 'm': shift = 20; break;
		case 'G': case 'g': shift = 30; break;
		default: return -1;
		}
		end++;
	}
	if (*end != '\0' || n > (UINT64_MAX >> shift))
		return -1;
	*v = (uint64_t)n << shift;
	return 0;
}

/* A decimal number, at most three decimals, in thousandths: 0.2 is 200. */
static int
parse_rate(const char *s, uint64_t *v)
{
	const char	*dot = strchr(s, '.');
	char		 whole[24];
	uint64_t	 w, frac = 0;
	int		 i;

	if (dot == NULL)
		dot = s + strlen(s);
	if (dot == s || (size_t)(dot - s) >= sizeof(whole))
		return -1;
	memcpy(whole, s, (size_t)(dot - s));
	whole[dot - s] = '\0';
	if (parse_uint(whole, false, &w) == -1 || w > UINT64_MAX / 1000)
		return -1;
	if (*dot == '.') {
		for (i = 1; i <= 3 && isdigit((unsigned char)dot[i]); i++)
			frac = frac * 10 + (uint64_t)(dot[i] - '0');
		if (i == 1 || dot[i] != '\0')
			return -1;
		for (; i <= 3; i++)
			frac *= 10;
	}
	*v = w * 1000 + frac;
	return 0;
}

/* A HOST:PORT others can dial (bootstrap, advertise): no port 0. */
static int
check_dialable(const struct config_key *k, const char *value, char *err,
    size_t errlen)
{
	char		why[128], host[HOST_MAX];
	uint16_t	port;

	if (addr_split(value, host, &port, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", k->name, why);
		return -1;
	}
	if (port == 0) {
		snprintf(err, errlen, "%s: \"%s\": port 0", k->name, value);
		return -1;
	}
	return 0;
}

/*
 * Stores value for key k, set on file:line (NULL: the command line); -1
 * with err (without position) if bad.
 */
static int
config_set(struct config *c, const struct config_key *k, const char *value,
    const char *file, int line, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			*field = (char *)c + k->off;
	char			 why[128];
	enum log_level		 l;
	uint64_t		 v;

	switch (k->type) {
	case CT_NAME:
		if (!node_name_valid(value, strlen(value))) {
			snprintf(err, errlen, "%s: \"%s\" is not a name of 1-%d "
			    "letters, digits, '-', '_' or '.'", k->name, value,
			    NODE_NAME_MAX);
			return -1;
		}
		snprintf(field, k->size, "%s", value);
		return 0;
	case CT_UNIX_GROUP:
		/* config_finish resolves it, so peerd -n checks it too. */
		if (*value == '\0' || strlen(value) >= k->size) {
			snprintf(err, errlen, "%s: group must be 1-%zu bytes",
			    k->name, k->size - 1);
			return -1;
		}
		snprintf(field, k->size, "%s", value);
		return 0;
	case CT_PATH:
		if (*value == '\0' || strlen(value) >= k->size) {
			snprintf(err, errlen, "%s: path must be 1-%zu bytes",
			    k->name, k->size - 1);
			return -1;
		}
		snprintf(field, k->size, "%s", value);
		return 0;
	case CT_LISTEN:
		if (addr_parse(value, &ss, &sslen, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s: %s", k->name, why);
			return -1;
		}
		if (c->nlisten == CONFIG_LISTEN_MAX) {
			snprintf(err, errlen, "%s: more than %d addresses",
			    k->name, CONFIG_LISTEN_MAX);
			return -1;
		}
		snprintf(c->listen[c->nlisten++], ADDR_STRLEN, "%s", value);
		return 0;
	case CT_ADDR:
		if (strlen(value) >= k->size) {
			snprintf(err, errlen, "%s: address longer than %zu "
			    "bytes", k->name, k->size - 1);
			return -1;
		}
		if (addr_parse(value, &ss, &sslen, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s: %s", k->name, why);
			return -1;
		}
		snprintf(field, k->size, "%s", value);
		return 0;
	case CT_LOGLEVEL:
		if (!log_level_parse(value, &l)) {
			snprintf(err, errlen, "%s: \"%s\" is not one of error, "
			    "warn, info, debug", k->name, value);
			return -1;
		}
		c->log_level = l;
		return 0;
	case CT_PEER:
		if (check_dialable(k, value, err, errlen) == -1)
			return -1;
		if (c->nbootstrap == CONFIG_BOOTSTRAP_MAX) {
			snprintf(err, errlen, "%s: more than %d peers", k->name,
			    CONFIG_BOOTSTRAP_MAX);
			return -1;
		}
		snprintf(c->bootstrap[c->nbootstrap++], sizeof(c->bootstrap[0]),
		    "%s", value);
		return 0;
	case CT_ADVERTISE:
		if (check_dialable(k, value, err, errlen) == -1)
			return -1;
		/* It goes into our record, whose addresses are this long. */
		if (strlen(value) >= ADDR_STRLEN) {
			snprintf(err, errlen, "%s: address longer than %d bytes",
			    k->name, ADDR_STRLEN - 1);
			return -1;
		}
		if (c->nadvertise == CONFIG_ADVERTISE_MAX) {
			snprintf(err, errlen, "%s: more than %d addresses",
			    k->name, CONFIG_ADVERTISE_MAX);
			return -1;
		}
		snprintf(c->advertise[c->nadvertise++], ADDR_STRLEN, "%s",
		    value);
		return 0;
	case CT_BOOL:
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 ||
		    strcmp(value, "on") == 0)
			*(bool *)(void *)field = true;
		else if (strcmp(value, "no") == 0 ||
		    strcmp(value, "false") == 0 || strcmp(value, "off") == 0)
			*(bool *)(void *)field = false;
		else {
			snprintf(err, errlen, "%s: \"%s\" is not yes or no",
			    k->name, value);
			return -1;
		}
		return 0;
	case CT_ORIGIN_AUTH:
		if (strcmp(value, "auto") == 0)
			*(bool *)(void *)field = false;
		else if (strcmp(value, "required") == 0)
			*(bool *)(void *)field = true;
		else {
			snprintf(err, errlen, "%s: \"%s\" is not auto or "
			    "required", k->name, value);
			return -1;
		}
		return 0;
	case CT_GROUP:
		if (!group_name_valid(value, strlen(value))) {
			snprintf(err, errlen, "%s: \"%s\" is not a name of 1-%d "
			    "lowercase letters, digits, '-', '_' or '.'",
			    k->name, value, GROUP_NAME_MAX);
			return -1;
		}
		if (c->ngroups == CONFIG_GROUPS_MAX) {
			snprintf(err, errlen, "%s: more than %d groups",
			    k->name, CONFIG_GROUPS_MAX);
			return -1;
		}
		snprintf(c->groups[c->ngroups++], GROUP_NAME_MAX + 1, "%s",
		    value);
		return 0;
	case CT_GROUP_ONE:
		if (*value != '\0' && !group_name_valid(value, strlen(value))) {
			snprintf(err, errlen, "%s: \"%s\" is not empty or a name "
			    "of 1-%d lowercase letters, digits, '-', '_' or '.'",
			    k->name, value, GROUP_NAME_MAX);
			return -1;
		}
		snprintf(field, k->size, "%s", value);
		return 0;
	case CT_IFACE:
		if (*value == '\0' || strlen(value) >= IFACE_NAME_MAX ||
		    strchr(value, '/') != NULL) {
			snprintf(err, errlen, "%s: \"%s\" is not an interface "
			    "name", k->name, value);
			return -1;
		}
		if (c->ndiscovery_ifaces == CONFIG_IFACES_MAX) {
			snprintf(err, errlen, "%s: more than %d interfaces",
			    k->name, CONFIG_IFACES_MAX);
			return -1;
		}
		snprintf(c->discovery_ifaces[c->ndiscovery_ifaces++],
		    IFACE_NAME_MAX, "%s", value);
		return 0;
	case CT_SERVICE:
		return add_service(c, value, file, line, err, errlen);
	case CT_HANDLER:
		return add_handler(c, value, file, line, err, errlen);
	case CT_TAG:
		return add_tag(c, value, err, errlen);
	case CT_NODE_ID:
		return add_node_id(c, k, value, err, errlen);
	case CT_DURATION:
		if (duration_parse(value, &v) == -1) {
			snprintf(err, errlen, "%s: \"%s\" is not a duration "
			    "(ms, or with an ms, s, m or h suffix)", k->name,
			    value);
			return -1;
		}
		if (v < k->min || v > k->max) {
			snprintf(err, errlen, "%s: %s out of range (%" PRIu64
			    "-%" PRIu64 " ms)", k->name, value, k->min, k->max);
			return -1;
		}
		memcpy(field, &v, sizeof(v));
		return 0;
	case CT_RATE:
		if (parse_rate(value, &v) == -1) {
			snprintf(err, errlen, "%s: \"%s\" is not a number a "
			    "second (at most three decimals)", k->name, value);
			return -1;
		}
		if (v < k->min || v > k->max) {
			snprintf(err, errlen, "%s: %s out of range (%" PRIu64
			    ".%03" PRIu64 "-%" PRIu64 ".%03" PRIu64 ")", k->name,
			    value, k->min / 1000, k->min % 1000, k->max / 1000,
			    k->max % 1000);
			return -1;
		}
		memcpy(field, &v, sizeof(v));
		return 0;
	case CT_SIZE:
	case CT_UINT:
		if (parse_uint(value, k->type == CT_SIZE, &v) == -1) {
			snprintf(err, errlen, "%s: \"%s\" is not %s", k->name,
			    value, k->type == CT_SIZE ? "a size (bytes, or with "
			    "K, M or G)" : "a whole number");
			return -1;
		}
		if (v < k->min || v > k->max) {
			snprintf(err, errlen, "%s: %s out of range (%" PRIu64
			    "-%" PRIu64 ")", k->name, value, k->min, k->max);
			return -1;
		}
		memcpy(field, &v, sizeof(v));
		return 0;
	}
	return -1;
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * Parses one line of path; -1 with err (without position) if it is bad.
 * A file of service_dir (rules_only) holds only access rules.
 */
static int
config_line(struct config *c, char *line, const char *path, int lineno,
    bool rules_only, char *err, size_t errlen)
{
	const struct config_key	*k;
	char			*eq, *key, *value;
	size_t			 idx;

	line = trim(line);
	if (*line == '\0' || *line == '#')
		return 0;
	if ((eq = strchr(line, '=')) == NULL) {
		snprintf(err, errlen, "expected key = value");
		return -1;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	/* A value may be quoted to keep its spaces or a '#'. */
	if (value[0] == '"') {
		if ((eq = strchr(value + 1, '"')) == NULL) {
			snprintf(err, errlen, "%s: no closing quote", key);
			return -1;
		}
		*eq++ = '\0';
		value++;
		eq = trim(eq);
		if (*eq != '\0' && *eq != '#') {
			snprintf(err, errlen, "%s: text after the closing quote",
			    key);
			return -1;
		}
	} else if ((eq = strchr(value, '#')) != NULL) {
		*eq = '\0';
		value = trim(value);
	}
	if ((k = config_key_find(key)) == NULL) {
		snprintf(err, errlen, "%s: unknown key", key);
		return -1;
	}
	if (rules_only && k->type != CT_SERVICE) {
		snprintf(err, errlen, "%s: a service_dir file holds only "
		    "service lines", key);
		return -1;
	}
	idx = (size_t)(k - config_keys);
	if (k->type != CT_LISTEN && k->type != CT_PEER &&
	    k->type != CT_ADVERTISE && k->type != CT_GROUP &&
	    k->type != CT_IFACE && k->type != CT_SERVICE &&
	    k->type != CT_HANDLER && k->type != CT_TAG &&
	    k->type != CT_NODE_ID && c->set_on[idx] != 0) {
		snprintf(err, errlen, "%s: already set on line %d", key,
		    c->set_on[idx]);
		return -1;
	}
	c->set_on[idx] = lineno;
	return config_set(c, k, value, path, lineno, err, errlen);
}

static int
load_file(struct config *c, const char *path, bool rules_only, char *err,
    size_t errlen)
{
	FILE	*f;
	char	*line = NULL, why[256];
	size_t	 cap = 0;
	ssize_t	 n;
	int	 lineno = 0, rc = 0;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		if (memchr(line, '\0', (size_t)n) != NULL) {
			snprintf(err, errlen, "%s:%d: NUL byte in line", path,
			    lineno);
			rc = -1;
			break;
		}
		if (config_line(c, line, path, lineno, rules_only, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	return load_file(c, path, false, err, errlen);
}

/* service_dir's default: services.d beside the config file, read or not. */
static int
default_service_dir(struct config *c, const char *path, char *err,
    size_t errlen)
{
	const char	*slash = strrchr(path, '/');
	int		 n;

	if (slash == NULL)
		n = snprintf(c->service_dir, sizeof(c->service_dir),
		    "services.d");
	else
		n = snprintf(c->service_dir, sizeof(c->service_dir),
		    "%.*s/services.d", (int)(slash - path), path);
	if (n < 0 || (size_t)n >= sizeof(c->service_dir)) {
		snprintf(err, errlen, "%s: path too long for service_dir",
		    path);
		return -1;
	}
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether a directory entry is a rule file: "*.conf", not hidden. */
static bool
rule_file(const char *name)
{
	size_t	n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".conf") == 0;
}

#define SERVICE_FILES_MAX	4096

int
config_load_services(struct config *c, const char *config_path, char *err,
    size_t errlen)
{
	DIR		 *dir;
	struct dirent	 *de;
	char		**names = NULL, **more, path[PATH_MAX];
	size_t		  n = 0, cap = 0, i;
	int		  rc = -1, len;
	bool		  given = c->service_dir[0] != '\0';

	if (!given && default_service_dir(c, config_path, err, errlen) == -1)
		return -1;
	if ((dir = opendir(c->service_dir)) == NULL) {
		/* A default directory may be missing; a named one not. */
		if (errno == ENOENT && !given)
			return 0;
		snprintf(err, errlen, "%s: %s", c->service_dir,
		    strerror(errno));
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(dir)) == NULL) {
			if (errno != 0) {
				snprintf(err, errlen, "%s: %s", c->service_dir,
				    strerror(errno));
				goto out;
			}
			break;
		}
		if (!rule_file(de->d_name))
			continue;
		if (n == SERVICE_FILES_MAX) {
			snprintf(err, errlen, "%s: more than %d files",
			    c->service_dir, SERVICE_FILES_MAX);
			goto out;
		}
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((more = reallocarray(names, cap,
			    sizeof(*names))) == NULL)
				goto oom;
			names = more;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto oom;
		n++;
	}
	/* Byte order, whatever the locale: 10-a.conf before 20-b.conf. */
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		len = snprintf(path, sizeof(path), "%s/%s", c->service_dir,
		    names[i]);
		if (len < 0 || (size_t)len >= sizeof(path)) {
			snprintf(err, errlen, "%s/%s: path too long",
			    c->service_dir, names[i]);
			goto out;
		}
		if (load_file(c, path, true, err, errlen) == -1)
			goto out;
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "%s: %s", c->service_dir, strerror(errno));
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(dir);
	return rc;
}

int
config_override(struct config *c, const char *key, const char *value,
    char *err, size_t errlen)
{
	const struct config_key	*k;
	size_t			 idx;

	if ((k = config_key_find(key)) == NULL) {
		snprintf(err, errlen, "%s: unknown key", key);
		return -1;
	}
	idx = (size_t)(k - config_keys);
	/* -1 marks "set by the command line": later overrides append. */
	if (k->type == CT_LISTEN && c->set_on[idx] != -1)
		c->nlisten = 0;
	if (k->type == CT_PEER && c->set_on[idx] != -1)
		c->nbootstrap = 0;
	if (k->type == CT_ADVERTISE && c->set_on[idx] != -1)
		c->nadvertise = 0;
	if (k->type == CT_GROUP && c->set_on[idx] != -1)
		c->ngroups = 0;
	if (k->type == CT_IFACE && c->set_on[idx] != -1)
		c->ndiscovery_ifaces = 0;
	if (k->type == CT_SERVICE && c->set_on[idx] != -1)
		clear_services(c);
	if (k->type == CT_HANDLER && c->set_on[idx] != -1)
		clear_handlers(c);
	if (k->type == CT_TAG && c->set_on[idx] != -1)
		tagset_clear(&c->tags);
	if (k->type == CT_NODE_ID && c->set_on[idx] != -1)
		c->nadmins = 0;
	c->set_on[idx] = -1;
	return config_set(c, k, value, NULL, 0, err, errlen);
}

/* The default node name: the host name, cut to what names allow. */
static void
default_name(char *buf, size_t len)
{
	char	host[256];
	size_t	i;

	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';	/* short host name */
	for (i = 0; host[i] != '\0'; i++)
		if (!isalnum((unsigned char)host[i]) && host[i] != '-' &&
		    host[i] != '_')
			host[i] = '-';
	if (host[0] == '\0')
		snprintf(host, sizeof(host), "peerd");
	snprintf(buf, len, "%.*s", NODE_NAME_MAX, host);
}

/* $VAR/suffix, if VAR is set to an absolute path and the result fits. */
static bool
env_path(char *buf, size_t len, const char *var, const char *suffix)
{
	const char	*v = getenv(var);
	int		 n;

	if (v == NULL || *v != '/')
		return false;
	n = snprintf(buf, len, "%s%s", v, suffix);
	return n > 0 && (size_t)n < len;
}

/* The gid of a group given by name or number; -1 with err if none. */
static int
resolve_group(const char *key, const char *name, gid_t *gid, char *err,
    size_t errlen)
{
	struct group	*gr;
	uint64_t	 v;

	*gid = GID_NONE;
	if (name[0] == '\0')
		return 0;
	if ((gr = getgrnam(name)) != NULL) {
		*gid = gr->gr_gid;
		return 0;
	}
	if (parse_uint(name, false, &v) == 0 && v < GID_NONE) {
		*gid = (gid_t)v;
		return 0;
	}
	snprintf(err, errlen, "%s: no such group %s", key, name);
	return -1;
}

int
config_finish(struct config *c, char *err, size_t errlen)
{
	bool	root = geteuid() == 0;

	if (resolve_group("socket_group", c->socket_group, &c->socket_gid,
	    err, errlen) == -1 ||
	    resolve_group("admin_group", c->admin_group, &c->admin_gid, err,
	    errlen) == -1)
		return -1;

	if (c->degree_max < c->degree_min) {
		snprintf(err, errlen, "degree_max (%" PRIu64 ") is below "
		    "degree_min (%" PRIu64 ")", c->degree_max, c->degree_min);
		return -1;
	}
	if (c->intro_quota > c->members_soft) {
		snprintf(err, errlen, "intro_quota (%" PRIu64 ") is above "
		    "members_soft (%" PRIu64 ")", c->intro_quota,
		    c->members_soft);
		return -1;
	}
	if (c->dead_after <= c->ping_interval) {
		snprintf(err, errlen, "dead_after (%" PRIu64 " ms) must be "
		    "longer than ping_interval (%" PRIu64 " ms)", c->dead_after,
		    c->ping_interval);
		return -1;
	}
	/*
	 * A value travels in one message, with its key and the message
	 * around it: the default gives way to a smaller max_message, a
	 * value set for kv_value_max does not.
	 */
	if (c->kv_value_max > c->max_message - KV_VALUE_ROOM) {
		if (c->set_on[config_key_find("kv_value_max") -
		    config_keys] == 0)
			c->kv_value_max = c->max_message - KV_VALUE_ROOM;
		else {
			snprintf(err, errlen, "kv_value_max (%" PRIu64 ") is "
			    "above max_message less %d (%" PRIu64 ")",
			    c->kv_value_max, KV_VALUE_ROOM,
			    c->max_message - KV_VALUE_ROOM);
			return -1;
		}
	}
	if (c->name[0] == '\0')
		default_name(c->name, sizeof(c->name));
	if (c->nlisten == 0) {
		snprintf(c->listen[0], ADDR_STRLEN, "0.0.0.0:%d",
		    CONFIG_PORT_DEFAULT);
		snprintf(c->listen[1], ADDR_STRLEN, "[::]:%d",
		    CONFIG_PORT_DEFAULT);
		c->nlisten = 2;
	}
	/* systemd's RuntimeDirectory= and StateDirectory= come first. */
	if (c->socket_path[0] == '\0' &&
	    !env_path(c->socket_path, sizeof(c->socket_path),
	    "RUNTIME_DIRECTORY", "/peerd.sock")) {
		if (root)
			snprintf(c->socket_path, sizeof(c->socket_path),
			    "/run/peerd/peerd.sock");
		else if (!env_path(c->socket_path, sizeof(c->socket_path),
		    "XDG_RUNTIME_DIR", "/peerd.sock")) {
			snprintf(err, errlen, "no socket path: XDG_RUNTIME_DIR "
			    "is not set; use -S or the socket key");
			return -1;
		}
	}
	if (c->state_dir[0] == '\0' &&
	    !env_path(c->state_dir, sizeof(c->state_dir), "STATE_DIRECTORY",
	    "")) {
		if (root)
			snprintf(c->state_dir, sizeof(c->state_dir),
			    "/var/lib/peerd");
		else if (!env_path(c->state_dir, sizeof(c->state_dir),
		    "XDG_STATE_HOME", "/peerd") &&
		    !env_path(c->state_dir, sizeof(c->state_dir), "HOME",
		    "/.local/state/peerd")) {
			snprintf(err, errlen, "no state directory: neither "
			    "XDG_STATE_HOME nor HOME is set; use --state-dir");
			return -1;
		}
	}
	return 0;
}

/* Quoted when the parser would otherwise cut or trim the value. */
static void
dump_tags(const struct config *c, FILE *f)
{
	const char	*k, *v;
	size_t		 off = 0, n;
	bool		 quote;

	while (tagset_next(&c->tags, &off, &k, &v)) {
		n = strlen(v);
		quote = strchr(v, '#') != NULL || (n > 0 && v[n - 1] == ' ');
		fprintf(f, quote ? "tag = \"%s=%s\"\n" : "tag = %s=%s\n", k, v);
	}
}

static void
dump_rate(FILE *f, const char *key, uint64_t v)
{
	fprintf(f, "%s = %" PRIu64 ".%03" PRIu64 "\n", key, v / 1000,
	    v % 1000);
}

void
config_dump(const struct config *c, FILE *f)
{
	int	i;

	fprintf(f, "name = %s\n", c->name);
	for (i = 0; i < c->nlisten; i++)
		fprintf(f, "listen = %s\n", c->listen[i]);
	for (i = 0; i < c->nadvertise; i++)
		fprintf(f, "advertise = %s\n", c->advertise[i]);
	fprintf(f, "socket = %s\n", c->socket_path);
	fprintf(f, "state_dir = %s\n", c->state_dir);
	fprintf(f, "log_level = %s\n", log_level_name(c->log_level));
	fprintf(f, "max_message = %" PRIu64 "\n", c->max_message);
	fprintf(f, "max_clients = %" PRIu64 "\n", c->max_clients);
	fprintf(f, "max_clients_per_user = %" PRIu64 "\n",
	    c->max_clients_per_user);
	fprintf(f, "admin_clients = %" PRIu64 "\n", c->admin_clients);
	if (c->socket_group[0] != '\0')
		fprintf(f, "socket_group = %s\n", c->socket_group);
	if (c->admin_group[0] != '\0')
		fprintf(f, "admin_group = %s\n", c->admin_group);
	fprintf(f, "control_frame_timeout = %" PRIu64 "ms\n",
	    c->control_frame_timeout);
	fprintf(f, "control_input_max = %" PRIu64 "\n", c->control_input_max);
	for (i = 0; i < c->nbootstrap; i++)
		fprintf(f, "bootstrap = %s\n", c->bootstrap[i]);
	fprintf(f, "ping_interval = %" PRIu64 "ms\n", c->ping_interval);
	fprintf(f, "dead_after = %" PRIu64 "ms\n", c->dead_after);
	fprintf(f, "handshake_timeout = %" PRIu64 "ms\n",
	    c->handshake_timeout);
	fprintf(f, "max_handshakes = %" PRIu64 "\n", c->max_handshakes);
	fprintf(f, "max_handshakes_per_address = %" PRIu64 "\n",
	    c->max_handshakes_per_address);
	for (i = 0; i < c->ngroups; i++)
		fprintf(f, "group = %s\n", c->groups[i]);
	fprintf(f, "hub = %s\n", c->hub ? "yes" : "no");
	fprintf(f, "call_dial = %s\n", c->call_dial ? "yes" : "no");
	fprintf(f, "origin_auth = %s\n", c->origin_auth_required ?
	    "required" : "auto");
	fprintf(f, "degree_min = %" PRIu64 "\n", c->degree_min);
	fprintf(f, "degree_max = %" PRIu64 "\n", c->degree_max);
	fprintf(f, "gossip_interval = %" PRIu64 "ms\n", c->gossip_interval);
	fprintf(f, "probe_timeout = %" PRIu64 "ms\n", c->probe_timeout);
	fprintf(f, "suspect_timeout = %" PRIu64 "ms\n", c->suspect_timeout);
	fprintf(f, "claim_rate = %" PRIu64 ".%03" PRIu64 "\n",
	    c->claim_rate / 1000, c->claim_rate % 1000);
	fprintf(f, "claim_probe_gap = %" PRIu64 "ms\n", c->claim_probe_gap);
	fprintf(f, "member_expire = %" PRIu64 "ms\n", c->member_expire);
	dump_rate(f, "new_members_rate", c->new_members_rate);
	fprintf(f, "new_members_burst = %" PRIu64 "\n", c->new_members_burst);
	fprintf(f, "members_soft = %" PRIu64 "\n", c->members_soft);
	fprintf(f, "intro_quota = %" PRIu64 "\n", c->intro_quota);
	fprintf(f, "members_settle = %" PRIu64 "ms\n", c->members_settle);
	fprintf(f, "gossip_rate = %" PRIu64 "\n", c->gossip_rate);
	fprintf(f, "gossip_burst = %" PRIu64 "\n", c->gossip_burst);
	dump_rate(f, "dial_rate", c->dial_rate);
	fprintf(f, "dial_burst = %" PRIu64 "\n", c->dial_burst);
	dump_rate(f, "dial_rate_per_host", c->dial_rate_per_host);
	dump_rate(f, "dial_rate_per_address", c->dial_rate_per_address);
	fprintf(f, "key_retired_keep = %" PRIu64 "ms\n", c->key_retired_keep);
	fprintf(f, "discovery = %s\n", c->discovery ? "yes" : "no");
	fprintf(f, "discovery_port = %" PRIu64 "\n", c->discovery_port);
	for (i = 0; i < c->ndiscovery_ifaces; i++)
		fprintf(f, "discovery_interface = %s\n",
		    c->discovery_ifaces[i]);
	fprintf(f, "beacon_interval = %" PRIu64 "ms\n", c->beacon_interval);
	if (c->service_dir[0] != '\0')
		fprintf(f, "service_dir = %s\n", c->service_dir);
	if (c->metrics_listen[0] != '\0')
		fprintf(f, "metrics_listen = %s\n", c->metrics_listen);
	dump_tags(c, f);
	/* Where each came from: a rule is named by it in denials. */
	for (i = 0; i < c->nservices; i++) {
		if (c->services[i].file != NULL)
			fprintf(f, "service = %s\t# %s:%d\n",
			    c->services[i].rule, c->services[i].file,
			    c->services[i].line);
		else
			fprintf(f, "service = %s\t# command line\n",
			    c->services[i].rule);
	}
	fprintf(f, "kv_replicas = %" PRIu64 "\n", c->kv_replicas);
	if (c->kv_group[0] != '\0')
		fprintf(f, "kv_group = %s\n", c->kv_group);
	fprintf(f, "kv_tombstone_ttl = %" PRIu64 "ms\n", c->kv_tombstone_ttl);
	fprintf(f, "kv_value_max = %" PRIu64 "\n", c->kv_value_max);
	fprintf(f, "kv_max_bytes = %" PRIu64 "\n", c->kv_max_bytes);
	fprintf(f, "kv_sync_interval = %" PRIu64 "ms\n", c->kv_sync_interval);
	for (i = 0; i < c->nadmins; i++)
		fprintf(f, "admins = %s\n", c->admins[i]);
	fprintf(f, "key_grace = %" PRIu64 "ms\n", c->key_grace);
	fprintf(f, "handler_jobs = %" PRIu64 "\n", c->handler_jobs);
	fprintf(f, "handler_timeout = %" PRIu64 "ms\n", c->handler_timeout);
	for (i = 0; i < c->nhandlers; i++) {
		if (c->handlers[i].file != NULL)
			fprintf(f, "handler = %s\t# %s:%d\n",
			    c->handlers[i].text, c->handlers[i].file,
			    c->handlers[i].line);
		else
			fprintf(f, "handler = %s\t# command line\n",
			    c->handlers[i].text);
	}
}
