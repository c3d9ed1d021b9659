/* SPDX-License-Identifier: ISC */
/*
 * test_lifecycle.c: starting, reporting, reloading and stopping peerd.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"
#include "peer.h"
#include "suites.h"

static struct daemon	d, other_d;

/* A daemon answers on sock. */
static bool
peer_serving(const char *sock)
{
	struct peer	*p = peer_open(sock, NULL);

	peer_close(p);
	return p != NULL;
}

static void
setup(void)
{
	daemon_init(&d);
	daemon_init(&other_d);
}

static void
teardown(void)
{
	daemon_free(&d);
	daemon_free(&other_d);
}

/* Runs peerctl -s SOCK args...; returns its exit status. */
static int
peerctl(const char *sock, const char *a1, const char *a2, char *out,
    size_t outlen, char *err, size_t errlen)
{
	const char	*argv[] = { peerctl_bin(), "-s", sock, a1, a2, NULL };

	return run_capture(argv, out, outlen, err, errlen);
}

START_TEST(test_status_json)
{
	char		 out[8192], err[1024], id[128];
	json_t		*j, *listen;
	json_error_t	 jerr;
	const char	*node, *addr;
	int		 port;

	daemon_start(&d, "alpha", NULL);
	ck_assert_int_eq(peerctl(d.sock, "status", "--json", out, sizeof(out),
	    err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(j = json_loads(out, 0, &jerr));
	node = json_string_value(json_object_get(j, "node"));
	ck_assert_ptr_nonnull(node);
	ck_assert_uint_eq(strlen(node), 52);
	ck_assert_uint_eq(strspn(node, "abcdefghijklmnopqrstuvwxyz234567"), 52);
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")),
	    "alpha");
	ck_assert_str_eq(json_string_value(json_object_get(j, "version")),
	    "0.1.0");
	ck_assert(json_is_integer(json_object_get(j, "uptime_ms")));
	ck_assert(json_integer_value(json_object_get(j, "uptime_ms")) >= 0);
	ck_assert(json_integer_value(json_object_get(j, "uptime_ms")) < 60000);
	listen = json_object_get(j, "listen");
	ck_assert_uint_eq(json_array_size(listen), 1);
	addr = json_string_value(json_array_get(listen, 0));
	ck_assert_int_eq(sscanf(addr, "127.0.0.1:%d", &port), 1);
	ck_assert_int_gt(port, 0);	/* the bound port, not the 0 asked for */

	/* peerctl id agrees, and the ID survives a restart. */
	ck_assert_int_eq(peerctl(d.sock, "id", NULL, id, sizeof(id), err,
	    sizeof(err)), 0);
	id[strcspn(id, "\n")] = '\0';
	ck_assert_str_eq(id, node);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM), 0);
	daemon_start(&d, "alpha", NULL);
	ck_assert_int_eq(peerctl(d.sock, "id", NULL, id, sizeof(id), err,
	    sizeof(err)), 0);
	id[strcspn(id, "\n")] = '\0';
	ck_assert_str_eq(id, node);
	json_decref(j);
}
END_TEST

START_TEST(test_status_human)
{
	char	out[4096], err[1024];

	daemon_start(&d, "beta", NULL);
	ck_assert_int_eq(peerctl(d.sock, "status", NULL, out, sizeof(out), err,
	    sizeof(err)), 0);
	ck_assert_msg(strstr(out, "name      beta\n") != NULL, "%s", out);
	ck_assert(strstr(out, "listen    127.0.0.1:") != NULL);
}
END_TEST

START_TEST(test_key_files_private)
{
	struct stat	st;
	char		path[256];

	daemon_start(&d, NULL, NULL);
	snprintf(path, sizeof(path), "%s/identity.key", d.state);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(st.st_size, 32);
	snprintf(path, sizeof(path), "%s/network.key", d.state);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM), 0);

	/* A key others can read stops the start, saying why. */
	ck_assert_int_eq(chmod(path, 0644), 0);
	{
		const char *const tail[] = { "--state-dir", d.state, "-S",
		    d.sock, "--listen", "127.0.0.1:0", NULL };
		int	status = daemon_run_to_exit(&d, tail);

		ck_assert(WIFEXITED(status));
		ck_assert_int_eq(WEXITSTATUS(status), 1);
	}
	ck_assert(daemon_log_has(&d, "gives others access to a secret key; run chmod 600"));
}
END_TEST

