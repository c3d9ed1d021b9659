/* SPDX-License-Identifier: ISC */
/*
 * registry.c: local service registrations.  Each is a (service, group)
 * offered by one control client; the node's record lists the distinct
 * pairs, re-signed and flooded whenever the set changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "cbor_buf.h"
#include "control.h"
#include "cred.h"
#include "log.h"
#include "members.h"
#include "proto.h"
#include "record.h"
#include "registry.h"

#define REGISTRATIONS_MAX	1024	/* on one node, all clients */

struct registration {
	struct record_service	 svc;
	struct ctl_conn		*owner;
};

struct registry {
	const struct members	*members;
	struct access		*access;
	const struct registry_ops *ops;
	void			*arg;
	struct registration	*r;
	size_t			 n;
	unsigned		 turn;		/* round robin among clients */
};

struct registry *
registry_new(const struct members *members, struct access *access,
    const struct registry_ops *ops, void *arg)
{
	struct registry	*reg;

	if ((reg = calloc(1, sizeof(*reg))) == NULL ||
	    (reg->r = calloc(REGISTRATIONS_MAX, sizeof(*reg->r))) == NULL) {
		free(reg);
		log_warn("registry");
		return NULL;
	}
	reg->members = members;
	reg->access = access;
	reg->ops = ops;
	reg->arg = arg;
	return reg;
}

void
registry_free(struct registry *reg)
{
	if (reg == NULL)
		return;
	free(reg->r);
	free(reg);
}

static int
service_cmp(const void *a, const void *b)
{
	const struct record_service	*x = a, *y = b;
	int				 c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return strcmp(x->group, y->group);
}

/*
 * The distinct (service, group) pairs into out, sorted so that the
 * same set signs the same; false if there are more than a record
 * holds.
 */
static bool
distinct(const struct registry *reg, struct record_service *out, int *n)
{
	size_t	i;
	int	k;

	*n = 0;
	for (i = 0; i < reg->n; i++) {
		for (k = 0; k < *n; k++)
			if (strcmp(out[k].name, reg->r[i].svc.name) == 0 &&
			    strcmp(out[k].group, reg->r[i].svc.group) == 0)
				break;
		if (k < *n)
			continue;
		if (*n == RECORD_SERVICES_MAX)
			return false;
		out[(*n)++] = reg->r[i].svc;
	}
	qsort(out, (size_t)*n, sizeof(*out), service_cmp);
	return true;
}

/* Puts the current set in our record; false if a record cannot hold it. */
static bool
publish(struct registry *reg)
{
	struct record_service	svc[RECORD_SERVICES_MAX];
	int			n;

	if (!distinct(reg, svc, &n))
		return false;
	reg->ops->services(reg->arg, svc, n);
	return true;
}

void
registry_client_gone(struct registry *reg, struct ctl_conn *c)
{
	size_t	i = 0, before = reg->n;

	while (i < reg->n) {
		if (reg->r[i].owner == c)
			reg->r[i] = reg->r[--reg->n];
		else
			i++;
	}
	if (reg->n != before)
		(void)publish(reg);
}

/* The "service" and "group" of a request; false after replying. */
static bool
read_service(struct ctl_conn *c, const struct ctl_msg *msg,
    struct record_service *svc)
{
	/* Whole structs are compared: no stray bytes after the names. */
	memset(svc, 0, sizeof(*svc));
	if (!ctl_arg_text(c, msg, "service", svc->name, sizeof(svc->name),
	    true) || !ctl_arg_text(c, msg, "group", svc->group,
	    sizeof(svc->group), false))
		return false;
	if (!service_name_valid(svc->name, strlen(svc->name))) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "service: "
		    "not a name of 1-%d lowercase letters, digits, '-', '_' "
		    "or '.'", SERVICE_NAME_MAX);
		return false;
	}
	if (svc->group[0] != '\0' &&
	    !group_name_valid(svc->group, strlen(svc->group))) {
		ctl_reply_error(c, msg->id, PEER_INVALID_ARGUMENT, "group: "
		    "not a group name");
		return false;
	}
	return true;
}

static struct registration *
find(struct registry *reg, struct ctl_conn *c, const struct record_service *s)
{
	size_t	i;

	for (i = 0; i < reg->n; i++)
		if (reg->r[i].owner == c &&
		    strcmp(reg->r[i].svc.name, s->name) == 0 &&
		    strcmp(reg->r[i].svc.group, s->group) == 0)
			return &reg->r[i];
	return NULL;
}

static void
reply_ok(struct ctl_conn *c, uint64_t id, const struct record_service *svc)
{
	struct cbor_buf	*b = ctl_result_begin(c, id);

	cbor_put_map(b, 1);
	cbor_put_text(b, "service");
	cbor_put_text(b, svc->name);
	ctl_result_end(c);
}

