/* SPDX-License-Identifier: ISC */
/*
 * test_config.c: the config file parser, good files and every kind of
 * bad line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "config.h"
#include "suites.h"

static char	path[64];

/* Writes text to a fresh temporary file named in path. */
static void
write_conf(const char *text)
{
	int	fd;

	snprintf(path, sizeof(path), "/tmp/peerd-test-conf.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Loads text; returns the error message, or "" on success. */
static const char *
load(struct config *c, const char *text)
{
	static char	err[512];

	config_init(c);
	write_conf(text);
	if (config_load(c, path, err, sizeof(err)) == 0)
		err[0] = '\0';
	unlink(path);
	return err;
}

/* Asserts that text fails with "path:line: want". */
static void
assert_bad(const char *text, int line, const char *want)
{
	struct config	 c;
	const char	*err = load(&c, text);
	char		 prefix[128];

	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
	    "error \"%s\" lacks position \"%s\"", err, prefix);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"",
	    err, want);
	/* What was kept before the bad line. */
	config_free(&c);
}

START_TEST(test_good_file)
{
	struct config	 c;
	const char	*err;

	err = load(&c,
	    "# a comment\n"
	    "\n"
	    "name = lab-1   # trailing comment\n"
	    "   listen=127.0.0.1:7000\n"
	    "listen = [::1]:7001\n"
	    "socket = \"/tmp/with space#.sock\"  # quoted, then a comment\n"
	    "state_dir = /tmp/state\n"
	    "log_level = debug\n"
	    "max_message = 2M\n"
	    "max_clients = 10\n");
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(c.name, "lab-1");
	ck_assert_int_eq(c.nlisten, 2);
	ck_assert_str_eq(c.listen[0], "127.0.0.1:7000");
	ck_assert_str_eq(c.listen[1], "[::1]:7001");
	ck_assert_str_eq(c.socket_path, "/tmp/with space#.sock");
	ck_assert_str_eq(c.state_dir, "/tmp/state");
	ck_assert_int_eq(c.log_level, LOG_LEVEL_DEBUG);
	ck_assert_uint_eq(c.max_message, 2u << 20);
	ck_assert_uint_eq(c.max_clients, 10);
}
END_TEST

START_TEST(test_mesh_keys)
{
	struct config	 c;
	char		 err[256];

	ck_assert_str_eq(load(&c, "bootstrap = peer.example.net:7654\n"
	    "bootstrap = [fe80::1%eth0]:7000\nbootstrap = 10.0.0.1:1\n"
	    "ping_interval = 250ms\ndead_after = 2s\n"
	    "handshake_timeout = 1500\nmax_handshakes = 1000\n"
	    "max_handshakes_per_address = 2\n"), "");
	ck_assert_int_eq(c.nbootstrap, 3);
	ck_assert_str_eq(c.bootstrap[0], "peer.example.net:7654");
	ck_assert_str_eq(c.bootstrap[1], "[fe80::1%eth0]:7000");
	ck_assert_uint_eq(c.ping_interval, 250);
	ck_assert_uint_eq(c.dead_after, 2000);
	ck_assert_uint_eq(c.handshake_timeout, 1500);
	ck_assert_uint_eq(c.max_handshakes, 1000);
	ck_assert_uint_eq(c.max_handshakes_per_address, 2);
	ck_assert_int_eq(config_finish(&c, err, sizeof(err)), 0);
	/* dead_after must leave room for pings. */
	ck_assert_str_eq(load(&c, "ping_interval = 2s\ndead_after = 2s\n"), "");
	ck_assert_int_eq(config_finish(&c, err, sizeof(err)), -1);
	ck_assert(strstr(err, "must be longer than ping_interval") != NULL);
	ck_assert_str_eq(load(&c, "degree_min = 9\ndegree_max = 8\n"), "");
	ck_assert_int_eq(config_finish(&c, err, sizeof(err)), -1);
	ck_assert(strstr(err, "degree_max (8) is below degree_min (9)") != NULL);
	ck_assert_str_eq(load(&c, "group = lab\ngroup = edge-1\nhub = yes\n"
	    "member_expire = 2h\ndiscovery = off\n"
	    "discovery_interface = eth0\n"), "");
	ck_assert_int_eq(c.ngroups, 2);
	ck_assert_str_eq(c.groups[1], "edge-1");
	ck_assert(c.hub);
	ck_assert(!c.discovery);
	ck_assert_uint_eq(c.member_expire, 7200000);
	ck_assert_str_eq(c.discovery_ifaces[0], "eth0");
	ck_assert(!c.origin_auth_required);
	ck_assert_str_eq(load(&c, "origin_auth = required\n"), "");
	ck_assert(c.origin_auth_required);
	ck_assert_str_eq(load(&c, "origin_auth = auto\n"), "");
	ck_assert(!c.origin_auth_required);
}
END_TEST

