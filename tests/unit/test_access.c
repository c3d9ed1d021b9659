/* SPDX-License-Identifier: ISC */
/*
 * test_access.c: service access rules: parsing good rules and every
 * kind of bad one, the first matching rule deciding, patterns, none,
 * users and groups by name and number, supplementary groups, nodes and
 * node groups, counting denials, reloading all or nothing; and the
 * config side: service lines with their origin, the drop-in directory.
 */
#include <sys/stat.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>

#include "access.h"
#include "base32.h"
#include "config.h"
#include "cred.h"
#include "identity.h"
#include "suites.h"

#define SELF_UID	7777	/* the daemon's own user, in these tests */
#define ALICE		4242
#define BOB		4243
#define LAB_GID		5000

/* A rule set from lines, all from "t.conf", line 1 onwards. */
static struct access *
rules(const char *const *lines)
{
	struct access		*a;
	struct access_rule	*r;
	char			 err[256];
	int			 i;

	ck_assert_ptr_nonnull(a = access_new(SELF_UID));
	for (i = 0; lines[i] != NULL; i++) {
		r = access_rule_parse(lines[i], "t.conf", i + 1, err,
		    sizeof(err));
		ck_assert_msg(r != NULL, "rule \"%s\": %s", lines[i], err);
		ck_assert_int_eq(access_add(a, r), 0);
	}
	return a;
}

static struct cred
user(uid_t uid, gid_t gid)
{
	struct cred	c;

	memset(&c, 0, sizeof(c));
	c.uid = uid;
	c.gid = gid;
	return c;
}

/* The name of the rule that denies, or "" if allowed. */
static const char *
local(struct access *a, enum access_action act, uid_t uid, gid_t gid,
    const char *service)
{
	struct cred			 c = user(uid, gid);
	const struct access_rule	*r;

	r = access_local(a, act, &c, service);
	return r != NULL ? access_rule_name(r) : "";
}

START_TEST(test_good_rules)
{
	static const char *const good[] = {
		"calc",
		"calc.*",
		"calc*",
		"*",
		"calc serve=user:root call=group:root remote=none",
		"calc\tserve=user:0,group:0,user:root   call=none",
		"a-b_c.d remote=group:lab,group:ops",
		"calc serve=user:4242 call=group:4343",
		NULL
	};
	struct access_rule	*r;
	char			 err[256];
	int			 i;

	for (i = 0; good[i] != NULL; i++) {
		r = access_rule_parse(good[i], "/etc/peerd/peerd.conf", 7, err,
		    sizeof(err));
		ck_assert_msg(r != NULL, "\"%s\": %s", good[i], err);
		access_rule_free(r);
	}
	/* Named by pattern and origin. */
	ck_assert_ptr_nonnull(r = access_rule_parse("calc.* call=none",
	    "/etc/peerd/services.d/calc.conf", 3, err, sizeof(err)));
	ck_assert_str_eq(access_rule_name(r),
	    "calc.* (/etc/peerd/services.d/calc.conf:3)");
	access_rule_free(r);
	ck_assert_ptr_nonnull(r = access_rule_parse("calc", NULL, 0, err,
	    sizeof(err)));
	ck_assert_str_eq(access_rule_name(r), "calc (command line)");
	access_rule_free(r);
}
END_TEST

/* Asserts that text is refused with a message containing want. */
static void
assert_bad(const char *text, const char *want)
{
	struct access_rule	*r;
	char			 err[256];

	err[0] = '\0';
	r = access_rule_parse(text, "t.conf", 1, err, sizeof(err));
	ck_assert_msg(r == NULL, "\"%s\" was taken", text);
	ck_assert_msg(strstr(err, want) != NULL, "\"%s\": error \"%s\" lacks "
	    "\"%s\"", text, err, want);
}

