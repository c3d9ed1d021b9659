/* SPDX-License-Identifier: ISC */
/*
 * revoke.c: revocations.  An admin signs that a node is out; every node
 * checks the signature and that the signer is one of its admins, keeps
 * the signed form in STATE/revoked (each with a 2-byte length before
 * it, replaced atomically), floods it on, and hands it to peers whose
 * HELLO shows another set when their link comes up.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base32.h"
#include "cbor_scan.h"
#include "clock.h"
#include "link.h"
#include "log.h"
#include "members.h"
#include "nodemap.h"
#include "proto.h"
#include "ratelog.h"
#include "revoke.h"
#include "statefile.h"

#define REVOKED_FILE		"revoked"
/* The file at its largest: every revocation held, after its length. */
#define REVOKED_FILE_MAX	(REVOKE_MAX * (2 + REVOKE_RAW_MAX))

struct held {
	struct revocation	r;
	size_t			rawlen;
	uint8_t			raw[REVOKE_RAW_MAX];
};

struct revoke {
	struct revoke_params	 par;
	struct mesh		*mesh;
	const struct revoke_ops	*ops;
	void			*arg;
	struct nodemap		*held;		/* struct held, by revoked ID */
	uint8_t			 digest[REVOKE_DIGEST_LEN];
	struct cbor_buf		 out;
	struct ratelog		 drop_log;
};

static void
put_body(const struct revocation *r, struct cbor_buf *b)
{
	cbor_put_map(b, 5);
	cbor_put_text(b, "v");
	cbor_put_uint(b, REVOKE_VERSION);
	cbor_put_text(b, "id");
	cbor_put_bytes(b, r->id, NODE_ID_LEN);
	cbor_put_text(b, "by");
	cbor_put_bytes(b, r->by, NODE_ID_LEN);
	cbor_put_text(b, "ts");
	cbor_put_uint(b, r->ts);
	cbor_put_text(b, "why");
	cbor_put_text(b, r->why);
}

void
revocation_sign(const struct revocation *r, const uint8_t sk[64],
    struct cbor_buf *b)
{
	struct cbor_buf	body = { 0 };
	uint8_t		sig[crypto_sign_BYTES];

	put_body(r, &body);
	if (body.failed) {
		b->failed = true;
		cbor_buf_free(&body);
		return;
	}
	crypto_sign_detached(sig, NULL, body.data, body.len, sk);
	cbor_put_map(b, 2);
	cbor_put_text(b, "b");
	cbor_put_bytes(b, body.data, body.len);
	cbor_put_text(b, "s");
	cbor_put_bytes(b, sig, sizeof(sig));
	cbor_buf_free(&body);
}

/* The byte string of n bytes under key, or false. */
static bool
get_bytes(const struct cbor_field *f, int nf, const char *key,
    const uint8_t **p, size_t n)
{
	size_t	len;

	return cbor_field_bytes(f, nf, key, p, &len) && len == n;
}

/*
 * Splits a signed form into its checked fields, the body and the
 * signature, without checking the signature: enough to drop a copy of
 * what we hold, or what no admin signed, for a lookup.
 */
static int
revocation_parse(const uint8_t *buf, size_t len, struct revocation *r,
    const uint8_t **body, size_t *bodylen, const uint8_t **sig,
    const char **why)
{
	struct cbor_field	 top[4], f[8];
	const struct cbor_field	*b, *v;
	const uint8_t		*id, *by;
	const char		*s;
	size_t			 n;
	uint64_t		 version;
	int			 ntop, nf;

	memset(r, 0, sizeof(*r));
	*why = "malformed revocation";
	if (len > REVOKE_RAW_MAX ||
	    (ntop = cbor_scan_map(buf, len, top, 4)) != 2 ||
	    (b = cbor_field_get(top, ntop, "b")) == NULL ||
	    !cbor_read_bytes(b->val, b->vallen, body, bodylen) ||
	    !get_bytes(top, ntop, "s", sig, crypto_sign_BYTES) ||
	    (nf = cbor_scan_map(*body, *bodylen, f, 8)) == -1)
		return -1;
	if ((v = cbor_field_get(f, nf, "v")) == NULL ||
	    !cbor_read_uint(v->val, v->vallen, &version) ||
	    version != REVOKE_VERSION) {
		*why = "revocation of an unknown version";
		return -1;
	}
	if (!get_bytes(f, nf, "id", &id, NODE_ID_LEN) ||
	    !get_bytes(f, nf, "by", &by, NODE_ID_LEN) ||
	    (v = cbor_field_get(f, nf, "ts")) == NULL ||
	    !cbor_read_uint(v->val, v->vallen, &r->ts) ||
	    (v = cbor_field_get(f, nf, "why")) == NULL ||
	    !cbor_read_text(v->val, v->vallen, &s, &n))
		return -1;
	if (n > REVOKE_WHY_MAX || memchr(s, '\0', n) != NULL) {
		*why = "revocation reason too long";
		return -1;
	}
	memcpy(r->id, id, NODE_ID_LEN);
	memcpy(r->by, by, NODE_ID_LEN);
	memcpy(r->why, s, n);
	r->why[n] = '\0';
	return 0;
}