START_TEST(test_claim_keys)
{
	struct config	c;

	ck_assert_str_eq(load(&c, ""), "");
	ck_assert_uint_eq(c.claim_rate, 2000);
	ck_assert_uint_eq(c.claim_probe_gap, 5000);
	/* Rates in thousandths: three decimals at most. */
	ck_assert_str_eq(load(&c, "claim_rate = 0.25\nclaim_probe_gap = 2s\n"),
	    "");
	ck_assert_uint_eq(c.claim_rate, 250);
	ck_assert_uint_eq(c.claim_probe_gap, 2000);
	ck_assert_str_eq(load(&c, "claim_rate = 1000\n"), "");
	ck_assert_uint_eq(c.claim_rate, 1000000);
	ck_assert_str_eq(load(&c, "claim_rate = 7.125\n"), "");
	ck_assert_uint_eq(c.claim_rate, 7125);
	assert_bad("claim_rate = 3.\n", 1, "is not a number a second");
	assert_bad("claim_rate = .5\n", 1, "is not a number a second");
	assert_bad("claim_rate = 0.0001\n", 1, "is not a number a second");
	assert_bad("claim_rate = 1e3\n", 1, "is not a number a second");
	assert_bad("claim_rate = -1\n", 1, "is not a number a second");
	assert_bad("claim_rate = 0.05\n", 1, "claim_rate: 0.05 out of range "
	    "(0.100-1000.000)");
	assert_bad("claim_rate = 1000.001\n", 1, "out of range");
	assert_bad("claim_probe_gap = 50ms\n", 1,
	    "out of range (100-600000 ms)");
}
END_TEST