START_TEST(test_bad_rules)
{
	char	buf[CONFIG_RULE_MAX + 64];
	size_t	n;
	int	i;

	assert_bad("", "no service name or pattern");
	assert_bad("   ", "no service name or pattern");
	assert_bad("Calc", "\"Calc\" is not a service name, or a prefix");
	assert_bad("ca*lc", "is not a service name");
	assert_bad("calc.**", "is not a service name");
	assert_bad("calc serve", "\"serve\": expected serve=, call= or remote=");
	assert_bad("calc bogus=user:root", "expected serve=, call= or remote=");
	assert_bad("calc serve=user:root serve=user:0", "serve= given twice");
	assert_bad("calc serve=", "serve: nobody listed");
	assert_bad("calc call=user:root,,group:0", "call: empty entry");
	assert_bad("calc call=user:root,", "call: empty entry");
	assert_bad("calc call=none,user:root", "call: none goes alone");
	assert_bad("calc serve=user:peerdt-nobody-here",
	    "no such user peerdt-nobody-here");
	assert_bad("calc call=group:peerdt-nobody-here",
	    "no such group peerdt-nobody-here");
	assert_bad("calc serve=alice", "serve: \"alice\" is not user:NAME");
	assert_bad("calc serve=user:", "serve: \"user:\" is not user:NAME");
	assert_bad("calc call=node:abc", "call: \"node:abc\" is not user:NAME");
	assert_bad("calc remote=user:root",
	    "remote: \"user:root\" is not node:ID, group:NAME or none");
	assert_bad("calc remote=node:abc", "remote: \"node:abc\" is not a "
	    "node ID");
	assert_bad("calc remote=group:Lab", "remote: \"Lab\" is not a node "
	    "group name");
	assert_bad("calc remote=group:", "is not a node group name");
	/* Bounded: entries per list, bytes per rule. */
	n = (size_t)snprintf(buf, sizeof(buf), "calc call=user:0");
	for (i = 1; i <= ACCESS_WHO_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",user:%d", i);
	assert_bad(buf, "call: more than 64 entries");
	memset(buf, 'a', CONFIG_RULE_MAX + 1);
	buf[CONFIG_RULE_MAX + 1] = '\0';
	assert_bad(buf, "at most 4096 bytes");
}
END_TEST

START_TEST(test_first_match_decides)
{
	static const char *const lines[] = {
		"calc.add call=user:4242",
		"calc.* call=none",
		"*",
		"other call=none",	/* never reached: "*" comes first */
		NULL
	};
	struct access	*a = rules(lines);

	ck_assert_str_eq(local(a, ACCESS_CALL, ALICE, 100, "calc.add"), "");
	ck_assert_str_eq(local(a, ACCESS_CALL, BOB, 100, "calc.add"),
	    "calc.add (t.conf:1)");
	/* calc.mul falls through the first to the second. */
	ck_assert_str_eq(local(a, ACCESS_CALL, ALICE, 100, "calc.mul"),
	    "calc.* (t.conf:2)");
	/* "calc.*" needs something after the dot: calc is the third's. */
	ck_assert_str_eq(local(a, ACCESS_CALL, BOB, 100, "calc"), "");
	ck_assert_str_eq(local(a, ACCESS_CALL, BOB, 100, "other"), "");
	/* A rule that leaves serve out leaves it open. */
	ck_assert_str_eq(local(a, ACCESS_SERVE, BOB, 100, "calc.mul"), "");
	access_free(a);
}
END_TEST