int
revocation_open(const uint8_t *buf, size_t len, struct revocation *r,
    const char **why)
{
	const uint8_t	*body, *sig;
	size_t		 bodylen;

	if (revocation_parse(buf, len, r, &body, &bodylen, &sig, why) == -1)
		return -1;
	/* The signature first: nothing unsigned is acted on. */
	if (crypto_sign_verify_detached(sig, body, bodylen, r->by) != 0) {
		*why = "bad signature";
		return -1;
	}
	return 0;
}

void
revocation_hash(const uint8_t id[NODE_ID_LEN], uint8_t out[REVOKE_DIGEST_LEN])
{
	static const char	label[] = "peerd/1 rv";
	crypto_generichash_state st;
	uint8_t			h[crypto_generichash_BYTES_MIN];

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)label,
	    sizeof(label) - 1);
	crypto_generichash_update(&st, id, NODE_ID_LEN);
	crypto_generichash_final(&st, h, sizeof(h));
	memcpy(out, h, REVOKE_DIGEST_LEN);
}

bool
revoke_has(const struct revoke *rv, const uint8_t *id)
{
	return rv != NULL && nodemap_get(rv->held, id) != NULL;
}

size_t
revoke_count(const struct revoke *rv)
{
	return nodemap_count(rv->held);
}

void
revoke_digest(const struct revoke *rv, uint8_t out[REVOKE_DIGEST_LEN])
{
	memcpy(out, rv->digest, REVOKE_DIGEST_LEN);
}

/*
 * Writes every held revocation to STATE/revoked, each after its length
 * (be16): 0600, replaced atomically.
 */
static int
revoke_save(struct revoke *rv)
{
	struct cbor_buf		 b = { 0 };
	const struct held	*h;
	const uint8_t		*id;
	uint8_t			 len[2];
	size_t			 i;
	int			 rc = -1;

	for (i = 0; i < nodemap_count(rv->held); i++) {
		h = nodemap_at(rv->held, i, &id);
		len[0] = (uint8_t)(h->rawlen >> 8);
		len[1] = (uint8_t)h->rawlen;
		cbor_put_raw(&b, len, sizeof(len));
		cbor_put_raw(&b, h->raw, h->rawlen);
	}
	if (b.failed)
		log_warnx("%s/%s: out of memory", rv->par.state_dir,
		    REVOKED_FILE);
	else
		rc = statefile_write(rv->par.state_dir, REVOKED_FILE, b.data,
		    b.len);
	cbor_buf_free(&b);
	return rc;
}

/* Whether by may revoke id: by is an admin, id is not. */
static int
revoke_allowed(const struct revoke *rv, const struct revocation *r,
    const char **why)
{
	if (!admins_has(rv->par.admins, r->by)) {
		*why = "not signed by an admin";
		return -1;
	}
	if (admins_has(rv->par.admins, r->id)) {
		*why = "revokes an admin";
		return -1;
	}
	return 0;
}