/* peerd -n refuses what the start refuses, and creates nothing. */
START_TEST(test_check_config_checks_key_files)
{
	const char *const tail[] = { "-n", "--state-dir", d.state, "-S", d.sock,
	    NULL };
	char		 path[256];
	int		 status;

	/* Nothing there yet: fine, and nothing is made. */
	status = daemon_run_to_exit(&d, tail);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(access(d.state, F_OK), -1);

	daemon_start(&d, NULL, NULL);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM), 0);
	snprintf(path, sizeof(path), "%s/network.key", d.state);
	ck_assert_int_eq(chmod(path, 0644), 0);
	status = daemon_run_to_exit(&d, tail);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 1);
	ck_assert(daemon_log_has(&d, "network.key: mode 0644 gives others "
	    "access to a secret key; run chmod 600"));

	/* A key file of the wrong size. */
	ck_assert_int_eq(truncate(path, 31), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
	status = daemon_run_to_exit(&d, tail);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	ck_assert(daemon_log_has(&d, "network.key: not a key file"));
}
END_TEST

/*
 * peerd -n while the daemon of that configuration runs (before a
 * restart, say) passes, and says that a start would not.
 */
START_TEST(test_check_config_beside_running_daemon)
{
	const char *const tail[] = { "-n", "--state-dir", d.state, "-S", d.sock,
	    NULL };
	char		 out[256], err[256];
	int		 status;

	daemon_start(&d, NULL, NULL);
	status = daemon_run_to_exit(&other_d, tail);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(daemon_log_has(&other_d, "peerd: note: another peerd uses "
	    "the state directory"));
	ck_assert(daemon_log_has(&other_d, "peerd: note: another peerd is "
	    "already serving"));
	/* The running one did not notice. */
	ck_assert_int_eq(peerctl(d.sock, "status", NULL, out, sizeof(out), err,
	    sizeof(err)), 0);
}
END_TEST

/* A socket path that cannot work fails peerd -n too. */
START_TEST(test_check_config_checks_socket_path)
{
	char		 sock[256];
	const char *const tail[] = { "-n", "--state-dir", d.state, "-S", sock,
	    NULL };
	int		 status;
	FILE		*f;

	snprintf(sock, sizeof(sock), "%s/plain", d.dir);
	ck_assert_ptr_nonnull(f = fopen(sock, "w"));
	fclose(f);
	status = daemon_run_to_exit(&d, tail);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	ck_assert(daemon_log_has(&d, "plain exists and is not a socket"));

	/* Only the socket's own directory is made, not its parents. */
	snprintf(sock, sizeof(sock), "%s/no/such/peerd.sock", d.dir);
	status = daemon_run_to_exit(&d, tail);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	ck_assert(daemon_log_has(&d, "only the socket's own directory is "
	    "created"));
	ck_assert_int_eq(access(d.state, F_OK), -1);
}
END_TEST

START_TEST(test_sigterm_removes_socket)
{
	char	lock[256];
	int	status;

	daemon_start(&d, NULL, NULL);
	ck_assert_int_eq(access(d.sock, F_OK), 0);
	snprintf(lock, sizeof(lock), "%s.lock", d.sock);
	ck_assert_int_eq(access(lock, F_OK), 0);
	status = daemon_stop(&d, SIGTERM);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(access(d.sock, F_OK), -1);
	ck_assert_int_eq(access(lock, F_OK), -1);
	ck_assert(daemon_log_has(&d, "shutting down"));
	/* And a start after it takes the socket again. */
	daemon_start(&d, NULL, NULL);
	ck_assert_int_eq(access(lock, F_OK), 0);
}
END_TEST

START_TEST(test_second_daemon_refuses)
{
	char		 out[4096], err[1024];
	int		 status;

	daemon_start(&d, "first", NULL);
	{
		const char *const tail[] = { "--state-dir", other_d.state,
		    "-S", d.sock, "--listen", "127.0.0.1:0", NULL };

		status = daemon_run_to_exit(&other_d, tail);
	}
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 1);
	ck_assert(daemon_log_has(&other_d, "another peerd is already "
	    "serving"));
	/* It stopped before making its state directory and keys. */
	ck_assert_msg(access(other_d.state, F_OK) == -1, "%s was created",
	    other_d.state);
	/* The first one still owns the socket and answers. */
	ck_assert_int_eq(peerctl(d.sock, "status", NULL, out, sizeof(out), err,
	    sizeof(err)), 0);
	ck_assert(strstr(out, "first") != NULL);
}
END_TEST

START_TEST(test_state_dir_in_use)
{
	char	sock[256];
	int	status;

	daemon_start(&d, "first", NULL);
	snprintf(sock, sizeof(sock), "%s/other.sock", d.dir);
	{
		const char *const tail[] = { "--state-dir", d.state, "-S", sock,
		    "--listen", "127.0.0.1:0", "-o", "discovery=no", NULL };

		status = daemon_run_to_exit(&other_d, tail);
	}
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	ck_assert(daemon_log_has(&other_d, "another peerd uses the state "
	    "directory"));
}
END_TEST