START_TEST(test_patterns)
{
	static const char *const lines[] = {
		"calc* serve=none",
		"* call=none",
		NULL
	};
	struct access	*a = rules(lines);

	ck_assert_str_eq(local(a, ACCESS_SERVE, ALICE, 100, "calculator"),
	    "calc* (t.conf:1)");
	ck_assert_str_eq(local(a, ACCESS_SERVE, ALICE, 100, "calc.add"),
	    "calc* (t.conf:1)");
	/* The prefix alone is not matched by it. */
	ck_assert_str_eq(local(a, ACCESS_SERVE, ALICE, 100, "calc"), "");
	ck_assert_str_eq(local(a, ACCESS_CALL, ALICE, 100, "calc"),
	    "* (t.conf:2)");
	ck_assert_str_eq(local(a, ACCESS_CALL, ALICE, 100, "x"),
	    "* (t.conf:2)");
	/* "calc*" decides calc.add: its call is open. */
	ck_assert_str_eq(local(a, ACCESS_CALL, ALICE, 100, "calc.add"), "");
	access_free(a);
}
END_TEST

START_TEST(test_none_and_who_always_passes)
{
	static const char *const lines[] = {
		"calc serve=none call=none remote=none",
		NULL
	};
	struct access	*a = rules(lines);
	uint8_t		 id[NODE_ID_LEN];

	ck_assert_str_eq(local(a, ACCESS_SERVE, ALICE, 100, "calc"),
	    "calc (t.conf:1)");
	ck_assert_str_eq(local(a, ACCESS_CALL, ALICE, 100, "calc"),
	    "calc (t.conf:1)");
	/* Root and the daemon's own user, always. */
	ck_assert_str_eq(local(a, ACCESS_SERVE, 0, 0, "calc"), "");
	ck_assert_str_eq(local(a, ACCESS_CALL, 0, 0, "calc"), "");
	ck_assert_str_eq(local(a, ACCESS_SERVE, SELF_UID, 100, "calc"), "");
	ck_assert_str_eq(local(a, ACCESS_CALL, SELF_UID, 100, "calc"), "");
	/* No node, whatever its groups. */
	randombytes_buf(id, sizeof(id));
	ck_assert_ptr_nonnull(access_remote(a, id, NULL, 0, "calc"));
	/* No access at all: everything open. */
	ck_assert_str_eq(local(NULL, ACCESS_SERVE, ALICE, 100, "calc"), "");
	ck_assert_ptr_null(access_remote(NULL, id, NULL, 0, "calc"));
	access_free(a);
}
END_TEST

START_TEST(test_users_and_groups)
{
	static const char *const lines[] = {
		"byuid serve=user:4242",
		"byname serve=user:root,user:daemon",
		"bygid call=group:5000",
		"bygroupname call=group:daemon",
		NULL
	};
	struct access	*a = rules(lines);
	struct cred	 c;

	ck_assert_str_eq(local(a, ACCESS_SERVE, ALICE, 100, "byuid"), "");
	ck_assert_str_eq(local(a, ACCESS_SERVE, BOB, 100, "byuid"),
	    "byuid (t.conf:1)");
	/* daemon is uid 1 on every Debian and most else. */
	ck_assert_str_eq(local(a, ACCESS_SERVE, 1, 100, "byname"), "");
	ck_assert_str_eq(local(a, ACCESS_SERVE, ALICE, 100, "byname"),
	    "byname (t.conf:2)");
	/* The primary group counts. */
	ck_assert_str_eq(local(a, ACCESS_CALL, ALICE, LAB_GID, "bygid"), "");
	ck_assert_str_eq(local(a, ACCESS_CALL, ALICE, 100, "bygid"),
	    "bygid (t.conf:3)");
	/* So does a supplementary one. */
	c = user(ALICE, 100);
	c.groups[c.ngroups++] = 200;
	c.groups[c.ngroups++] = LAB_GID;
	ck_assert_ptr_null(access_local(a, ACCESS_CALL, &c, "bygid"));
	c.groups[1] = 300;
	ck_assert_ptr_nonnull(access_local(a, ACCESS_CALL, &c, "bygid"));
	/* A group by name: daemon is gid 1. */
	c.groups[1] = 1;
	ck_assert_ptr_null(access_local(a, ACCESS_CALL, &c, "bygroupname"));
	/* A user's uid is not a gid: serve=user:4242 says nothing of groups. */
	ck_assert_str_eq(local(a, ACCESS_SERVE, BOB, ALICE, "byuid"),
	    "byuid (t.conf:1)");
	access_free(a);
}
END_TEST