/* Holds r (checked) with its signed form; reports it. */
static int
revoke_hold(struct revoke *rv, const struct revocation *r, const uint8_t *raw,
    size_t len, const char **why)
{
	struct held	*h;
	uint8_t		 d[REVOKE_DIGEST_LEN];
	char		 by[NODE_ID_STRLEN], esc[4 * REVOKE_WHY_MAX + 1];
	size_t		 i;

	if (nodemap_count(rv->held) >= REVOKE_MAX ||
	    (h = nodemap_put(rv->held, r->id)) == NULL) {
		*why = "too many revocations held";
		return -1;
	}
	h->r = *r;
	h->rawlen = len;
	memcpy(h->raw, raw, len);
	revocation_hash(r->id, d);
	for (i = 0; i < REVOKE_DIGEST_LEN; i++)
		rv->digest[i] ^= d[i];
	if (memcmp(r->id, rv->par.id->pk, NODE_ID_LEN) == 0) {
		base32_encode(r->by, NODE_ID_LEN, by);
		log_warnx("this node was revoked by %s: %s", by,
		    log_escape(r->why, strlen(r->why), esc, sizeof(esc)));
	}
	rv->ops->revoked(rv->arg, rv, r->id);
	return 0;
}

/* Sends rv->out on every up link but except. */
static void
flood_out(struct revoke *rv, struct link *except)
{
	struct link	*links[512];
	uint8_t		*msg;
	size_t		 i, n, len = rv->out.len;

	if (rv->out.failed || (msg = malloc(len)) == NULL)
		return;
	memcpy(msg, rv->out.data, len);
	n = mesh_links(rv->mesh, links, 512);
	for (i = 0; i < n; i++)
		if (links[i] != except && link_state(links[i]) == LINK_UP)
			(void)link_send(links[i], msg, len);
	free(msg);
}

static void
put_rvk(struct revoke *rv, const uint8_t *raw, size_t len, uint64_t hops)
{
	cbor_buf_reset(&rv->out);
	cbor_put_map(&rv->out, 3);
	cbor_put_text(&rv->out, "t");
	cbor_put_text(&rv->out, "rvk");
	cbor_put_text(&rv->out, "r");
	cbor_put_bytes(&rv->out, raw, len);
	cbor_put_text(&rv->out, "h");
	cbor_put_uint(&rv->out, hops);
}

int
revoke_offer(struct revoke *rv, struct link *l, const uint8_t *raw,
    size_t len, uint64_t hops, const char **why)
{
	struct revocation	 r;
	const uint8_t		*body, *sig;
	size_t			 bodylen;
	char			 id[NODE_ID_STRLEN], by[NODE_ID_STRLEN];

	/* Cheap checks before the signature's: floods are mostly copies. */
	if (revocation_parse(raw, len, &r, &body, &bodylen, &sig, why) == -1)
		return -1;
	if (revoke_has(rv, r.id)) {
		*why = "revoked already";
		return -1;
	}
	if (revoke_allowed(rv, &r, why) == -1)
		return -1;
	if (crypto_sign_verify_detached(sig, body, bodylen, r.by) != 0) {
		*why = "bad signature";
		return -1;
	}
	if (nodemap_count(rv->held) >= REVOKE_MAX) {
		*why = "too many revocations held";
		return -1;
	}
	/* Flooded first: the revoked node hears it before its link goes. */
	if (hops > 0) {
		put_rvk(rv, raw, len, hops - 1);
		flood_out(rv, l);
	}
	base32_encode(r.id, NODE_ID_LEN, id);
	base32_encode(r.by, NODE_ID_LEN, by);
	log_info("node %.12s revoked by %.12s", id, by);
	if (revoke_hold(rv, &r, raw, len, why) == -1)
		return -1;
	(void)revoke_save(rv);
	return 0;
}

