/* SPDX-License-Identifier: ISC */
/*
 * test_changes.c: the changes told for a member's states and services.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "changes.h"
#include "members.h"
#include "suites.h"

/* What the owner heard, as "member-join a" or "service-registered a calc/g". */
static char	heard[32][128];
static int	nheard;

static void
on_change(void *arg, const struct change *c)
{
	(void)arg;
	ck_assert_int_lt(nheard, 32);
	if (c->service != NULL && c->kind >= CHANGE_REGISTERED)
		snprintf(heard[nheard++], sizeof(heard[0]), "%s %s %s/%s%s%s",
		    change_kind_name(c->kind), c->name, c->service, c->group,
		    c->why != NULL ? " " : "", c->why != NULL ? c->why : "");
	else
		snprintf(heard[nheard++], sizeof(heard[0]), "%s %s%s%s",
		    change_kind_name(c->kind), c->name,
		    c->why != NULL ? " " : "", c->why != NULL ? c->why : "");
}

static const struct changes_ops	ops = { on_change };
static struct changes		*cs;
static struct member		 m;

static void
setup(void)
{
	nheard = 0;
	memset(&m, 0, sizeof(m));
	m.rec.id[0] = 1;
	strcpy(m.rec.name, "a");
	strcpy(m.idstr, "AAAA");
	m.state = MEMBER_ALIVE;
	ck_assert_ptr_nonnull(cs = changes_new(&ops, NULL));
}

static void
teardown(void)
{
	changes_free(cs);
}

static void
offer(const char *name, const char *group)
{
	strcpy(m.rec.services[m.rec.nservices].name, name);
	strcpy(m.rec.services[m.rec.nservices].group, group);
	m.rec.nservices++;
}

static void
expect(int n, ...)
{
	va_list	ap;
	int	i;

	ck_assert_int_eq(nheard, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(heard[i], va_arg(ap, const char *));
	va_end(ap);
	nheard = 0;
}

START_TEST(join_then_states)
{
	offer("calc", "");
	changes_member(cs, &m, "a first record");
	expect(2, "member-join a a first record",
	    "service-registered a calc/ member-join");
	changes_member(cs, &m, "a newer record");
	expect(0);
	m.state = MEMBER_SUSPECT;
	changes_member(cs, &m, "no answer");
	expect(1, "member-suspect a no answer");
	m.state = MEMBER_ALIVE;
	changes_member(cs, &m, "refuted");
	expect(1, "member-alive a refuted");
	m.state = MEMBER_DEAD;
	changes_member(cs, &m, "refused");
	expect(2, "member-dead a refused",
	    "service-withdrawn a calc/ member-dead");
	m.state = MEMBER_ALIVE;
	changes_member(cs, &m, "back");
	expect(2, "member-alive a back",
	    "service-registered a calc/ member-alive");
	m.state = MEMBER_LEFT;
	changes_member(cs, &m, "left");
	expect(2, "member-left a left", "service-withdrawn a calc/ member-left");
}
END_TEST

START_TEST(services_differ)
{
	offer("calc", "");
	offer("calc", "lab");
	changes_member(cs, &m, NULL);
	expect(3, "member-join a", "service-registered a calc/ member-join",
	    "service-registered a calc/lab member-join");
	/* calc/lab goes, echo comes: the same name in another group differs. */
	m.rec.nservices = 0;
	offer("calc", "");
	offer("echo", "");
	changes_member(cs, &m, NULL);
	expect(2, "service-withdrawn a calc/lab", "service-registered a echo/");
	/* A suspect still offers its services. */
	m.state = MEMBER_SUSPECT;
	changes_member(cs, &m, "x");
	expect(1, "member-suspect a x");
}
END_TEST

START_TEST(first_heard_dead_joins_later)
{
	m.state = MEMBER_DEAD;
	changes_member(cs, &m, "digest");
	expect(0);
	m.state = MEMBER_ALIVE;
	changes_member(cs, &m, "a newer record");
	expect(1, "member-join a a newer record");
	/* Forgetting one never told as live says nothing. */
	m.rec.id[0] = 2;
	m.state = MEMBER_LEFT;
	changes_member(cs, &m, NULL);
	changes_forget(cs, m.rec.id);
	expect(0);
}
END_TEST

START_TEST(forget_withdraws)
{
	offer("calc", "");
	changes_member(cs, &m, NULL);
	expect(2, "member-join a", "service-registered a calc/ member-join");
	changes_forget(cs, m.rec.id);
	expect(2, "member-forgotten a",
	    "service-withdrawn a calc/ member-forgotten");
	changes_forget(cs, m.rec.id);
	expect(0);
	/* Seen again after being forgotten: a join. */
	changes_member(cs, &m, NULL);
	expect(2, "member-join a", "service-registered a calc/ member-join");
}
END_TEST

START_TEST(self_services_only)
{
	m.self = true;
	changes_member(cs, &m, NULL);
	expect(0);
	offer("calc", "");
	changes_member(cs, &m, NULL);
	expect(1, "service-registered a calc/");
	m.rec.nservices = 0;
	changes_member(cs, &m, NULL);
	expect(1, "service-withdrawn a calc/");
}
END_TEST

START_TEST(record_updates)
{
	offer("calc", "");
	changes_member(cs, &m, NULL);
	expect(2, "member-join a", "service-registered a calc/ member-join");
	/* Services alone are told as services. */
	m.rec.incarnation++;
	offer("echo", "");
	changes_member(cs, &m, "newer");
	expect(1, "service-registered a echo/");
	/* Tags, groups, addresses, the name: an update. */
	ck_assert_int_eq(tagset_set(&m.rec.tags, "rack", "r1", &(const char *){
	    NULL }), 0);
	changes_member(cs, &m, "tags");
	expect(1, "member-update a tags");
	strcpy(m.rec.groups[m.rec.ngroups++], "lab");
	changes_member(cs, &m, "groups");
	expect(1, "member-update a groups");
	strcpy(m.rec.addrs[m.rec.naddrs++], "10.0.0.1:7654");
	changes_member(cs, &m, "addrs");
	expect(1, "member-update a addrs");
	strcpy(m.rec.name, "b");
	changes_member(cs, &m, "name");
	expect(1, "member-update b name");
	changes_member(cs, &m, "same");
	expect(0);
	/* A dead node's newer record is no update; coming back is alive. */
	m.state = MEMBER_DEAD;
	changes_member(cs, &m, "dead");
	m.rec.hub = true;
	changes_member(cs, &m, "dead still");
	expect(3, "member-dead b dead", "service-withdrawn b calc/ member-dead",
	    "service-withdrawn b echo/ member-dead");
}
END_TEST

START_TEST(kind_names)
{
	int	k;

	for (k = 0; k < CHANGE_KINDS; k++)
		ck_assert_int_eq(change_kind_parse(change_kind_name(k)), k);
	ck_assert_int_eq(change_kind_parse("member"), -1);
	ck_assert_int_eq(change_kind_parse(""), -1);
}
END_TEST

Suite *
changes_suite(void)
{
	Suite	*s = suite_create("changes");
	TCase	*tc = tcase_create("changes");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, join_then_states);
	tcase_add_test(tc, services_differ);
	tcase_add_test(tc, first_heard_dead_joins_later);
	tcase_add_test(tc, forget_withdraws);
	tcase_add_test(tc, self_services_only);
	tcase_add_test(tc, record_updates);
	tcase_add_test(tc, kind_names);
	suite_add_tcase(s, tc);
	return s;
}