/* A mesh address already taken stops the start before any file is made. */
START_TEST(test_taken_port_creates_nothing)
{
	char	addr[64];
	int	fd, port, status;

	fd = loopback_socket(&port);
	ck_assert_int_eq(listen(fd, 1), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	{
		const char *const tail[] = { "--state-dir", d.state, "-S",
		    d.sock, "--listen", addr, "-o", "discovery=no", NULL };

		status = daemon_run_to_exit(&d, tail);
	}
	close(fd);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	ck_assert(daemon_log_has(&d, "cannot listen for mesh connections"));
	ck_assert_msg(access(d.state, F_OK) == -1, "%s was created", d.state);
}
END_TEST

START_TEST(test_stale_socket_replaced)
{
	char	out[4096], err[1024];

	daemon_start(&d, "crashed", NULL);
	daemon_stop(&d, SIGKILL);
	ck_assert_int_eq(access(d.sock, F_OK), 0);	/* left behind */
	daemon_start(&d, "restarted", NULL);
	ck_assert_int_eq(peerctl(d.sock, "status", NULL, out, sizeof(out), err,
	    sizeof(err)), 0);
	ck_assert(strstr(out, "restarted") != NULL);
	ck_assert(daemon_log_has(&d, "removing stale socket"));
}
END_TEST

START_TEST(test_simultaneous_start_on_stale_socket)
{
	int		 round, s1, s2;
	long		 deadline;
	pid_t		 p1, p2;

	/* other_d, not a local, so that teardown stops and removes it. */
	for (round = 0; round < 5; round++) {
		if (other_d.dir[0] == '\0')
			daemon_init(&other_d);
		/* A stale socket file, as a crashed daemon leaves it. */
		daemon_start(&d, NULL, NULL);
		daemon_stop(&d, SIGKILL);
		{
			const char *const t1[] = { peerd_bin(), "--state-dir",
			    d.state, "-S", d.sock, "--listen", "127.0.0.1:0",
			    "-o", "discovery=no", NULL };
			const char *const t2[] = { peerd_bin(), "--state-dir",
			    other_d.state, "-S", d.sock, "--listen",
			    "127.0.0.1:0", "-o", "discovery=no", NULL };

			ck_assert_int_ne(p1 = fork(), -1);
			if (p1 == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				execv(t1[0], (char *const *)t1);
				_exit(127);
			}
			d.pid = p1;
			ck_assert_int_ne(p2 = fork(), -1);
			if (p2 == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				execv(t2[0], (char *const *)t2);
				_exit(127);
			}
			other_d.pid = p2;
		}
		/* Exactly one refuses; the other serves. */
		deadline = test_now_ms() + 5000;
		while (waitpid(p1, &s1, WNOHANG) == 0 &&
		    waitpid(p2, &s2, WNOHANG) == 0 && test_now_ms() < deadline)
			usleep(10000);
		if (kill(p1, 0) == 0) {
			ck_assert_msg(kill(p2, 0) == -1, "round %d: both "
			    "daemons still run on one socket after 5 s", round);
			other_d.pid = -1;
			ck_assert(WIFEXITED(s2) && WEXITSTATUS(s2) == 1);
		} else {
			d.pid = -1;
			ck_assert(WIFEXITED(s1) && WEXITSTATUS(s1) == 1);
		}
		ck_assert(peer_serving(d.sock));
		daemon_free(&other_d);
		if (d.pid != -1)
			daemon_stop(&d, SIGTERM);
	}
}
END_TEST

START_TEST(test_state_dir_created_and_checked)
{
	/* Missing parents are created. */
	snprintf(d.state, sizeof(d.state), "%s/a/b/c", d.dir);
	daemon_start(&d, NULL, NULL);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM), 0);
	/* A directory others can write to is refused. */
	ck_assert_int_eq(chmod(d.state, 0770), 0);
	{
		const char *const tail[] = { "--state-dir", d.state, "-S",
		    d.sock, "--listen", "127.0.0.1:0", NULL };
		int	status = daemon_run_to_exit(&d, tail);

		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	}
	ck_assert(daemon_log_has(&d, "that only it can write to"));
}
END_TEST

START_TEST(test_bad_config_exits_2)
{
	const char *const tail[] = { "-c", d.conf, "--state-dir", d.state,
	    "-S", d.sock, NULL };
	int		 status;

	daemon_config(&d, "# test\nping_everything = yes\n");
	status = daemon_run_to_exit(&d, tail);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 2);
	ck_assert(daemon_log_has(&d, "peerd.conf:2: ping_everything: unknown "
	    "key"));
	ck_assert_int_eq(access(d.state, F_OK), -1);	/* nothing created */
}
END_TEST