/* The revocations in STATE/revoked, as the last save left them. */
static int
revoke_load(struct revoke *rv)
{
	struct revocation	 r;
	uint8_t			*buf, *p;
	char			 path[PATH_MAX], id[NODE_ID_STRLEN];
	const char		*why;
	size_t			 n, left;
	ssize_t			 len;
	bool			 found;
	int			 rc = -1;

	if ((buf = malloc(REVOKED_FILE_MAX)) == NULL) {
		log_warn("%s/%s", rv->par.state_dir, REVOKED_FILE);
		return -1;
	}
	/* Signed by admins, checked again below: no secret in it. */
	if ((len = statefile_read(rv->par.state_dir, REVOKED_FILE, buf,
	    REVOKED_FILE_MAX, 0, NULL, &found)) == -1)
		goto out;
	snprintf(path, sizeof(path), "%s/%s", rv->par.state_dir,
	    REVOKED_FILE);
	for (p = buf, left = (size_t)len; left > 0; p += n, left -= n) {
		if (left < 2) {
			log_warnx("%s: truncated or unreadable", path);
			goto out;
		}
		n = (size_t)p[0] << 8 | p[1];
		p += 2;
		left -= 2;
		if (n == 0 || n > REVOKE_RAW_MAX || n > left) {
			log_warnx("%s: truncated or malformed", path);
			goto out;
		}
		if (revocation_open(p, n, &r, &why) == -1) {
			log_warnx("%s: %s", path, why);
			goto out;
		}
		/* The admins may have changed since: their rule holds now. */
		if (revoke_allowed(rv, &r, &why) == -1) {
			base32_encode(r.id, NODE_ID_LEN, id);
			log_warnx("%s: revocation of %.12s dropped: %s", path,
			    id, why);
			continue;
		}
		if (!revoke_has(rv, r.id) &&
		    revoke_hold(rv, &r, p, n, &why) == -1) {
			log_warnx("%s: %s", path, why);
			goto out;
		}
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

struct revoke *
revoke_new(const struct revoke_params *p, struct mesh *mesh,
    const struct revoke_ops *ops, void *arg)
{
	struct revoke	*rv;

	if ((rv = calloc(1, sizeof(*rv))) == NULL ||
	    (rv->held = nodemap_new(sizeof(struct held), REVOKE_MAX)) ==
	    NULL) {
		log_warn("revoke");
		free(rv);
		return NULL;
	}
	rv->par = *p;
	rv->mesh = mesh;
	rv->ops = ops;
	rv->arg = arg;
	if (revoke_load(rv) == -1) {
		revoke_free(rv);
		return NULL;
	}
	if (nodemap_count(rv->held) > 0)
		log_info("%zu revoked nodes", nodemap_count(rv->held));
	return rv;
}

void
revoke_free(struct revoke *rv)
{
	if (rv == NULL)
		return;
	nodemap_free(rv->held);
	cbor_buf_free(&rv->out);
	free(rv);
}

void
revoke_link_up(struct revoke *rv, struct link *l)
{
	const struct hello	*h = link_remote(l);
	const struct held	*e;
	const uint8_t		*id;
	size_t			 i, n = nodemap_count(rv->held);

	if (n == 0 || (h->rv_count == n &&
	    sodium_memcmp(h->rv, rv->digest, REVOKE_DIGEST_LEN) == 0))
		return;
	/* A full queue stops here: the next link up sends the rest. */
	for (i = 0; i < n && link_state(l) == LINK_UP &&
	    link_queued(l) <= rv->par.max_message / 2; i++) {
		e = nodemap_at(rv->held, i, &id);
		put_rvk(rv, e->raw, e->rawlen, REVOKE_HOPS);
		if (rv->out.failed)
			return;
		(void)link_send(l, rv->out.data, rv->out.len);
	}
}

static void
msg_rvk(void *arg, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	struct revoke		*rv = arg;
	const struct cbor_field	*v;
	const uint8_t		*p;
	const char		*why;
	size_t			 n;
	uint64_t		 hops = 0;
	unsigned		 skipped;

	(void)type;
	if ((v = cbor_field_get(f, nf, "h")) != NULL &&
	    (!cbor_read_uint(v->val, v->vallen, &hops) || hops > REVOKE_HOPS))
		hops = REVOKE_HOPS;
	if ((v = cbor_field_get(f, nf, "r")) == NULL ||
	    !cbor_read_bytes(v->val, v->vallen, &p, &n))
		return;
	/* Copies of what we hold, most of a flood, cost a lookup only. */
	if (revoke_offer(rv, l, p, n, hops, &why) == -1 &&
	    strcmp(why, "revoked already") != 0 &&
	    ratelog_ok(&rv->drop_log, 1000, &skipped))
		log_warnx("link %s: dropped a revocation: %s%s",
		    link_name(l), why, skipped > 0 ? " (and others)" : "");
}

const struct mesh_handler revoke_handlers[] = {
	{ "rvk",	msg_rvk },
	{ NULL,		NULL },
};

/*
 * The node spec names: a whole node ID, or one member's name or the
 * start of its ID.  False after replying if none or several.
 */
static bool
revoke_lookup(struct revoke *rv, struct ctl_conn *c, uint64_t msgid,
    const char *spec, uint8_t id[NODE_ID_LEN])
{
	const struct member	*m;
	size_t			 i, n = 0;

	if (base32_decode(spec, id, NODE_ID_LEN))
		return true;
	for (i = 0; rv->par.members != NULL &&
	    i < members_count(rv->par.members); i++) {
		m = members_at(rv->par.members, i);
		if (node_id_prefix(m->idstr, spec) ||
		    strcmp(m->rec.name, spec) == 0) {
			memcpy(id, m->rec.id, NODE_ID_LEN);
			n++;
		}
	}
	if (n == 0)
		ctl_reply_error(c, msgid, PEER_NOT_FOUND, "no member %s (give "
		    "a name, 4+ characters of its ID, or its whole ID)", spec);
	else if (n > 1)
		ctl_reply_error(c, msgid, PEER_INVALID_ARGUMENT, "%s matches "
		    "%zu nodes; give more of the ID", spec, n);
	return n == 1;
}

static void
put_revocation(struct cbor_buf *b, const struct revocation *r)
{
	char	s[NODE_ID_STRLEN];

	cbor_put_map(b, 4);
	cbor_put_text(b, "node");
	base32_encode(r->id, NODE_ID_LEN, s);
	cbor_put_text(b, s);
	cbor_put_text(b, "by");
	base32_encode(r->by, NODE_ID_LEN, s);
	cbor_put_text(b, s);
	cbor_put_text(b, "ts");
	cbor_put_uint(b, r->ts);
	cbor_put_text(b, "why");
	cbor_put_text(b, r->why);
}

static void
revoke_op_revoke(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct revoke		*rv = arg;
	struct revocation	 r;
	struct cbor_buf		 signed_form = { 0 };
	const struct held	*h;
	const char		*why;
	char			 spec[NODE_NAME_MAX + NODE_ID_STRLEN];

	memset(&r, 0, sizeof(r));
	if (!ctl_arg_text(c, msg, "node", spec, sizeof(spec), true) ||
	    !ctl_arg_text(c, msg, "why", r.why, sizeof(r.why), false))
		return;
	if (!admins_has(rv->par.admins, rv->par.id->pk)) {
		ctl_reply_error(c, msg->id, PEER_PERMISSION_DENIED,
		    "this node is not an admin");
		return;
	}
	if (!revoke_lookup(rv, c, msg->id, spec, r.id))
		return;
	if (admins_has(rv->par.admins, r.id)) {
		ctl_reply_error(c, msg->id, PEER_FAILED_PRECONDITION, "%s is "
		    "an admin: remove it from admins on every node instead",
		    spec);
		return;
	}
	if ((h = nodemap_get(rv->held, r.id)) == NULL) {
		memcpy(r.by, rv->par.id->pk, NODE_ID_LEN);
		r.ts = (uint64_t)clock_wall_ms();
		revocation_sign(&r, rv->par.id->sk, &signed_form);
		if (signed_form.failed || revoke_offer(rv, NULL,
		    signed_form.data, signed_form.len, REVOKE_HOPS,
		    &why) == -1) {
			ctl_reply_error(c, msg->id, PEER_RESOURCE_EXHAUSTED,
			    "cannot revoke: %s", signed_form.failed ?
			    "out of memory" : why);
			cbor_buf_free(&signed_form);
			return;
		}
		cbor_buf_free(&signed_form);
		h = nodemap_get(rv->held, r.id);
	}
	put_revocation(ctl_result_begin(c, msg->id), &h->r);
	ctl_result_end(c);
}

static void
revoke_op_revoked(struct ctl_conn *c, const struct ctl_msg *msg, void *arg)
{
	struct revoke		*rv = arg;
	const struct held	*h;
	const uint8_t		*id;
	struct cbor_buf		*b;
	size_t			 i, n = nodemap_count(rv->held);

	b = ctl_result_begin(c, msg->id);
	cbor_put_map(b, 1);
	cbor_put_text(b, "revoked");
	cbor_put_array(b, n);
	for (i = 0; i < n; i++) {
		h = nodemap_at(rv->held, i, &id);
		put_revocation(b, &h->r);
	}
	ctl_result_end(c);
}

const struct ctl_op revoke_ctl_ops[] = {
	{ "revoke",	CTL_OP_ADMIN,	revoke_op_revoke },
	{ "revoked",	0,		revoke_op_revoked },
	{ NULL,		0,		NULL },
};