static void
registry_op_register(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct registry		*reg = arg;
	struct record_service	 svc;
	const struct access_rule *rule;
	char			 why[512];

	if (!read_service(c, msg, &svc))
		return;
	if ((rule = access_local(reg->access, ACCESS_SERVE, ctl_cred(c),
	    svc.name)) != NULL) {
		snprintf(why, sizeof(why), "rule %s does not let uid %u serve "
		    "%s", access_rule_name(rule), (unsigned)ctl_cred(c)->uid,
		    svc.name);
		access_log(reg->access, "registry: %s: %s", ctl_name(c),
		    why);
		ctl_reply_error(c, msg->id, PEER_PERMISSION_DENIED, "%s", why);
		return;
	}
	if (find(reg, c, &svc) != NULL) {
		ctl_reply_error(c, msg->id, PEER_ALREADY_EXISTS, "%s is already "
		    "registered by this client", svc.name);
		return;
	}
	if (reg->n == REGISTRATIONS_MAX) {
		ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED, "%d "
		    "registrations on this node already", REGISTRATIONS_MAX);
		return;
	}
	reg->r[reg->n].svc = svc;
	reg->r[reg->n++].owner = c;
	if (!publish(reg)) {
		reg->n--;
		ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED, "a node "
		    "offers at most %d services", RECORD_SERVICES_MAX);
		return;
	}
	log_info("registry: %s%s%s offered", svc.name, svc.group[0] ?
	    " in group " : "", svc.group);
	reply_ok(c, msg->id, &svc);
}

static void
registry_op_unregister(struct ctl_conn *c, const struct ctl_msg *msg,
    void *arg)
{
	struct registry		*reg = arg;
	struct registration	*r;
	struct record_service	 svc;

	if (!read_service(c, msg, &svc))
		return;
	if ((r = find(reg, c, &svc)) == NULL) {
		ctl_reply_error(c, msg->id, PEER_NOT_FOUND, "%s is not "
		    "registered by this client", svc.name);
		return;
	}
	*r = reg->r[--reg->n];
	(void)publish(reg);
	reply_ok(c, msg->id, &svc);
}

struct ctl_conn *
registry_pick(struct registry *reg, const char *service, const char *group,
    const char **groupp)
{
	struct registration	*r;
	size_t			 i, n = 0, k;

	for (i = 0; i < reg->n; i++)
		if (strcmp(reg->r[i].svc.name, service) == 0 &&
		    (group[0] == '\0' || strcmp(reg->r[i].svc.group, group) == 0))
			n++;
	if (n == 0)
		return NULL;
	k = reg->turn++ % n;
	for (i = 0; i < reg->n; i++) {
		r = &reg->r[i];
		if (strcmp(r->svc.name, service) == 0 && (group[0] == '\0' ||
		    strcmp(r->svc.group, group) == 0) && k-- == 0)
			break;
	}
	*groupp = r->svc.group;
	return r->owner;
}

static void
registry_op_services(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	const struct members	*members = ((struct registry *)arg)->members;
	const struct member	*m;
	struct cbor_buf		*b = NULL;
	char			 only[SERVICE_NAME_MAX + 1];
	size_t			 i, n = 0;
	int			 k, pass;

	if (!ctl_arg_text(c, msg, "service", only, sizeof(only), false))
		return;
	/* Two passes: count, then write.  Only live members offer. */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			b = ctl_result_begin(c, msg->id);
			cbor_put_map(b, 1);
			cbor_put_text(b, "services");
			cbor_put_array(b, n);
		}
		for (i = 0; i < members_count(members); i++) {
			m = members_at(members, i);
			if (!member_live(m))
				continue;
			for (k = 0; k < m->rec.nservices; k++) {
				const struct record_service *s =
				    &m->rec.services[k];

				if (only[0] != '\0' && strcmp(only, s->name) != 0)
					continue;
				if (pass == 0) {
					n++;
					continue;
				}
				cbor_put_map(b, 5);
				cbor_put_text(b, "service");
				cbor_put_text(b, s->name);
				cbor_put_text(b, "group");
				if (s->group[0])
					cbor_put_text(b, s->group);
				else
					cbor_put_null(b);
				cbor_put_text(b, "node");
				cbor_put_text(b, m->idstr);
				cbor_put_text(b, "name");
				cbor_put_text(b, m->rec.name);
				cbor_put_text(b, "local");
				cbor_put_bool(b, m->self);
			}
		}
	}
	ctl_result_end(c);
}

const struct ctl_op registry_ctl_ops[] = {
	{ "register",	0,	registry_op_register },
	{ "services",	0,	registry_op_services },
	{ "unregister",	0,	registry_op_unregister },
	{ NULL,		0,	NULL },
};