START_TEST(test_sighup_reloads_log_level)
{
	daemon_config(&d, "log_level = info\n");
	daemon_start(&d, NULL, NULL);
	daemon_config(&d, "log_level = warn\n");
	kill(d.pid, SIGHUP);
	ck_assert_msg(daemon_log_wait(&d, "reload: log_level warn", 3000),
	    "no reload line in %s", d.log);
	/* A bad file on reload keeps the daemon and its settings. */
	daemon_config(&d, "log_level = shouting\n");
	kill(d.pid, SIGHUP);
	ck_assert_msg(daemon_log_wait(&d, "keeping the running configuration",
	    3000),
	    "no refusal line in %s", d.log);
	ck_assert_int_eq(kill(d.pid, 0), 0);
}
END_TEST

/* Reads one datagram within 3 s into buf; false if none came. */
static bool
read_notify(int fd, char *buf, size_t len)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	ssize_t		n;

	if (poll(&pfd, 1, 3000) != 1 || (n = recv(fd, buf, len - 1, 0)) <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

START_TEST(test_systemd_notify)
{
	struct sockaddr_un	sun;
	char			msg[512];
	int			fd, status;

	/* A service manager's notify socket, and a 200 ms watchdog. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/notify", d.dir);
	ck_assert_int_ne(fd = socket(AF_UNIX, SOCK_DGRAM, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	snprintf(d.env[0], sizeof(d.env[0]), "NOTIFY_SOCKET=%s", sun.sun_path);
	snprintf(d.env[1], sizeof(d.env[1]), "WATCHDOG_USEC=200000");
	daemon_start(&d, "notified", NULL);
	ck_assert(read_notify(fd, msg, sizeof(msg)));
	ck_assert_msg(strncmp(msg, "READY=1\nSTATUS=node ", 20) == 0, "%s",
	    msg);
	ck_assert(strstr(msg, "(notified)") != NULL);
	ck_assert(read_notify(fd, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "WATCHDOG=1");
	status = daemon_stop(&d, SIGTERM);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Watchdog pets may come first; STOPPING must be among them. */
	do
		ck_assert(read_notify(fd, msg, sizeof(msg)));
	while (strcmp(msg, "WATCHDOG=1") == 0);
	ck_assert_str_eq(msg, "STOPPING=1");
	close(fd);
}
END_TEST

START_TEST(test_peerctl_without_daemon)
{
	char	out[1024], err[1024], sock[256];

	snprintf(sock, sizeof(sock), "%s/none.sock", d.dir);
	ck_assert_int_eq(peerctl(sock, "status", NULL, out, sizeof(out), err,
	    sizeof(err)), 3);
	ck_assert_msg(strstr(err, "cannot reach peerd at") != NULL, "%s", err);
	ck_assert_str_eq(out, "");
	/* One line only. */
	ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1);
}
END_TEST

START_TEST(test_peerctl_usage)
{
	char		out[4096], err[1024];
	const char	*help[] = { peerctl_bin(), "--help", NULL };
	const char	*bad[] = { peerctl_bin(), "frobnicate", NULL };
	const char	*cmdhelp[] = { peerctl_bin(), "status", "--help", NULL };

	ck_assert_int_eq(run_capture(help, out, sizeof(out), err, sizeof(err)),
	    0);
	ck_assert(strstr(out, "usage: peerctl") != NULL);
	ck_assert(strstr(out, "status") != NULL);
	ck_assert_int_eq(run_capture(bad, out, sizeof(out), err, sizeof(err)),
	    2);
	ck_assert(strstr(err, "unknown command: frobnicate") != NULL);
	ck_assert_int_eq(run_capture(cmdhelp, out, sizeof(out), err,
	    sizeof(err)), 0);
	ck_assert(strstr(out, "peerctl [-s socket] [--json] status") != NULL);
}
END_TEST

Suite *
lifecycle_suite(void)
{
	Suite	*s = suite_create("lifecycle");
	TCase	*tc = tcase_create("lifecycle");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_status_json);
	tcase_add_test(tc, test_status_human);
	tcase_add_test(tc, test_key_files_private);
	tcase_add_test(tc, test_check_config_checks_key_files);
	tcase_add_test(tc, test_check_config_beside_running_daemon);
	tcase_add_test(tc, test_check_config_checks_socket_path);
	tcase_add_test(tc, test_sigterm_removes_socket);
	tcase_add_test(tc, test_taken_port_creates_nothing);
	tcase_add_test(tc, test_second_daemon_refuses);
	tcase_add_test(tc, test_stale_socket_replaced);
	tcase_add_test(tc, test_state_dir_in_use);
	tcase_add_test(tc, test_bad_config_exits_2);
	tcase_add_test(tc, test_simultaneous_start_on_stale_socket);
	tcase_add_test(tc, test_state_dir_created_and_checked);
	tcase_add_test(tc, test_sighup_reloads_log_level);
	tcase_add_test(tc, test_systemd_notify);
	tcase_add_test(tc, test_peerctl_without_daemon);
	tcase_add_test(tc, test_peerctl_usage);
	suite_add_tcase(s, tc);
	return s;
}