START_TEST(test_empty_file_gives_defaults)
{
	struct config	c;
	char		err[256];

	ck_assert_str_eq(load(&c, ""), "");
	setenv("XDG_RUNTIME_DIR", "/tmp/xdg", 1);
	setenv("XDG_STATE_HOME", "/tmp/xdgstate", 1);
	unsetenv("RUNTIME_DIRECTORY");
	unsetenv("STATE_DIRECTORY");
	ck_assert_int_eq(config_finish(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.nlisten, 2);
	ck_assert_str_eq(c.listen[0], "0.0.0.0:7654");
	ck_assert_str_eq(c.listen[1], "[::]:7654");
	ck_assert_int_eq(c.log_level, LOG_LEVEL_INFO);
	ck_assert_uint_eq(c.max_message, 16u << 20);
	ck_assert(c.name[0] != '\0');
	if (geteuid() == 0)
		ck_assert_str_eq(c.socket_path, "/run/peerd/peerd.sock");
	else
		ck_assert_str_eq(c.socket_path, "/tmp/xdg/peerd.sock");
}
END_TEST

START_TEST(test_systemd_directories)
{
	struct config	c;
	char		err[256];

	config_init(&c);
	setenv("RUNTIME_DIRECTORY", "/run/peerd", 1);
	setenv("STATE_DIRECTORY", "/var/lib/peerd", 1);
	ck_assert_int_eq(config_finish(&c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.socket_path, "/run/peerd/peerd.sock");
	ck_assert_str_eq(c.state_dir, "/var/lib/peerd");
}
END_TEST

START_TEST(test_bad_lines)
{
	assert_bad("name = a\nbogus = 1\n", 2, "bogus: unknown key");
	assert_bad("name\n", 1, "expected key = value");
	assert_bad("name = has space\n", 1, "name: \"has space\" is not a name");
	assert_bad("name = \n", 1, "name:");
	assert_bad("name = "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	    1, "name:");
	assert_bad("name = a\nname = b\n", 2, "name: already set on line 1");
	assert_bad("listen = localhost:7654\n", 1, "not a numeric address");
	assert_bad("listen = 127.0.0.1\n", 1, "expected ADDR:PORT");
	assert_bad("listen = 127.0.0.1:65536\n", 1, "port must be 0-65535");
	assert_bad("listen = 127.0.0.1:x\n", 1, "port must be 0-65535");
	assert_bad("listen = ::1:7654\n", 1, "IPv6 in brackets");
	assert_bad("listen = [::1:7654\n", 1, "expected [IPV6]:PORT");
	assert_bad("log_level = loud\n", 1, "log_level: \"loud\" is not one of");
	assert_bad("max_message = 64K\n", 1, "max_message: 64K out of range "
	    "(262144-1073741824)");
	assert_bad("max_message = 2X\n", 1, "is not a size");
	assert_bad("max_message = -5\n", 1, "is not a size");
	assert_bad("max_message = 99999999999999999999999\n", 1, "not a size");
	assert_bad("max_clients = 0\n", 1, "max_clients: 0 out of range");
	assert_bad("max_clients = 10K\n", 1, "is not a whole number");
	assert_bad("socket = \n", 1, "socket: path must be");
	assert_bad("socket = \"/tmp/x\n", 1, "socket: no closing quote");
	assert_bad("socket = \"/tmp/x\" y\n", 1, "text after the closing quote");
	assert_bad("ping_interval = 10\n", 1, "ping_interval: 10 out of range "
	    "(50-60000 ms)");
	assert_bad("dead_after = 3 s\n", 1, "is not a duration");
	assert_bad("handshake_timeout = 1w\n", 1, "is not a duration");
	assert_bad("handshake_timeout = 1h\n", 1, "out of range (100-60000 ms)");
	assert_bad("max_handshakes = 0\n", 1, "max_handshakes: 0 out of range "
	    "(1-65536)");
	assert_bad("max_handshakes_per_address = 65537\n", 1,
	    "max_handshakes_per_address: 65537 out of range (1-65536)");
	assert_bad("bootstrap = peer\n", 1, "bootstrap: \"peer\": expected "
	    "ADDR:PORT");
	assert_bad("bootstrap = a b:1\n", 1, "bad address");
	assert_bad("bootstrap = host:0\n", 1, "port 0");
	assert_bad("hub = maybe\n", 1, "hub: \"maybe\" is not yes or no");
	assert_bad("origin_auth = yes\n", 1, "origin_auth: \"yes\" is not "
	    "auto or required");
	assert_bad("group = Lab\n", 1, "group: \"Lab\" is not a name");
	assert_bad("degree_min = 0\n", 1, "degree_min: 0 out of range");
	assert_bad("discovery_interface = a/b\n", 1, "is not an interface");
	assert_bad("member_expire = 1d\n", 1, "is not a duration");
	assert_bad("# ok\n\nlog_level = info\nlisten = 1.2.3.4:1\n=\n", 5,
	    ": unknown key");
}
END_TEST

START_TEST(test_too_many_listen)
{
	char	text[4096] = "";
	char	line[64];
	int	i;

	for (i = 0; i <= CONFIG_LISTEN_MAX; i++) {
		snprintf(line, sizeof(line), "listen = 127.0.0.1:%d\n", 7000 + i);
		strcat(text, line);
	}
	assert_bad(text, CONFIG_LISTEN_MAX + 1, "more than 16 addresses");
}
END_TEST

START_TEST(test_metrics_listen)
{
	struct config	 c;
	char		 dump[4096];
	FILE		*f;

	/* Off unless set. */
	ck_assert_str_eq(load(&c, ""), "");
	ck_assert_str_eq(c.metrics_listen, "");
	ck_assert_str_eq(load(&c, "metrics_listen = [::1]:9654\n"), "");
	ck_assert_str_eq(c.metrics_listen, "[::1]:9654");
	ck_assert_str_eq(load(&c, "metrics_listen = 127.0.0.1:0\n"), "");
	ck_assert_ptr_nonnull(f = fmemopen(dump, sizeof(dump), "w"));
	config_dump(&c, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(dump, "metrics_listen = 127.0.0.1:0\n"));
	/* Numeric, with a port, once. */
	assert_bad("metrics_listen = localhost:9654\n", 1, "metrics_listen:");
	assert_bad("metrics_listen = 127.0.0.1\n", 1, "metrics_listen:");
	assert_bad("metrics_listen = ::1:9654\n", 1, "metrics_listen:");
	assert_bad("metrics_listen = 127.0.0.1:1\nmetrics_listen = "
	    "127.0.0.1:2\n", 2, "metrics_listen: already set on line 1");
}
END_TEST

START_TEST(test_advertise)
{
	struct config	 c;
	char		 err[256], text[4096] = "", line[160], dump[4096];
	FILE		*f;
	int		 i;

	ck_assert_str_eq(load(&c, "advertise = relay.example.net:9000\n"
	    "advertise = [2001:db8::7]:7654\nadvertise = 192.0.2.1:1\n"), "");
	ck_assert_int_eq(c.nadvertise, 3);
	ck_assert_str_eq(c.advertise[0], "relay.example.net:9000");
	ck_assert_str_eq(c.advertise[1], "[2001:db8::7]:7654");
	ck_assert_str_eq(c.advertise[2], "192.0.2.1:1");
	/* The listeners are unchanged: advertise only names other ones. */
	setenv("XDG_RUNTIME_DIR", "/tmp/xdg", 1);
	setenv("XDG_STATE_HOME", "/tmp/xdgstate", 1);
	ck_assert_int_eq(config_finish(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.nlisten, 2);
	ck_assert_str_eq(c.listen[0], "0.0.0.0:7654");

	/* peerd -n prints them, and its output loads back the same. */
	ck_assert_ptr_nonnull(f = fmemopen(dump, sizeof(dump), "w"));
	config_dump(&c, f);
	fclose(f);
	ck_assert(strstr(dump, "advertise = relay.example.net:9000\n"
	    "advertise = [2001:db8::7]:7654\nadvertise = 192.0.2.1:1\n")
	    != NULL);
	ck_assert_str_eq(load(&c, dump), "");
	ck_assert_int_eq(c.nadvertise, 3);
	ck_assert_str_eq(c.advertise[1], "[2001:db8::7]:7654");

	/* The first command-line value replaces the file's list. */
	ck_assert_int_eq(config_override(&c, "advertise", "10.0.0.1:5", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(config_override(&c, "advertise", "10.0.0.2:6", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(c.nadvertise, 2);
	ck_assert_str_eq(c.advertise[0], "10.0.0.1:5");
	ck_assert_str_eq(c.advertise[1], "10.0.0.2:6");
	ck_assert_int_eq(config_override(&c, "advertise", "10.0.0.3:0", err,
	    sizeof(err)), -1);
	ck_assert(strstr(err, "advertise: \"10.0.0.3:0\": port 0") != NULL);
	config_free(&c);

	assert_bad("advertise = host:0\n", 1, "advertise: \"host:0\": port 0");
	assert_bad("advertise = relay\n", 1, "advertise: \"relay\": expected "
	    "ADDR:PORT");
	assert_bad("advertise = ::1:7654\n", 1, "IPv6 in brackets");
	assert_bad("advertise = [::1:7654\n", 1, "expected [IPV6]:PORT");
	assert_bad("advertise = a b:1\n", 1, "bad address");
	assert_bad("advertise = host:65536\n", 1, "port must be 0-65535");
	assert_bad("advertise = host:\n", 1, "port must be 0-65535");
	/* A name that bootstrap takes but a record address cannot hold. */
	memset(line, 'a', 100);
	snprintf(line + 100, sizeof(line) - 100, ":1\n");
	snprintf(text, sizeof(text), "advertise = %s", line);
	assert_bad(text, 1, "advertise: address longer than 95 bytes");
	text[0] = '\0';
	for (i = 0; i <= CONFIG_ADVERTISE_MAX; i++) {
		snprintf(line, sizeof(line), "advertise = 192.0.2.1:%d\n",
		    7000 + i);
		strcat(text, line);
	}
	assert_bad(text, CONFIG_ADVERTISE_MAX + 1, "advertise: more than 16 "
	    "addresses");
}
END_TEST

START_TEST(test_nul_byte)
{
	struct config	 c;
	const char	*err;
	int		 fd;

	config_init(&c);
	snprintf(path, sizeof(path), "/tmp/peerd-test-conf.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, "name = a\0b\n", 11), 11);
	close(fd);
	{
		static char	e[256];

		ck_assert_int_eq(config_load(&c, path, e, sizeof(e)), -1);
		err = e;
	}
	unlink(path);
	ck_assert(strstr(err, ":1: NUL byte") != NULL);
}
END_TEST

START_TEST(test_missing_file)
{
	struct config	c;
	char		err[256];

	config_init(&c);
	ck_assert_int_eq(config_load(&c, "/nonexistent/peerd.conf", err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "/nonexistent/peerd.conf: No such file or "
	    "directory");
}
END_TEST

START_TEST(test_overrides)
{
	struct config	c;
	char		err[256];

	ck_assert_str_eq(load(&c, "listen = 127.0.0.1:1\nlisten = "
	    "127.0.0.1:2\nname = file\n"), "");
	/* The first command-line listen replaces the file's list. */
	ck_assert_int_eq(config_override(&c, "listen", "127.0.0.1:3", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(config_override(&c, "listen", "[::1]:4", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(c.nlisten, 2);
	ck_assert_str_eq(c.listen[0], "127.0.0.1:3");
	ck_assert_str_eq(c.listen[1], "[::1]:4");
	ck_assert_int_eq(config_override(&c, "name", "cli", err,
	    sizeof(err)), 0);
	ck_assert_str_eq(c.name, "cli");
	ck_assert_int_eq(config_override(&c, "log_level", "verbose", err,
	    sizeof(err)), -1);
	ck_assert(strstr(err, "log_level") != NULL);
}
END_TEST

/* The key-value store's keys: defaults, ranges, and max_message's bound. */
START_TEST(test_flood_keys)
{
	struct config	 c;
	char		 err[256];

	ck_assert_str_eq(load(&c, ""), "");
	ck_assert_int_eq(config_finish(&c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.new_members_rate, 50000);
	ck_assert_uint_eq(c.members_soft, 3072);
	ck_assert_uint_eq(c.members_settle, 600000);
	ck_assert_uint_eq(c.gossip_rate, 64u << 10);
	ck_assert_uint_eq(c.dial_rate_per_address, 200);

	/* Rates: decimals kept as thousandths, three at most. */
	ck_assert_str_eq(load(&c, "dial_rate_per_address = 0.05\n"
	    "dial_rate_per_host = 2.5\nnew_members_rate = 7\n"
	    "gossip_rate = 16K\ngossip_burst = 256K\nmembers_soft = 256\n"
	    "intro_quota = 64\nmembers_settle = 10s\n"), "");
	ck_assert_int_eq(config_finish(&c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.dial_rate_per_address, 50);
	ck_assert_uint_eq(c.dial_rate_per_host, 2500);
	ck_assert_uint_eq(c.new_members_rate, 7000);
	ck_assert_uint_eq(c.gossip_rate, 16u << 10);
	ck_assert_uint_eq(c.members_settle, 10000);
	assert_bad("dial_rate = 1.2345\n", 1, "at most three decimals");
	assert_bad("dial_rate = .5\n", 1, "is not a number");
	assert_bad("dial_rate = 0.5\n", 1, "out of range (1.000-10000.000)");
	assert_bad("dial_rate_per_address = 0.001\n", 1, "out of range");
	assert_bad("dial_rate = 99999999999999999999\n", 1,
	    "is not a number");
	assert_bad("gossip_burst = 128K\n", 1, "out of range");
	assert_bad("members_soft = 5000\n", 1, "out of range");
	/* The quota cannot exceed the size it applies above. */
	ck_assert_str_eq(load(&c, "members_soft = 256\nintro_quota = 512\n"),
	    "");
	ck_assert_int_eq(config_finish(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "intro_quota"));
}
END_TEST

START_TEST(test_kv_keys)
{
	struct config	 c;
	char		 err[256], dump[4096];
	FILE		*f;

	ck_assert_str_eq(load(&c, ""), "");
	ck_assert_int_eq(config_finish(&c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.kv_replicas, 3);
	ck_assert_str_eq(c.kv_group, "");
	ck_assert_uint_eq(c.kv_tombstone_ttl, 24 * 3600000);
	ck_assert_uint_eq(c.kv_value_max, 1u << 20);
	ck_assert_uint_eq(c.kv_max_bytes, 1u << 30);
	ck_assert_uint_eq(c.kv_sync_interval, 10000);
	ck_assert_uint_eq(c.key_retired_keep, UINT64_C(7) * 24 * 3600000);
	ck_assert_str_eq(load(&c, "key_retired_keep = 0\n"), "");
	ck_assert_uint_eq(c.key_retired_keep, 0);

	ck_assert_str_eq(load(&c, "kv_replicas = 5\nkv_group = store-1\n"
	    "kv_tombstone_ttl = 2h\nkv_value_max = 64K\nkv_max_bytes = 2G\n"
	    "kv_sync_interval = 500ms\n"), "");
	ck_assert_int_eq(config_finish(&c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.kv_replicas, 5);
	ck_assert_str_eq(c.kv_group, "store-1");
	ck_assert_uint_eq(c.kv_tombstone_ttl, 7200000);
	ck_assert_uint_eq(c.kv_value_max, 64u << 10);
	ck_assert_uint_eq(c.kv_max_bytes, UINT64_C(2) << 30);
	ck_assert_uint_eq(c.kv_sync_interval, 500);
	ck_assert_ptr_nonnull(f = fmemopen(dump, sizeof(dump), "w"));
	config_dump(&c, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(dump, "kv_replicas = 5\n"
	    "kv_group = store-1\nkv_tombstone_ttl = 7200000ms\n"
	    "kv_value_max = 65536\nkv_max_bytes = 2147483648\n"
	    "kv_sync_interval = 500ms\n"));

	/* Empty: every member holds the store, as when it is not set. */
	ck_assert_str_eq(load(&c, "kv_group =\n"), "");
	ck_assert_str_eq(c.kv_group, "");
	ck_assert_int_eq(config_override(&c, "kv_group", "edge", err,
	    sizeof(err)), 0);
	ck_assert_str_eq(c.kv_group, "edge");
	ck_assert_int_eq(config_override(&c, "kv_replicas", "8", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "kv_replicas: 8 out of range "
	    "(1-7)"));

	assert_bad("kv_replicas = 0\n", 1, "kv_replicas: 0 out of range (1-7)");
	assert_bad("key_retired_keep = 8761h\n", 1, "key_retired_keep: 8761h "
	    "out of range (0-31536000000 ms)");
	assert_bad("kv_group = Store\n", 1, "kv_group: \"Store\" is not empty "
	    "or a name");
	assert_bad("kv_group = a\nkv_group = b\n", 2,
	    "kv_group: already set on line 1");
	assert_bad("kv_tombstone_ttl = 999\n", 1, "kv_tombstone_ttl: 999 out "
	    "of range (1000-31536000000 ms)");
	assert_bad("kv_value_max = 1023\n", 1, "kv_value_max: 1023 out of "
	    "range (1024-1073741824)");
	assert_bad("kv_max_bytes = 1023K\n", 1, "kv_max_bytes: 1023K out of "
	    "range (1048576-1099511627776)");
	assert_bad("kv_sync_interval = 50ms\n", 1, "kv_sync_interval: 50ms "
	    "out of range (100-3600000 ms)");
	assert_bad("kv_sync_interval = 2h\n", 1, "out of range");

	/* A value fits in a message: the default gives way, a setting not. */
	ck_assert_str_eq(load(&c, "max_message = 512K\n"), "");
	ck_assert_int_eq(config_finish(&c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.kv_value_max, (512u << 10) - 1024);
	ck_assert_str_eq(load(&c, "max_message = 512K\nkv_value_max = 1M\n"),
	    "");
	ck_assert_int_eq(config_finish(&c, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "kv_value_max (1048576) is above max_message "
	    "less 1024 (523264)");
	/* A value as large as a message leaves no room for its key. */
	ck_assert_str_eq(load(&c, "max_message = 512K\nkv_value_max = 512K\n"),
	    "");
	ck_assert_int_eq(config_finish(&c, err, sizeof(err)), -1);
	ck_assert_str_eq(load(&c, "max_message = 512K\nkv_value_max = 511K\n"),
	    "");
	ck_assert_int_eq(config_finish(&c, err, sizeof(err)), 0);
}
END_TEST

/* conf/peerd.conf with its commented-out "#key = value" lines enabled. */
static char *
example_uncommented(void)
{
	static char	text[16384];
	char		line[512];
	size_t		len = 0;
	FILE		*f;

	ck_assert_ptr_nonnull(f = fopen("conf/peerd.conf", "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		const char	*l = line;

		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
		    strstr(line, " = ") != NULL)
			l++;
		ck_assert_uint_lt(len + strlen(l), sizeof(text));
		memcpy(text + len, l, strlen(l) + 1);
		len += strlen(l);
	}
	fclose(f);
	return text;
}

START_TEST(test_example_config_matches_defaults)
{
	struct config	 ex, def;
	char		 err[256], dump[4096], key[64];
	const char	*text = example_uncommented(), *p;
	FILE		*f;

	ck_assert_str_eq(load(&ex, text), "");
	config_init(&def);
	ck_assert_int_eq(config_finish(&def, err, sizeof(err)), 0);
	ck_assert_int_eq(ex.nlisten, def.nlisten);
	ck_assert_str_eq(ex.listen[0], def.listen[0]);
	ck_assert_str_eq(ex.listen[1], def.listen[1]);
	ck_assert_int_eq(ex.log_level, def.log_level);
	ck_assert_uint_eq(ex.max_message, def.max_message);
	ck_assert_uint_eq(ex.max_clients, def.max_clients);
	ck_assert_uint_eq(ex.max_handshakes, def.max_handshakes);
	ck_assert_uint_eq(ex.max_handshakes_per_address,
	    def.max_handshakes_per_address);

	/* Every key the daemon knows is documented there. */
	ck_assert_ptr_nonnull(f = fmemopen(dump, sizeof(dump), "w"));
	config_dump(&def, f);
	fclose(f);
	for (p = dump; *p != '\0'; p = strchr(p, '\n') + 1) {
		ck_assert_int_eq(sscanf(p, "%63s =", key), 1);
		strcat(key, " = ");
		ck_assert_msg(strstr(text, key) != NULL,
		    "key %s missing from conf/peerd.conf", key);
	}
	config_free(&ex);	/* its service line */
}
END_TEST

/* Handlers are kept as written, with their place; -o replaces them. */
START_TEST(test_handlers_kept)
{
	struct config	 c;
	char		 err[256], dump[4096], text[64 * 40 + 64];
	FILE		*f;
	int		 i;

	ck_assert_str_eq(load(&c, "handler = member-* /bin/true\n"
	    "handler_jobs = 2\n"
	    "handler = \"service-* /bin/echo '#' x\"  # quoted for the #\n"
	    "handler_timeout = 5s\n"), "");
	ck_assert_int_eq(c.nhandlers, 2);
	ck_assert_str_eq(c.handlers[0].text, "member-* /bin/true");
	ck_assert_int_eq(c.handlers[0].line, 1);
	ck_assert_str_eq(c.handlers[0].file, path);
	ck_assert_str_eq(c.handlers[1].text, "service-* /bin/echo '#' x");
	ck_assert_int_eq(c.handlers[1].line, 3);
	ck_assert_uint_eq(c.handler_jobs, 2);
	ck_assert_uint_eq(c.handler_timeout, 5000);
	ck_assert_ptr_nonnull(f = fmemopen(dump, sizeof(dump), "w"));
	config_dump(&c, f);
	fclose(f);
	ck_assert(strstr(dump, "handler_jobs = 2\nhandler_timeout = 5000ms\n"
	    "handler = member-* /bin/true\t# ") != NULL);

	/* The first -o handler replaces the file's, the next adds. */
	ck_assert_int_eq(config_override(&c, "handler", "* /bin/a", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(config_override(&c, "handler", "* /bin/b", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(c.nhandlers, 2);
	ck_assert_str_eq(c.handlers[0].text, "* /bin/a");
	ck_assert_ptr_null(c.handlers[0].file);
	ck_assert_str_eq(c.handlers[1].text, "* /bin/b");
	config_free(&c);
	ck_assert_int_eq(c.nhandlers, 0);

	text[0] = '\0';
	for (i = 0; i <= CONFIG_HANDLERS_MAX; i++)
		strcat(text, "handler = * /bin/true\n");
	assert_bad(text, CONFIG_HANDLERS_MAX + 1, "handler: more than 64 "
	    "handlers");
	assert_bad("handler =\n", 1, "handler: a handler is 1-4096 bytes");
	assert_bad("handler_jobs = 0\n", 1, "handler_jobs: 0 out of range "
	    "(1-64)");
	assert_bad("handler_jobs = 65\n", 1, "out of range");
	assert_bad("handler_timeout = 50ms\n", 1, "handler_timeout: 50ms out "
	    "of range (100-3600000 ms)");
	assert_bad("handler_jobs = 2\nhandler_jobs = 3\n", 2,
	    "handler_jobs: already set on line 1");
}
END_TEST

Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("config");

	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_mesh_keys);
	tcase_add_test(tc, test_claim_keys);
	tcase_add_test(tc, test_empty_file_gives_defaults);
	tcase_add_test(tc, test_systemd_directories);
	tcase_add_test(tc, test_bad_lines);
	tcase_add_test(tc, test_too_many_listen);
	tcase_add_test(tc, test_advertise);
	tcase_add_test(tc, test_metrics_listen);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_overrides);
	tcase_add_test(tc, test_example_config_matches_defaults);
	tcase_add_test(tc, test_handlers_kept);
	tcase_add_test(tc, test_kv_keys);
	tcase_add_test(tc, test_flood_keys);
	suite_add_tcase(s, tc);
	return s;
}
