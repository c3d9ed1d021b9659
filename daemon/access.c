/* SPDX-License-Identifier: ISC */
/*
 * access.c: the access rules of services.  Users and groups are
 * resolved when a rule is read, so a check is a walk over numbers and
 * never asks the user database; a reload reads them again.  The rules
 * are swapped in place, so the modules that hold the access keep it.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "access.h"
#include "base32.h"
#include "cred.h"
#include "identity.h"
#include "log.h"
#include "ratelog.h"
#include "record.h"
#include "topic.h"

enum who_kind {
	WHO_USER,		/* uid */
	WHO_GROUP,		/* gid: primary or supplementary */
	WHO_NODE,		/* node ID */
	WHO_NODE_GROUP,		/* a group in the node's record */
};

struct who {
	enum who_kind	 kind;
	uid_t		 uid;
	gid_t		 gid;
	uint8_t		 id[NODE_ID_LEN];
	char		 group[GROUP_NAME_MAX + 1];
};

/* One action's list: not given (open to all), none (n = 0), or these. */
struct who_list {
	bool		 given;
	int		 n;
	struct who	*who;
};

struct access_rule {
	char		 pattern[SERVICE_NAME_MAX + 2];	/* a name, or "x*" */
	char		*name;		/* "PATTERN (FILE:LINE)" */
	struct who_list	 act[ACCESS_ACTIONS];
};

struct access {
	uid_t			 self;
	struct access_rule	**rules;
	size_t			 n;
	uint64_t		 denied;
	struct ratelog		 denied_log;
};

static const char *const action_name[ACCESS_ACTIONS] = {
	"serve", "call", "remote"
};

struct access *
access_new(uid_t self)
{
	struct access	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->self = self;
	return a;
}

void
access_rule_free(struct access_rule *r)
{
	int	i;

	if (r == NULL)
		return;
	for (i = 0; i < ACCESS_ACTIONS; i++)
		free(r->act[i].who);
	free(r->name);
	free(r);
}

static void
free_rules(struct access_rule **rules, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		access_rule_free(rules[i]);
	free(rules);
}

void
access_free(struct access *a)
{
	if (a == NULL)
		return;
	free_rules(a->rules, a->n);
	free(a);
}

/*
 * A service name, or a prefix of one ending in '*' ("calc.*", "*"):
 * what topic_matches takes.
 */
static bool
pattern_valid(const char *s)
{
	size_t	n = strlen(s);

	if (n == 1 && s[0] == '*')
		return true;
	if (n >= 2 && s[n - 1] == '*')
		return service_name_valid(s, n - 1);
	return service_name_valid(s, n);
}

/* A decimal id below (id_t)-1, which means "none" to the kernel. */
static bool
numeric_id(const char *s, unsigned long *v)
{
	char	*end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && *v < (uid_t)-1;
}