START_TEST(test_remote_nodes_and_groups)
{
	uint8_t			 n1[NODE_ID_LEN], n2[NODE_ID_LEN],
				 n3[NODE_ID_LEN];
	char			 b32[NODE_ID_STRLEN], hex[NODE_ID_LEN * 2 + 1];
	char			 rule1[256], rule2[256];
	const char		*lines[] = { rule1, rule2, "open", NULL };
	const char		 lab[][GROUP_NAME_MAX + 1] = { "ops", "lab" };
	const char		 other[][GROUP_NAME_MAX + 1] = { "ops" };
	struct access		*a;
	const struct access_rule *r;

	randombytes_buf(n1, sizeof(n1));
	randombytes_buf(n2, sizeof(n2));
	randombytes_buf(n3, sizeof(n3));
	base32_encode(n1, NODE_ID_LEN, b32);
	sodium_bin2hex(hex, sizeof(hex), n3, NODE_ID_LEN);
	snprintf(rule1, sizeof(rule1), "calc remote=node:%s,group:lab", b32);
	snprintf(rule2, sizeof(rule2), "hexed remote=node:%s", hex);
	a = rules(lines);

	/* By ID, in base32 as peerctl shows it, whatever its groups. */
	ck_assert_ptr_null(access_remote(a, n1, NULL, 0, "calc"));
	/* By node group, from the node's record. */
	ck_assert_ptr_null(access_remote(a, n2, lab, 2, "calc"));
	ck_assert_ptr_nonnull(r = access_remote(a, n2, other, 1, "calc"));
	ck_assert_str_eq(access_rule_name(r), "calc (t.conf:1)");
	ck_assert_ptr_nonnull(access_remote(a, n2, NULL, 0, "calc"));
	/* By ID in hex. */
	ck_assert_ptr_null(access_remote(a, n3, NULL, 0, "hexed"));
	ck_assert_ptr_nonnull(access_remote(a, n1, lab, 2, "hexed"));
	/* Local checks are not remote ones: calc's call is open. */
	ck_assert_str_eq(local(a, ACCESS_CALL, ALICE, 100, "calc"), "");
	/* A rule without remote= leaves it open; no rule, too. */
	ck_assert_ptr_null(access_remote(a, n2, NULL, 0, "open"));
	ck_assert_ptr_null(access_remote(a, n2, NULL, 0, "unruled"));
	access_free(a);
}
END_TEST

START_TEST(test_denials_counted)
{
	static const char *const lines[] = {
		"calc serve=user:4242 call=user:4242 remote=none",
		NULL
	};
	struct access	*a = rules(lines);
	uint8_t		 id[NODE_ID_LEN];

	memset(id, 1, sizeof(id));
	ck_assert_uint_eq(access_denied(a), 0);
	(void)local(a, ACCESS_SERVE, ALICE, 100, "calc");
	(void)local(a, ACCESS_CALL, 0, 0, "calc");
	(void)local(a, ACCESS_CALL, ALICE, 100, "other");
	ck_assert_uint_eq(access_denied(a), 0);
	(void)local(a, ACCESS_SERVE, BOB, 100, "calc");
	(void)local(a, ACCESS_CALL, BOB, 100, "calc");
	(void)access_remote(a, id, NULL, 0, "calc");
	ck_assert_uint_eq(access_denied(a), 3);
	access_free(a);
}
END_TEST

/* A private directory for config files. */
static char	dir[64];

