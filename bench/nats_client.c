/* SPDX-License-Identifier: ISC */
/*
 * nats_client.c: a minimal NATS client for call_bench's baseline.
 * What a server sends is untrusted: a control line is read only up
 * to NATS_LINE_MAX, a payload length only up to the caller's maximum,
 * and both are checked before anything is taken from the buffer.
 */
#include <sys/socket.h>

#include <netinet/tcp.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bench_common.h"
#include "nats_client.h"

#define NTOK		6	/* MSG has at most 5 tokens; one more: too many */
#define SIZE_DIGITS	9

struct tok {
	const char	*p;
	size_t		 len;
};

static bool
tok_is(const struct tok *t, const char *s)
{
	return t->len == strlen(s) && strncasecmp(t->p, s, t->len) == 0;
}

/* What the server said, printable, for a message. */
static void
show(char *out, size_t outsz, const char *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len && i + 1 < outsz; i++)
		out[i] = isprint((unsigned char)p[i]) ? p[i] : '?';
	out[i] = '\0';
}

/* Splits line[len] at spaces and tabs; the number of tokens. */
static int
split(const char *line, size_t len, struct tok *t)
{
	size_t	i = 0, start;
	int	n = 0;

	while (i < len && n < NTOK) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		t[n].p = line + start;
		t[n].len = i - start;
		n++;
	}
	return n;
}

int
nats_parse(const char *who, const uint8_t *buf, size_t len, size_t max,
    struct nats_msg *m)
{
	const char	*line = (const char *)buf;
	const uint8_t	*nl;
	struct tok	 t[NTOK];
	char		 text[128];
	size_t		 llen, size, i;
	int		 n;

	nl = memchr(buf, '\n', len < NATS_LINE_MAX ? len : NATS_LINE_MAX);
	if (nl == NULL) {
		if (len >= NATS_LINE_MAX)
			errx(1, "%s: a line from the server longer than %d "
			    "bytes", who, NATS_LINE_MAX);
		return 0;
	}
	if (nl == buf || nl[-1] != '\r')
		errx(1, "%s: a line from the server not ended by CRLF", who);
	llen = (size_t)(nl - buf) - 1;
	memset(m, 0, sizeof(*m));
	m->total = llen + 2;
	if ((n = split(line, llen, t)) == 0)
		errx(1, "%s: an empty line from the server", who);
	if (tok_is(&t[0], "-ERR")) {
		show(text, sizeof(text), line, llen);
		errx(1, "%s: the server says %s", who, text);
	}
	if (tok_is(&t[0], "PING") || tok_is(&t[0], "PONG") ||
	    tok_is(&t[0], "+OK")) {
		if (n != 1)
			goto bad;
		m->op = tok_is(&t[0], "PING") ? NATS_PING :
		    tok_is(&t[0], "PONG") ? NATS_PONG : NATS_OK;
		return 1;
	}
	if (tok_is(&t[0], "INFO")) {
		m->op = NATS_INFO;
		return 1;
	}
	if (!tok_is(&t[0], "MSG") || n < 4 || n > 5)
		goto bad;

	/* MSG subject sid [reply] size */
	m->op = NATS_MSG;
	m->subject = t[1].p;
	m->subject_len = t[1].len;
	m->sid = t[2].p;
	m->sid_len = t[2].len;
	if (n == 5) {
		m->reply = t[3].p;
		m->reply_len = t[3].len;
	}
	if (t[n - 1].len > SIZE_DIGITS)
		goto bad;
	for (i = 0, size = 0; i < t[n - 1].len; i++) {
		if (!isdigit((unsigned char)t[n - 1].p[i]))
			goto bad;
		size = size * 10 + (size_t)(t[n - 1].p[i] - '0');
	}
	if (size > max)
		errx(1, "%s: a message of %zu bytes, more than %zu", who,
		    size, max);
	if (len - m->total < size + 2)
		return 0;
	m->data = buf + m->total;
	m->len = size;
	if (m->data[size] != '\r' || m->data[size + 1] != '\n')
		errx(1, "%s: a message of %zu bytes not ended by CRLF", who,
		    size);
	m->total += size + 2;
	return 1;
bad:
	show(text, sizeof(text), line, llen);
	errx(1, "%s: the server sent \"%s\"", who, text);
}

void
nats_write(int fd, const void *buf, size_t len)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLOUT };
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EAGAIN)
				(void)poll(&pfd, 1, 1000);
			else if (errno != EINTR)
				err(1, "write to the NATS server");
			bench_check_quit();
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
}

int
nats_open(const char *who, const struct sockaddr_in *sin,
    const char *subject, int secs)
{
	struct pollfd	 pfd;
	struct nats_msg	 m;
	uint8_t		 buf[2 * NATS_LINE_MAX];
	char		 hello[NATS_LINE_MAX];
	size_t		 len = 0;
	ssize_t		 n;
	double		 end = bench_now() + secs;
	int		 fd, on = 1, hlen;
	bool		 info = false;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1)
		err(1, "%s: connect to the NATS server", who);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	hlen = snprintf(hello, sizeof(hello), "CONNECT {\"verbose\":false,"
	    "\"pedantic\":false,\"name\":\"%s\"}\r\nSUB %s 1\r\nPING\r\n",
	    who, subject);
	if (hlen < 0 || (size_t)hlen >= sizeof(hello))
		errx(1, "%s: subject too long", who);
	nats_write(fd, hello, (size_t)hlen);

	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		while (nats_parse(who, buf, len, 0, &m) == 1) {
			if (m.op == NATS_PONG && info) {
				if (m.total != len)
					errx(1, "%s: more than PONG from the "
					    "NATS server", who);
				return fd;
			}
			if (m.op != (info ? NATS_PING : NATS_INFO))
				errx(1, "%s: the NATS server did not start "
				    "with INFO and PONG", who);
			if (m.op == NATS_PING)
				nats_write(fd, "PONG\r\n", 6);
			info = true;
			len -= m.total;
			memmove(buf, buf + m.total, len);
		}
		if (bench_now() >= end)
			errx(1, "%s: no PONG from the NATS server within %d s",
			    who, secs);
		if (poll(&pfd, 1, 100) == -1 && errno != EINTR)
			err(1, "%s: poll", who);
		bench_check_quit();
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if ((n = read(fd, buf + len, sizeof(buf) - len)) == 0)
			errx(1, "%s: the NATS server closed", who);
		if (n == -1 && errno != EINTR)
			err(1, "%s: read", who);
		if (n > 0)
			len += (size_t)n;
	}
}