/* user:NAME|UID or group:NAME|GID; -1 with err. */
static int
parse_local(const char *s, struct who *w, const char *act, char *err,
    size_t errlen)
{
	struct passwd	*pw;
	struct group	*gr;
	unsigned long	 v;

	if (strncmp(s, "user:", 5) == 0 && s[5] != '\0') {
		w->kind = WHO_USER;
		if (numeric_id(s + 5, &v))
			w->uid = (uid_t)v;
		else if ((pw = getpwnam(s + 5)) != NULL)
			w->uid = pw->pw_uid;
		else {
			snprintf(err, errlen, "no such user %.64s", s + 5);
			return -1;
		}
		return 0;
	}
	if (strncmp(s, "group:", 6) == 0 && s[6] != '\0') {
		w->kind = WHO_GROUP;
		if (numeric_id(s + 6, &v))
			w->gid = (gid_t)v;
		else if ((gr = getgrnam(s + 6)) != NULL)
			w->gid = gr->gr_gid;
		else {
			snprintf(err, errlen, "no such group %.64s", s + 6);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "%s: \"%.64s\" is not user:NAME, user:UID, "
	    "group:NAME, group:GID or none", act, s);
	return -1;
}

/* The node ID as peerctl shows it (base32), or in hex. */
static bool
parse_node_id(const char *s, uint8_t id[NODE_ID_LEN])
{
	size_t	n = strlen(s), len;

	if (n == NODE_ID_STRLEN - 1)
		return base32_decode(s, id, NODE_ID_LEN);
	return n == NODE_ID_LEN * 2 && sodium_hex2bin(id, NODE_ID_LEN, s, n,
	    NULL, &len, NULL) == 0 && len == NODE_ID_LEN;
}

/* node:ID or group:NAME (a node group); -1 with err. */
static int
parse_remote(const char *s, struct who *w, char *err, size_t errlen)
{
	if (strncmp(s, "node:", 5) == 0) {
		w->kind = WHO_NODE;
		if (!parse_node_id(s + 5, w->id)) {
			snprintf(err, errlen, "remote: \"%.80s\" is not a node "
			    "ID (%d base32 or %d hex digits)", s,
			    NODE_ID_STRLEN - 1, NODE_ID_LEN * 2);
			return -1;
		}
		return 0;
	}
	if (strncmp(s, "group:", 6) == 0) {
		w->kind = WHO_NODE_GROUP;
		if (!group_name_valid(s + 6, strlen(s + 6))) {
			snprintf(err, errlen, "remote: \"%.64s\" is not a node "
			    "group name", s + 6);
			return -1;
		}
		snprintf(w->group, sizeof(w->group), "%s", s + 6);
		return 0;
	}
	snprintf(err, errlen, "remote: \"%.64s\" is not node:ID, group:NAME "
	    "or none", s);
	return -1;
}

/* The list after "act=", into l; -1 with err. */
static int
parse_list(char *list, enum access_action act, struct who_list *l,
    char *err, size_t errlen)
{
	struct who	 who[ACCESS_WHO_MAX];
	const char	*name = action_name[act];
	char		*s, *next;
	int		 n = 0;

	if (l->given) {
		snprintf(err, errlen, "%s= given twice", name);
		return -1;
	}
	l->given = true;
	if (strcmp(list, "none") == 0)
		return 0;	/* admits nobody */
	if (*list == '\0') {
		snprintf(err, errlen, "%s: nobody listed (none admits "
		    "nobody)", name);
		return -1;
	}
	for (s = list; s != NULL; s = next) {
		if ((next = strchr(s, ',')) != NULL)
			*next++ = '\0';
		if (*s == '\0') {
			snprintf(err, errlen, "%s: empty entry", name);
			return -1;
		}
		if (strcmp(s, "none") == 0) {
			snprintf(err, errlen, "%s: none goes alone", name);
			return -1;
		}
		if (n == ACCESS_WHO_MAX) {
			snprintf(err, errlen, "%s: more than %d entries", name,
			    ACCESS_WHO_MAX);
			return -1;
		}
		memset(&who[n], 0, sizeof(who[n]));
		if ((act == ACCESS_REMOTE ? parse_remote(s, &who[n], err,
		    errlen) : parse_local(s, &who[n], name, err, errlen)) == -1)
			return -1;
		n++;
	}
	if ((l->who = calloc((size_t)n, sizeof(*l->who))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	memcpy(l->who, who, (size_t)n * sizeof(*who));
	l->n = n;
	return 0;
}

struct access_rule *
access_rule_parse(const char *text, const char *file, int line, char *err,
    size_t errlen)
{
	struct access_rule	*r;
	char			 buf[CONFIG_RULE_MAX + 1], *tok, *save, *eq;
	int			 act, n;

	if (strlen(text) > CONFIG_RULE_MAX) {
		snprintf(err, errlen, "a rule is at most %d bytes",
		    CONFIG_RULE_MAX);
		return NULL;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	if ((tok = strtok_r(buf, " \t", &save)) == NULL) {
		snprintf(err, errlen, "no service name or pattern");
		goto fail;
	}
	if (!pattern_valid(tok)) {
		snprintf(err, errlen, "\"%.80s\" is not a service name, or a "
		    "prefix of one ending in '*'", tok);
		goto fail;
	}
	snprintf(r->pattern, sizeof(r->pattern), "%s", tok);
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
		eq = strchr(tok, '=');
		for (act = 0; act < ACCESS_ACTIONS; act++)
			if (eq != NULL && (size_t)(eq - tok) ==
			    strlen(action_name[act]) &&
			    strncmp(tok, action_name[act], (size_t)(eq - tok)) == 0)
				break;
		if (act == ACCESS_ACTIONS) {
			snprintf(err, errlen, "\"%.64s\": expected serve=, "
			    "call= or remote=", tok);
			goto fail;
		}
		if (parse_list(eq + 1, (enum access_action)act, &r->act[act],
		    err, errlen) == -1)
			goto fail;
	}
	if (file != NULL)
		n = asprintf(&r->name, "%s (%s:%d)", r->pattern, file, line);
	else
		n = asprintf(&r->name, "%s (command line)", r->pattern);
	if (n == -1) {
		r->name = NULL;
		snprintf(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	return r;
fail:
	access_rule_free(r);
	return NULL;
}

int
access_add(struct access *a, struct access_rule *r)
{
	struct access_rule	**more;

	if (a->n == CONFIG_SERVICES_MAX ||
	    (more = reallocarray(a->rules, a->n + 1, sizeof(*more))) == NULL)
		return -1;
	a->rules = more;
	a->rules[a->n++] = r;
	return 0;
}

int
access_load(struct access *a, const struct config *c, char *err,
    size_t errlen)
{
	struct access		 next;
	struct access_rule	*r;
	const struct config_service *s;
	char			 why[256];
	int			 i;

	memset(&next, 0, sizeof(next));
	for (i = 0; i < c->nservices; i++) {
		s = &c->services[i];
		if ((r = access_rule_parse(s->rule, s->file, s->line, why,
		    sizeof(why))) == NULL) {
			if (s->file != NULL)
				snprintf(err, errlen, "%s:%d: service: %s",
				    s->file, s->line, why);
			else
				snprintf(err, errlen, "service: %s", why);
			free_rules(next.rules, next.n);
			return -1;
		}
		if (access_add(&next, r) == -1) {
			access_rule_free(r);
			snprintf(err, errlen, "service: more than %d rules, or "
			    "out of memory", CONFIG_SERVICES_MAX);
			free_rules(next.rules, next.n);
			return -1;
		}
	}
	free_rules(a->rules, a->n);
	a->rules = next.rules;
	a->n = next.n;
	return 0;
}

size_t
access_count(const struct access *a)
{
	return a->n;
}

const char *
access_rule_name(const struct access_rule *r)
{
	return r->name;
}

uint64_t
access_denied(const struct access *a)
{
	return a->denied;
}

/* The rule that decides for service: the first that matches, or NULL. */
static const struct access_rule *
rule_for(const struct access *a, const char *service)
{
	size_t	i;

	for (i = 0; i < a->n; i++)
		if (topic_matches(a->rules[i]->pattern, service))
			return a->rules[i];
	return NULL;
}

static bool
admits_local(const struct who_list *l, const struct cred *cr)
{
	int	i;

	if (!l->given)
		return true;
	for (i = 0; i < l->n; i++)
		if ((l->who[i].kind == WHO_USER && l->who[i].uid == cr->uid) ||
		    (l->who[i].kind == WHO_GROUP &&
		    cred_in_group(cr, l->who[i].gid)))
			return true;
	return false;
}

static bool
admits_node(const struct who_list *l, const uint8_t *id,
    const char (*groups)[GROUP_NAME_MAX + 1], int ngroups)
{
	int	i, k;

	if (!l->given)
		return true;
	for (i = 0; i < l->n; i++) {
		if (l->who[i].kind == WHO_NODE &&
		    memcmp(l->who[i].id, id, NODE_ID_LEN) == 0)
			return true;
		if (l->who[i].kind != WHO_NODE_GROUP)
			continue;
		for (k = 0; k < ngroups; k++)
			if (strcmp(l->who[i].group, groups[k]) == 0)
				return true;
	}
	return false;
}

const struct access_rule *
access_local(struct access *a, enum access_action act, const struct cred *cr,
    const char *service)
{
	const struct access_rule	*r;

	if (a == NULL || cr->uid == 0 || cr->uid == a->self)
		return NULL;
	if ((r = rule_for(a, service)) == NULL || admits_local(&r->act[act], cr))
		return NULL;
	a->denied++;
	return r;
}

const struct access_rule *
access_remote(struct access *a, const uint8_t *id,
    const char (*groups)[GROUP_NAME_MAX + 1], int ngroups, const char *service)
{
	const struct access_rule	*r;

	if (a == NULL)
		return NULL;
	if ((r = rule_for(a, service)) == NULL ||
	    admits_node(&r->act[ACCESS_REMOTE], id, groups, ngroups))
		return NULL;
	a->denied++;
	return r;
}

void
access_log(struct access *a, const char *fmt, ...)
{
	va_list		ap;
	char		line[768];
	unsigned	skipped;

	if (!ratelog_ok(&a->denied_log, 1000, &skipped))
		return;
	if (skipped > 0)
		log_warnx("access: %u more requests denied", skipped);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_warnx("%s", line);
}