static void
dir_make(void)
{
	snprintf(dir, sizeof(dir), "/tmp/peerd-test-access.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void
dir_remove(void)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Writes text to dir/name (making dir/services.d if name is in it). */
static void
put(const char *name, const char *text)
{
	char	path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/services.d", dir);
	(void)mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* Loads dir/peerd.conf and its service_dir; the error, or "". */
static const char *
load_all(struct config *c)
{
	static char	err[512];
	char		path[128];

	config_init(c);
	snprintf(path, sizeof(path), "%s/peerd.conf", dir);
	if ((access(path, F_OK) == 0 &&
	    config_load(c, path, err, sizeof(err)) == -1) ||
	    config_load_services(c, path, err, sizeof(err)) == -1)
		return err;
	return "";
}

START_TEST(test_config_rules_and_drop_ins)
{
	struct config	 c;
	struct access	*a;
	char		 want[256], err[512], dump[8192];
	FILE		*f;

	dir_make();
	put("peerd.conf", "name = n\n"
	    "service = calc.add call=user:4242   # alice only\n"
	    "\n"
	    "service = \"calc.* call=none\"\n");
	/* Name order, *.conf only, hidden files skipped. */
	put("services.d/20-b.conf", "# b\nservice = b serve=none\n");
	put("services.d/10-a.conf", "\nservice = a serve=none\n"
	    "service = b call=none\n");
	put("services.d/30-c.conf.bak", "service = c serve=none\n");
	put("services.d/.40-d.conf", "service = d serve=none\n");
	put("services.d/README", "not a rule file\n");
	ck_assert_str_eq(load_all(&c), "");
	snprintf(want, sizeof(want), "%s/services.d", dir);
	ck_assert_str_eq(c.service_dir, want);
	ck_assert_int_eq(c.nservices, 5);
	ck_assert_str_eq(c.services[0].rule, "calc.add call=user:4242");
	ck_assert_int_eq(c.services[0].line, 2);
	ck_assert_str_eq(c.services[1].rule, "calc.* call=none");
	ck_assert_int_eq(c.services[1].line, 4);
	ck_assert_str_eq(c.services[2].rule, "a serve=none");
	snprintf(want, sizeof(want), "%s/services.d/10-a.conf", dir);
	ck_assert_str_eq(c.services[2].file, want);
	ck_assert_int_eq(c.services[2].line, 2);
	ck_assert_str_eq(c.services[3].rule, "b call=none");
	ck_assert_str_eq(c.services[4].rule, "b serve=none");

	/* The rules in order: 10-a's "b" comes before 20-b's. */
	ck_assert_ptr_nonnull(a = access_new(SELF_UID));
	ck_assert_int_eq(access_load(a, &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(access_count(a), 5);
	ck_assert_str_eq(local(a, ACCESS_SERVE, ALICE, 100, "b"), "");
	snprintf(want, sizeof(want), "b (%s/services.d/10-a.conf:3)", dir);
	ck_assert_str_eq(local(a, ACCESS_CALL, ALICE, 100, "b"), want);
	ck_assert_str_eq(local(a, ACCESS_CALL, ALICE, 100, "calc.add"), "");

	/* peerd -n shows each with its origin. */
	ck_assert_ptr_nonnull(f = fmemopen(dump, sizeof(dump), "w"));
	config_dump(&c, f);
	fclose(f);
	snprintf(want, sizeof(want), "service = a serve=none\t# %s/services.d/"
	    "10-a.conf:2\n", dir);
	ck_assert_msg(strstr(dump, want) != NULL, "dump lacks %s", want);
	snprintf(want, sizeof(want), "service_dir = %s/services.d\n", dir);
	ck_assert_msg(strstr(dump, want) != NULL, "dump lacks %s", want);
	config_free(&c);

	/* A bad rule is named by file and line; the old rules stay. */
	put("services.d/20-b.conf", "# b\n\nservice = b serve=user:"
	    "peerdt-nobody-here\n");
	ck_assert_str_eq(load_all(&c), "");
	ck_assert_int_eq(access_load(a, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/services.d/20-b.conf:3: service: no "
	    "such user peerdt-nobody-here", dir);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(access_count(a), 5);
	config_free(&c);

	/* Only service lines in a drop-in file. */
	put("services.d/20-b.conf", "service = b\nname = x\n");
	snprintf(want, sizeof(want), "%s/services.d/20-b.conf:2: name: a "
	    "service_dir file holds only service lines", dir);
	ck_assert_str_eq(load_all(&c), want);
	config_free(&c);
	access_free(a);
	dir_remove();
}
END_TEST

START_TEST(test_service_dir_missing_or_bad)
{
	struct config	c;
	char		path[128], want[256];

	dir_make();
	/* No directory: no rules beyond the file's. */
	put("peerd.conf", "service = x\n");
	snprintf(path, sizeof(path), "%s/services.d", dir);
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_str_eq(load_all(&c), "");
	ck_assert_int_eq(c.nservices, 1);
	config_free(&c);
	/* Without a config file, the directory beside its path counts. */
	snprintf(path, sizeof(path), "%s/peerd.conf", dir);
	ck_assert_int_eq(unlink(path), 0);
	put("services.d/10-a.conf", "service = a serve=none\n");
	ck_assert_str_eq(load_all(&c), "");
	ck_assert_int_eq(c.nservices, 1);
	ck_assert_str_eq(c.services[0].rule, "a serve=none");
	config_free(&c);
	/* A directory named in the file must exist. */
	snprintf(want, sizeof(want), "service_dir = %s/nosuch\n", dir);
	put("peerd.conf", want);
	snprintf(want, sizeof(want), "%s/nosuch: No such file or directory",
	    dir);
	ck_assert_str_eq(load_all(&c), want);
	config_free(&c);
	/* One that cannot be read is an error. */
	put("notadir", "");
	snprintf(want, sizeof(want), "service_dir = %s/notadir\n", dir);
	put("peerd.conf", want);
	snprintf(want, sizeof(want), "%s/notadir: Not a directory", dir);
	ck_assert_str_eq(load_all(&c), want);
	config_free(&c);
	dir_remove();
}
END_TEST

START_TEST(test_service_overrides)
{
	struct config	c;
	char		err[256];

	config_init(&c);
	ck_assert_int_eq(config_override(&c, "service", "a call=none", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(config_override(&c, "service", "b call=none", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(c.nservices, 2);
	ck_assert_ptr_null(c.services[0].file);
	ck_assert_int_eq(config_override(&c, "service", "", err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "service: a rule is 1-4096 bytes");
	config_free(&c);
	ck_assert_int_eq(c.nservices, 0);
}
END_TEST

START_TEST(test_too_many_rules)
{
	struct config	c;
	char		err[256];
	int		i;

	config_init(&c);
	for (i = 0; i < CONFIG_SERVICES_MAX; i++)
		ck_assert_int_eq(config_override(&c, "service", "x", err,
		    sizeof(err)), 0);
	ck_assert_int_eq(config_override(&c, "service", "x", err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "service: more than 1024 rules");
	config_free(&c);
}
END_TEST

Suite *
access_suite(void)
{
	Suite	*s = suite_create("access");
	TCase	*tc = tcase_create("access");

	tcase_add_test(tc, test_good_rules);
	tcase_add_test(tc, test_bad_rules);
	tcase_add_test(tc, test_first_match_decides);
	tcase_add_test(tc, test_patterns);
	tcase_add_test(tc, test_none_and_who_always_passes);
	tcase_add_test(tc, test_users_and_groups);
	tcase_add_test(tc, test_remote_nodes_and_groups);
	tcase_add_test(tc, test_denials_counted);
	tcase_add_test(tc, test_config_rules_and_drop_ins);
	tcase_add_test(tc, test_service_dir_missing_or_bad);
	tcase_add_test(tc, test_service_overrides);
	tcase_add_test(tc, test_too_many_rules);
	suite_add_tcase(s, tc);
	return s;
}
