/* SPDX-License-Identifier: ISC */
/*
 * keyrot.c: rotating the network key.
 *
 * An admin's key_rotate draws a key, seals it for every member but
 * itself and revoked ones under the key it shares with each (pairkey),
 * KEYROT_WRAP_TURN members a loop turn, and floods the entries, sorted
 * by ID, in signed "nkey" parts of at most a quarter of max_message.
 * A node takes a part only if an admin signed it; it floods each part
 * once (by generation and part), and adopts the key from its own entry
 * through netkeys, which keeps the old key until the grace ends.  It
 * then says so on each link ("nkok"), as its HELLO does from then on
 * ("kg").  The parts of the newest generation stay in memory, so a
 * peer that links up behind gets the part with its entry over its
 * old-key link.  When the grace ends, the links made under the old key
 * whose peer never showed the new one close.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "cbor_buf.h"
#include "cbor_scan.h"
#include "clock.h"
#include "control.h"
#include "duration.h"
#include "hello.h"
#include "keyrot.h"
#include "link.h"
#include "log.h"
#include "members.h"
#include "mesh.h"
#include "nodemap.h"
#include "pairkey.h"
#include "proto.h"
#include "statefile.h"

#define KID_LABEL	"peerd/1 kid"
#define AD_LABEL	"peerd/1 nkey"
#define BODY_ROOM	256	/* a part's message less its entries */
#define SIG_LEN		crypto_sign_BYTES
#define NKEY_FILE	"network.nkey"
/* The file at its largest: every member's entry, and each part's rest. */
#define NKEY_FILE_MAX	(MEMBERS_MAX * KEYROT_ENTRY_LEN + \
			    KEYROT_PARTS_MAX * (BODY_ROOM + 4 + SIG_LEN))

/* One part of the newest generation, as its admin signed it. */
struct part {
	uint8_t		*body;
	size_t		 len;
	uint8_t		 sig[SIG_LEN];
	const uint8_t	*e;		/* into body */
	size_t		 ne;
};

/* A rotation being built on this node: entries sealed a turn at a time. */
struct job {
	struct ctl_defer	*defer;
	uint8_t			 key[NETWORK_KEY_LEN];
	uint64_t		 gen;
	uint64_t		 grace;
	uint8_t			(*ids)[NODE_ID_LEN];	/* sorted */
	size_t			 nids, done;
	uint8_t			*entries;
	struct event		*ev;
};

struct keyrot {
	struct event_base	*base;
	struct keyrot_params	 par;
	struct identity		*id;
	struct netkeys		*nk;
	const struct admins	*admins;
	struct mesh		*mesh;
	const struct members	*members;
	const struct keyrot_ops	*ops;
	void			*arg;
	/* The parts held, all of one generation. */
	uint64_t		 held_gen;
	uint64_t		 nparts;
	struct part		 parts[KEYROT_PARTS_MAX];
	bool			 told_missing;	/* "not for this node" */
	bool			 loading;	/* parts from network.nkey */
	/* struct shown: the newest nkok of each link peer, checked later. */
	struct nodemap		*shown;
	struct event		*grace_ev;
	struct job		*job;
	struct cbor_buf		 out;
};

/*
 * A peer's word that it took generation gen, with the proof: checked at
 * the grace end, once this node holds that key too.
 */
struct shown {
	uint64_t	gen;
	uint8_t		proof[KEYROT_PROOF_LEN];
};

static void	grace_arm(struct keyrot *);
static bool	parts_all(const struct keyrot *);
static void	parts_save(struct keyrot *);

static void
put_be64(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

void
keyrot_kid(const uint8_t key[NETWORK_KEY_LEN], uint8_t kid[KEYROT_KID_LEN])
{
	crypto_generichash_state	st;
	uint8_t				h[32];

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)KID_LABEL,
	    strlen(KID_LABEL));
	crypto_generichash_update(&st, key, NETWORK_KEY_LEN);
	crypto_generichash_final(&st, h, sizeof(h));
	memcpy(kid, h, KEYROT_KID_LEN);
}

static void
entry_ad(uint8_t ad[sizeof(AD_LABEL) - 1 + 8], uint64_t gen)
{
	memcpy(ad, AD_LABEL, sizeof(AD_LABEL) - 1);
	put_be64(ad + sizeof(AD_LABEL) - 1, gen);
}

int
keyrot_wrap(uint8_t entry[KEYROT_ENTRY_LEN], const struct identity *self,
    const uint8_t *id, const uint8_t key[NETWORK_KEY_LEN], uint64_t gen)
{
	struct pairkeys	pk;
	uint8_t		ad[sizeof(AD_LABEL) - 1 + 8], *nonce;
	int		rc;

	if (pairkey_derive(&pk, self, id) == -1)
		return -1;
	memcpy(entry, id, NODE_ID_LEN);
	nonce = entry + NODE_ID_LEN;
	randombytes_buf(nonce, KEYROT_NONCE_LEN);
	entry_ad(ad, gen);
	rc = crypto_aead_xchacha20poly1305_ietf_encrypt(nonce +
	    KEYROT_NONCE_LEN, NULL, key, NETWORK_KEY_LEN, ad, sizeof(ad),
	    NULL, nonce, pk.k);
	sodium_memzero(&pk, sizeof(pk));
	return rc == 0 ? 0 : -1;
}

int
keyrot_unwrap(uint8_t key[NETWORK_KEY_LEN], const struct identity *self,
    const uint8_t *by, const uint8_t entry[KEYROT_ENTRY_LEN], uint64_t gen)
{
	struct pairkeys	 pk;
	uint8_t		 ad[sizeof(AD_LABEL) - 1 + 8];
	const uint8_t	*nonce = entry + NODE_ID_LEN;
	int		 rc;

	if (pairkey_derive(&pk, self, by) == -1)
		return -1;
	entry_ad(ad, gen);
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(key, NULL, NULL,
	    nonce + KEYROT_NONCE_LEN, NETWORK_KEY_LEN + 16, ad, sizeof(ad),
	    nonce, pk.k);
	sodium_memzero(&pk, sizeof(pk));
	return rc == 0 ? 0 : -1;
}

const uint8_t *
keyrot_find(const uint8_t *e, size_t ne, const uint8_t *id)
{
	size_t	lo = 0, hi = ne, mid;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = memcmp(e + mid * KEYROT_ENTRY_LEN, id, NODE_ID_LEN);
		if (c == 0)
			return e + mid * KEYROT_ENTRY_LEN;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void
keyrot_body_encode(struct cbor_buf *b, const struct keyrot_body *k)
{
	cbor_put_map(b, 9);
	cbor_put_text(b, "v");
	cbor_put_uint(b, 1);
	cbor_put_text(b, "gen");
	cbor_put_uint(b, k->gen);
	cbor_put_text(b, "kid");
	cbor_put_bytes(b, k->kid, KEYROT_KID_LEN);
	cbor_put_text(b, "by");
	cbor_put_bytes(b, k->by, NODE_ID_LEN);
	cbor_put_text(b, "ts");
	cbor_put_uint(b, k->ts);
	cbor_put_text(b, "grace");
	cbor_put_uint(b, k->grace);
	cbor_put_text(b, "part");
	cbor_put_uint(b, k->part);
	cbor_put_text(b, "parts");
	cbor_put_uint(b, k->parts);
	cbor_put_text(b, "e");
	cbor_put_bytes(b, k->e, k->ne * KEYROT_ENTRY_LEN);
}

int
keyrot_body_decode(const uint8_t *buf, size_t len, struct keyrot_body *k,
    const char **why)
{
	struct cbor_field	 f[16];
	const uint8_t		*p;
	size_t			 n, i;
	uint64_t		 v;
	int			 nf;

	memset(k, 0, sizeof(*k));
	if ((nf = cbor_scan_map(buf, len, f, sizeof(f) / sizeof(f[0]))) ==
	    -1) {
		*why = "not a CBOR map";
		return -1;
	}
	if (!cbor_field_uint(f, nf, "v", &v) || v != 1) {
		*why = "not version 1";
		return -1;
	}
	if (!cbor_field_uint(f, nf, "gen", &k->gen) || k->gen == 0 ||
	    !cbor_field_uint(f, nf, "ts", &k->ts) ||
	    !cbor_field_uint(f, nf, "grace", &k->grace) ||
	    !cbor_field_uint(f, nf, "part", &k->part) ||
	    !cbor_field_uint(f, nf, "parts", &k->parts)) {
		*why = "a number missing";
		return -1;
	}
	if (k->grace < KEYROT_GRACE_MIN || k->grace > KEYROT_GRACE_MAX) {
		*why = "grace out of range";
		return -1;
	}
	if (k->parts == 0 || k->parts > KEYROT_PARTS_MAX ||
	    k->part >= k->parts) {
		*why = "bad part";
		return -1;
	}
	if (!cbor_field_bytes(f, nf, "kid", &p, &n) || n != KEYROT_KID_LEN) {
		*why = "no 8-byte kid";
		return -1;
	}
	memcpy(k->kid, p, n);
	if (!cbor_field_bytes(f, nf, "by", &p, &n) || n != NODE_ID_LEN) {
		*why = "no 32-byte by";
		return -1;
	}
	memcpy(k->by, p, n);
	if (!cbor_field_bytes(f, nf, "e", &k->e, &n) || n % KEYROT_ENTRY_LEN != 0) {
		*why = "entries are not whole";
		return -1;
	}
	k->ne = n / KEYROT_ENTRY_LEN;
	/* In order, each once: what the binary search needs. */
	for (i = 1; i < k->ne; i++)
		if (memcmp(k->e + (i - 1) * KEYROT_ENTRY_LEN,
		    k->e + i * KEYROT_ENTRY_LEN, NODE_ID_LEN) >= 0) {
			*why = "entries out of order";
			return -1;
		}
	return 0;
}

/* The nkey message of part i, with hops, in kr->out. */
static void
put_nkey(struct keyrot *kr, const struct part *pt, uint64_t hops)
{
	cbor_buf_reset(&kr->out);
	cbor_put_map(&kr->out, 4);
	cbor_put_text(&kr->out, "t");
	cbor_put_text(&kr->out, "nkey");
	cbor_put_text(&kr->out, "b");
	cbor_put_bytes(&kr->out, pt->body, pt->len);
	cbor_put_text(&kr->out, "s");
	cbor_put_bytes(&kr->out, pt->sig, SIG_LEN);
	cbor_put_text(&kr->out, "h");
	cbor_put_uint(&kr->out, hops);
}

/*
 * Sends kr->out on every up link but except.  Sending can close a link,
 * and closing reach other modules, so the message is copied first.
 */
static void
flood_out(struct keyrot *kr, struct link *except)
{
	struct link	*links[512];
	uint8_t		*msg;
	size_t		 i, n, len = kr->out.len;

	if (kr->out.failed || (msg = malloc(len ? len : 1)) == NULL)
		return;
	memcpy(msg, kr->out.data, len);
	n = mesh_links(kr->mesh, links, 512);
	for (i = 0; i < n; i++)
		if (links[i] != except && link_state(links[i]) == LINK_UP)
			(void)link_send(links[i], msg, len);
	free(msg);
}

static void
send_out(struct keyrot *kr, struct link *l)
{
	if (!kr->out.failed && link_state(l) == LINK_UP)
		(void)link_send(l, kr->out.data, kr->out.len);
}

static void
parts_clear(struct keyrot *kr)
{
	uint64_t	i;

	for (i = 0; i < KEYROT_PARTS_MAX; i++) {
		free(kr->parts[i].body);
		memset(&kr->parts[i], 0, sizeof(kr->parts[i]));
	}
	kr->nparts = 0;
	kr->held_gen = 0;
	kr->told_missing = false;
}

/* Keeps a copy of a part of generation gen; -1 if out of memory. */
static int
part_keep(struct keyrot *kr, const struct keyrot_body *k, const uint8_t *body,
    size_t len, const uint8_t *sig)
{
	struct part	*pt = &kr->parts[k->part];

	if (kr->held_gen != k->gen) {
		parts_clear(kr);
		kr->held_gen = k->gen;
		kr->nparts = k->parts;
	}
	if ((pt->body = malloc(len)) == NULL)
		return -1;
	memcpy(pt->body, body, len);
	pt->len = len;
	memcpy(pt->sig, sig, SIG_LEN);
	pt->e = pt->body + (k->e - body);
	pt->ne = k->ne;
	if (!kr->loading && parts_all(kr))
		parts_save(kr);
	return 0;
}

static bool
parts_all(const struct keyrot *kr)
{
	uint64_t	i;

	for (i = 0; i < kr->nparts; i++)
		if (kr->parts[i].body == NULL)
			return false;
	return kr->nparts > 0;
}

/*
 * Writes every part held to STATE/network.nkey (be32 length, body,
 * signature, for each), so that a restart within the grace can still
 * hand late peers their part: 0600, replaced atomically.
 */
static void
parts_save(struct keyrot *kr)
{
	struct cbor_buf	 b = { 0 };
	uint8_t		 len[4];
	uint64_t	 i;

	for (i = 0; i < kr->nparts; i++) {
		len[0] = (uint8_t)(kr->parts[i].len >> 24);
		len[1] = (uint8_t)(kr->parts[i].len >> 16);
		len[2] = (uint8_t)(kr->parts[i].len >> 8);
		len[3] = (uint8_t)kr->parts[i].len;
		cbor_put_raw(&b, len, sizeof(len));
		cbor_put_raw(&b, kr->parts[i].body, kr->parts[i].len);
		cbor_put_raw(&b, kr->parts[i].sig, SIG_LEN);
	}
	if (b.failed)
		log_warnx("%s/%s: out of memory", kr->par.state_dir, NKEY_FILE);
	else
		(void)statefile_write(kr->par.state_dir, NKEY_FILE, b.data,
		    b.len);
	cbor_buf_free(&b);
}

static void
parts_unlink(struct keyrot *kr)
{
	(void)statefile_remove(kr->par.state_dir, NKEY_FILE);
}

void
keyrot_nkok_proof(uint8_t out[KEYROT_PROOF_LEN],
    const uint8_t key[NETWORK_KEY_LEN], const uint8_t *id, uint64_t gen)
{
	static const char		 label[] = "peerd/1 nkok";
	crypto_generichash_state	 st;
	uint8_t				 be[8];
	int				 i;

	for (i = 0; i < 8; i++)
		be[i] = (uint8_t)(gen >> (56 - 8 * i));
	crypto_generichash_init(&st, key, NETWORK_KEY_LEN, KEYROT_PROOF_LEN);
	crypto_generichash_update(&st, (const uint8_t *)label,
	    sizeof(label) - 1);
	crypto_generichash_update(&st, id, NODE_ID_LEN);
	crypto_generichash_update(&st, be, sizeof(be));
	crypto_generichash_final(&st, out, KEYROT_PROOF_LEN);
}

/* Puts our nkok for the current key in kr->out. */
static void
put_nkok(struct keyrot *kr)
{
	uint8_t	proof[KEYROT_PROOF_LEN];

	keyrot_nkok_proof(proof, kr->id->network_key, kr->id->pk,
	    kr->nk->gen);
	cbor_buf_reset(&kr->out);
	cbor_put_map(&kr->out, 3);
	cbor_put_text(&kr->out, "t");
	cbor_put_text(&kr->out, "nkok");
	cbor_put_text(&kr->out, "gen");
	cbor_put_uint(&kr->out, kr->nk->gen);
	cbor_put_text(&kr->out, "p");
	cbor_put_bytes(&kr->out, proof, sizeof(proof));
}

/* Tells every link that this node has the current key now. */
static void
send_nkok(struct keyrot *kr)
{
	put_nkok(kr);
	flood_out(kr, NULL);
}

/* Makes key of generation gen ours; the old one works until grace_end. */
static int
adopt(struct keyrot *kr, const uint8_t key[NETWORK_KEY_LEN], uint64_t gen,
    int64_t grace_end)
{
	if (netkeys_adopt(kr->nk, kr->id, kr->par.state_dir, key, gen,
	    grace_end, kr->par.retire_keep_ms) == -1)
		return -1;
	log_info("network key: generation %" PRIu64 " taken; the old key "
	    "works for %" PRId64 " s more", gen,
	    (grace_end - (int64_t)clock_wall_ms() + 999) / 1000);
	send_nkok(kr);
	grace_arm(kr);
	if (kr->ops->adopted != NULL)
		kr->ops->adopted(kr->arg, gen);
	return 0;
}

/* Keeps the newest nkok of a link peer, to check at the grace end. */
static void
note_shown(struct keyrot *kr, const uint8_t *id, uint64_t gen,
    const uint8_t proof[KEYROT_PROOF_LEN])
{
	struct shown	*s;

	if ((s = nodemap_get(kr->shown, id)) == NULL &&
	    (s = nodemap_put(kr->shown, id)) == NULL)
		return;
	if (gen >= s->gen) {
		s->gen = gen;
		memcpy(s->proof, proof, KEYROT_PROOF_LEN);
	}
}

/*
 * Whether the peer id proved it holds our current key: a word alone
 * (a HELLO's kg, an nkok without the proof) could come from a node the
 * rotation left out, which would keep its old-key links for good.
 */
static bool
shown_proven(const struct keyrot *kr, const uint8_t *id)
{
	const struct shown	*s = nodemap_get(kr->shown, id);
	uint8_t			 want[KEYROT_PROOF_LEN];

	if (s == NULL || s->gen != kr->nk->gen)
		return false;
	keyrot_nkok_proof(want, kr->id->network_key, id, kr->nk->gen);
	return sodium_memcmp(want, s->proof, KEYROT_PROOF_LEN) == 0;
}

/* Our entry in a part of a generation newer than ours: take the key. */
static void
try_adopt(struct keyrot *kr, const struct keyrot_body *k)
{
	const uint8_t	*entry;
	uint8_t		 key[NETWORK_KEY_LEN], kid[KEYROT_KID_LEN];
	char		 by[NODE_ID_STRLEN];
	int64_t		 now = (int64_t)clock_wall_ms(), end, cap;

	base32_encode(k->by, NODE_ID_LEN, by);
	if ((entry = keyrot_find(k->e, k->ne, kr->id->pk)) == NULL) {
		if (parts_all(kr) && !kr->told_missing) {
			kr->told_missing = true;
			log_warnx("network key rotated by %.12s (generation %"
			    PRIu64 "), but not for this node: rejoin with a "
			    "new token", by, k->gen);
		}
		return;
	}
	if (keyrot_unwrap(key, kr->id, k->by, entry, k->gen) == -1) {
		log_warnx("network key: generation %" PRIu64 " from %.12s: "
		    "our entry does not open", k->gen, by);
		return;
	}
	keyrot_kid(key, kid);
	if (sodium_memcmp(kid, k->kid, KEYROT_KID_LEN) != 0) {
		log_warnx("network key: generation %" PRIu64 " from %.12s: "
		    "the key is not the one its kid names", k->gen, by);
		sodium_memzero(key, sizeof(key));
		return;
	}
	/* A late copy does not stretch the grace past the admin's. */
	end = now + (int64_t)k->grace;
	cap = (int64_t)(k->ts + k->grace) + KEYROT_SKEW_MS;
	if (cap < end)
		end = cap;
	log_info("network key rotated by %.12s: generation %" PRIu64, by,
	    k->gen);
	(void)adopt(kr, key, k->gen, end);
	sodium_memzero(key, sizeof(key));
}

static void
on_nkey(struct keyrot *kr, struct link *l, const uint8_t *body, size_t len,
    const uint8_t *sig, uint64_t hops)
{
	struct keyrot_body	 k;
	const char		*why;

	if (len > kr->par.max_message) {
		log_warnx("link %s: nkey of %zu bytes, dropped", link_name(l),
		    len);
		return;
	}
	if (keyrot_body_decode(body, len, &k, &why) == -1) {
		log_warnx("link %s: dropped an nkey: %s", link_name(l), why);
		return;
	}
	/* Old, or a copy of a part held: before the signature's cost. */
	if (k.gen < kr->nk->gen || k.gen < kr->held_gen ||
	    (k.gen == kr->held_gen && (k.parts != kr->nparts ||
	    kr->parts[k.part].body != NULL)))
		return;
	if (!admins_has(kr->admins, k.by)) {
		char	by[NODE_ID_STRLEN];

		base32_encode(k.by, NODE_ID_LEN, by);
		log_warnx("link %s: dropped an nkey signed by %.12s, not an "
		    "admin", link_name(l), by);
		return;
	}
	if (crypto_sign_verify_detached(sig, body, len, k.by) != 0) {
		log_warnx("link %s: dropped an nkey: bad signature",
		    link_name(l));
		return;
	}
	if (part_keep(kr, &k, body, len, sig) == -1)
		return;
	if (hops > 0) {
		put_nkey(kr, &kr->parts[k.part], hops - 1);
		flood_out(kr, l);
	}
	if (k.gen > kr->nk->gen)
		try_adopt(kr, &k);
}

static void
msg_nkey(void *arg, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	const uint8_t	*body, *sig;
	size_t		 n, ns;
	uint64_t	 hops = 0;

	(void)type;
	if (!cbor_field_bytes(f, nf, "b", &body, &n) ||
	    !cbor_field_bytes(f, nf, "s", &sig, &ns) || ns != SIG_LEN)
		return;
	if (cbor_field_get(f, nf, "h") != NULL &&
	    (!cbor_field_uint(f, nf, "h", &hops) || hops > KEYROT_HOPS))
		hops = KEYROT_HOPS;
	on_nkey(arg, l, body, n, sig, hops);
}

static void
msg_nkok(void *arg, struct link *l, const char *type,
    const struct cbor_field *f, int nf)
{
	struct keyrot	*kr = arg;
	const uint8_t	*proof;
	uint64_t	 gen;
	size_t		 n;

	(void)type;
	if (cbor_field_uint(f, nf, "gen", &gen) &&
	    cbor_field_bytes(f, nf, "p", &proof, &n) && n == KEYROT_PROOF_LEN)
		note_shown(kr, link_remote(l)->id, gen, proof);
}

const struct mesh_handler keyrot_handlers[] = {
	{ "nkey",	msg_nkey },
	{ "nkok",	msg_nkok },
	{ NULL,		NULL },
};

void
keyrot_link_up(struct keyrot *kr, struct link *l)
{
	const struct hello	*h = link_remote(l);
	const struct part	*pt;
	uint64_t		 i;
	bool			 sent = false;

	/* A link under the old key during our grace: prove we hold the new. */
	if (kr->nk->has_prev && link_psk_gen(l) < kr->nk->gen) {
		put_nkok(kr);
		send_out(kr, l);
	}
	/* Only a peer behind, while the key it has still works. */
	if (!h->has_kg || h->kgen >= kr->nk->gen || !kr->nk->has_prev ||
	    kr->held_gen != kr->nk->gen || !parts_all(kr))
		return;
	for (i = 0; i < kr->nparts && !sent; i++) {
		pt = &kr->parts[i];
		if (keyrot_find(pt->e, pt->ne, h->id) != NULL) {
			put_nkey(kr, pt, 0);
			send_out(kr, l);
			sent = true;
		}
	}
	/* None holds it: every part, so that it learns it was left out. */
	for (i = 0; i < kr->nparts && !sent; i++) {
		put_nkey(kr, &kr->parts[i], 0);
		send_out(kr, l);
	}
}

/*
 * The grace is over: the old key goes, and so do the links made under
 * it whose peer never showed the new generation.
 */
static void
grace_end(evutil_socket_t fd, short what, void *arg)
{
	struct keyrot	*kr = arg;
	struct link	*links[512];
	size_t		 i, n, closed = 0;

	(void)fd; (void)what;
	if (!netkeys_expire(kr->nk, kr->par.state_dir,
	    (int64_t)clock_wall_ms(), kr->par.retire_keep_ms)) {
		grace_arm(kr);
		return;
	}
	n = mesh_links(kr->mesh, links, 512);
	for (i = 0; i < n; i++) {
		if (link_state(links[i]) != LINK_UP ||
		    link_psk_gen(links[i]) >= kr->nk->gen ||
		    shown_proven(kr, link_remote(links[i])->id))
			continue;
		mesh_close(kr->mesh, links[i], "network key rotated");
		closed++;
	}
	log_info("network key: the grace of generation %" PRIu64 " ended; "
	    "%zu links under the old key closed", kr->nk->gen, closed);
}

static void
grace_arm(struct keyrot *kr)
{
	struct timeval	tv;
	int64_t		left;

	evtimer_del(kr->grace_ev);
	if (!kr->nk->has_prev)
		return;
	left = kr->nk->prev.until_ms - (int64_t)clock_wall_ms();
	duration_timeval(left > 0 ? (uint64_t)left : 0, &tv);
	evtimer_add(kr->grace_ev, &tv);
}

/*
 * The parts of our generation that a run before this one kept, while
 * the grace they are for runs; each checked as if it came from a peer.
 */
static void
parts_load(struct keyrot *kr)
{
	struct keyrot_body	 k;
	uint8_t			*buf, *p;
	const char		*why;
	char			 path[PATH_MAX];
	size_t			 left, n;
	ssize_t			 len;
	bool			 found;

	if (!kr->nk->has_prev)
		return;
	if ((buf = malloc(NKEY_FILE_MAX)) == NULL) {
		log_warn("%s/%s", kr->par.state_dir, NKEY_FILE);
		return;
	}
	/* The parts are public: each is checked as a peer's would be. */
	if ((len = statefile_read(kr->par.state_dir, NKEY_FILE, buf,
	    NKEY_FILE_MAX, 0, NULL, &found)) <= 0) {
		free(buf);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", kr->par.state_dir, NKEY_FILE);
	kr->loading = true;
	for (p = buf, left = (size_t)len; left > 0; p += n, left -= n) {
		why = "cut short";
		if (left < 4 || (n = (size_t)p[0] << 24 | (size_t)p[1] << 16 |
		    (size_t)p[2] << 8 | p[3]) > left - 4 ||
		    left - 4 - n < SIG_LEN)
			goto bad;
		p += 4;
		left -= 4;
		if (keyrot_body_decode(p, n, &k, &why) == -1)
			goto bad;
		why = "not of this generation's admin";
		if (k.gen != kr->nk->gen || !admins_has(kr->admins, k.by) ||
		    crypto_sign_verify_detached(p + n, p, n, k.by) != 0 ||
		    (k.gen == kr->held_gen && k.parts != kr->nparts))
			goto bad;
		if (kr->held_gen != k.gen || kr->parts[k.part].body == NULL)
			(void)part_keep(kr, &k, p, n, p + n);
		n += SIG_LEN;
	}
	goto out;
bad:
	log_warnx("%s: %s; not used", path, why);
	parts_clear(kr);
out:
	kr->loading = false;
	free(buf);
}

struct keyrot *
keyrot_new(struct event_base *base, const struct keyrot_params *par,
    struct identity *id, struct netkeys *nk, const struct admins *admins,
    struct mesh *mesh, const struct members *members,
    const struct keyrot_ops *ops, void *arg)
{
	struct keyrot	*kr;

	if ((kr = calloc(1, sizeof(*kr))) == NULL ||
	    (kr->shown = nodemap_new(sizeof(struct shown), MEMBERS_MAX)) == NULL ||
	    (kr->grace_ev = evtimer_new(base, grace_end, kr)) == NULL) {
		log_warnx("keyrot: out of memory");
		if (kr != NULL)
			nodemap_free(kr->shown);
		free(kr);
		return NULL;
	}
	kr->base = base;
	kr->par = *par;
	kr->id = id;
	kr->nk = nk;
	kr->admins = admins;
	kr->mesh = mesh;
	kr->members = members;
	kr->ops = ops;
	kr->arg = arg;
	parts_load(kr);
	grace_arm(kr);
	return kr;
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	if (j->ev != NULL)
		event_free(j->ev);
	sodium_memzero(j->key, sizeof(j->key));
	free(j->ids);
	free(j->entries);
	free(j);
}

void
keyrot_free(struct keyrot *kr)
{
	if (kr == NULL)
		return;
	if (kr->job != NULL && kr->job->defer != NULL)
		ctl_defer_error(kr->job->defer, PEER_UNAVAILABLE,
		    "shutting down");
	job_free(kr->job);
	parts_clear(kr);
	nodemap_free(kr->shown);
	event_free(kr->grace_ev);
	cbor_buf_free(&kr->out);
	free(kr);
}

void
keyrot_reset(struct keyrot *kr)
{
	if (kr->job != NULL && kr->job->defer != NULL)
		ctl_defer_error(kr->job->defer, PEER_FAILED_PRECONDITION,
		    "this node joined another network");
	job_free(kr->job);
	kr->job = NULL;
	parts_clear(kr);
	parts_unlink(kr);
	evtimer_del(kr->grace_ev);
	while (nodemap_count(kr->shown) > 0) {
		const uint8_t	*idp;
		uint8_t		 id[NODE_ID_LEN];

		(void)nodemap_at(kr->shown, 0, &idp);
		memcpy(id, idp, NODE_ID_LEN);
		nodemap_del(kr->shown, id);
	}
	if (kr->ops->adopted != NULL)
		kr->ops->adopted(kr->arg, kr->nk->gen);
}

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, NODE_ID_LEN);
}

/* Entries of one part: what a quarter of max_message holds. */
static size_t
per_part(const struct keyrot *kr)
{
	size_t	n;

	n = (kr->par.max_message / 4 - BODY_ROOM) / KEYROT_ENTRY_LEN;

	return n > 0 ? n : 1;
}

/* Signs the parts of a finished job, keeps and floods them, adopts. */
static void
job_finish(struct keyrot *kr, struct job *j)
{
	struct keyrot_body	 k, kept;
	struct cbor_buf		 b = { 0 };
	struct cbor_buf		*r;
	const char		*why;
	uint8_t			 sig[SIG_LEN], kid[KEYROT_KID_LEN];
	char			 hex[2 * KEYROT_KID_LEN + 1];
	size_t			 per = per_part(kr), nparts, i, n;
	uint64_t		 p;
	int64_t			 now = (int64_t)clock_wall_ms();

	nparts = j->nids == 0 ? 1 : (j->nids + per - 1) / per;
	/*
	 * An nkey from another admin may have come while we sealed: taken,
	 * or parts held while ours is awaited.  A second key under that
	 * number would split the mesh, and its parts replace those held.
	 */
	if (j->gen != kr->nk->gen + 1 || kr->held_gen >= j->gen) {
		ctl_defer_error(j->defer, PEER_FAILED_PRECONDITION,
		    "generation %" PRIu64 " came from another admin meanwhile",
		    kr->held_gen > kr->nk->gen ? kr->held_gen : kr->nk->gen);
		return;
	}
	if (nparts > KEYROT_PARTS_MAX) {
		ctl_defer_error(j->defer, PEER_RESOURCE_EXHAUSTED, "%zu "
		    "members need more than %d parts of max_message / 4",
		    j->nids, KEYROT_PARTS_MAX);
		return;
	}
	keyrot_kid(j->key, kid);
	memset(&k, 0, sizeof(k));
	k.gen = j->gen;
	memcpy(k.kid, kid, sizeof(kid));
	memcpy(k.by, kr->id->pk, NODE_ID_LEN);
	k.ts = (uint64_t)now;
	k.grace = j->grace;
	k.parts = nparts;
	for (p = 0; p < nparts; p++) {
		i = p * per;
		n = j->nids - i < per ? j->nids - i : per;
		k.part = p;
		k.e = j->entries + i * KEYROT_ENTRY_LEN;
		k.ne = j->nids == 0 ? 0 : n;
		cbor_buf_reset(&b);
		keyrot_body_encode(&b, &k);
		if (b.failed) {
			cbor_buf_free(&b);
			ctl_defer_error(j->defer, PEER_INTERNAL,
			    "out of memory");
			return;
		}
		crypto_sign_detached(sig, NULL, b.data, b.len, kr->id->sk);
		/* Read back as a receiver would: where its entries are. */
		if (keyrot_body_decode(b.data, b.len, &kept, &why) == -1 ||
		    part_keep(kr, &kept, b.data, b.len, sig) == -1) {
			cbor_buf_free(&b);
			ctl_defer_error(j->defer, PEER_INTERNAL,
			    "out of memory");
			return;
		}
	}
	cbor_buf_free(&b);
	if (adopt(kr, j->key, j->gen, now + (int64_t)j->grace) == -1) {
		parts_clear(kr);
		ctl_defer_error(j->defer, PEER_INTERNAL, "cannot store the new "
		    "network key");
		return;
	}
	for (p = 0; p < nparts; p++) {
		put_nkey(kr, &kr->parts[p], KEYROT_HOPS);
		flood_out(kr, NULL);
	}
	for (i = 0; i < KEYROT_KID_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", kid[i]);
	log_info("network key rotated: generation %" PRIu64 " (kid %s) for "
	    "%zu members in %zu parts, grace %" PRIu64 " ms", j->gen, hex,
	    j->nids, nparts, j->grace);
	r = ctl_defer_begin(j->defer);
	cbor_put_map(r, 4);
	cbor_put_text(r, "gen");
	cbor_put_uint(r, j->gen);
	cbor_put_text(r, "kid");
	cbor_put_text(r, hex);
	cbor_put_text(r, "members");
	cbor_put_uint(r, j->nids);
	cbor_put_text(r, "grace_ms");
	cbor_put_uint(r, j->grace);
	ctl_defer_end(j->defer);
}

/* Seals entries for KEYROT_WRAP_TURN members, then yields to the loop. */
static void
job_turn(evutil_socket_t fd, short what, void *arg)
{
	struct keyrot	*kr = arg;
	struct job	*j = kr->job;
	struct timeval	 now = { 0, 0 };
	size_t		 end, out;

	(void)fd; (void)what;
	end = j->done + KEYROT_WRAP_TURN < j->nids ? j->done +
	    KEYROT_WRAP_TURN : j->nids;
	/* A member without a shared key gets none; the rest stay in order. */
	out = j->done;
	for (; j->done < end; j->done++)
		if (keyrot_wrap(j->entries + out * KEYROT_ENTRY_LEN, kr->id,
		    j->ids[j->done], j->key, j->gen) == 0)
			out++;
	if (out != j->done) {
		memmove(j->ids + out, j->ids + j->done,
		    (j->nids - j->done) * NODE_ID_LEN);
		j->nids -= j->done - out;
		j->done = out;
	}
	if (j->done < j->nids) {
		evtimer_add(j->ev, &now);
		return;
	}
	kr->job = NULL;
	if (j->defer != NULL)
		job_finish(kr, j);
	job_free(j);
}

static void
job_cancel(void *arg)
{
	struct keyrot	*kr = arg;

	/* The client left: the rotation is not made. */
	job_free(kr->job);
	kr->job = NULL;
}

static void
op_key_rotate(struct ctl_conn *c, const struct ctl_msg *m, void *arg)
{
	struct keyrot		*kr = arg;
	const struct member	*mb;
	struct job		*j;
	struct timeval		 now = { 0, 0 };
	uint64_t		 grace = kr->par.grace_ms;
	size_t			 i, n;

	if (!ctl_arg_uint(c, m, "grace", &grace, KEYROT_GRACE_MAX))
		return;
	if (grace < KEYROT_GRACE_MIN) {
		ctl_reply_error(c, m->id, PEER_INVALID_ARGUMENT, "grace: %"
		    PRIu64 " ms is below %d ms", grace, KEYROT_GRACE_MIN);
		return;
	}
	if (kr->admins->n == 0) {
		ctl_reply_error(c, m->id, PEER_FAILED_PRECONDITION, "no admins "
		    "known: set admins in peerd.conf on every node");
		return;
	}
	if (!admins_has(kr->admins, kr->id->pk)) {
		ctl_reply_error(c, m->id, PEER_PERMISSION_DENIED,
		    "this node is not an admin");
		return;
	}
	if (kr->job != NULL) {
		ctl_reply_error(c, m->id, PEER_UNAVAILABLE, "a rotation is "
		    "under way");
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto oom;
	n = members_count(kr->members);
	if ((j->ids = calloc(n ? n : 1, NODE_ID_LEN)) == NULL ||
	    (j->entries = calloc(n ? n : 1, KEYROT_ENTRY_LEN)) == NULL ||
	    (j->ev = evtimer_new(kr->base, job_turn, kr)) == NULL)
		goto oom;
	/* Every member, dead and left too: they may come back in time. */
	for (i = 0; i < n; i++) {
		mb = members_at(kr->members, i);
		if (mb->self || (kr->par.is_revoked != NULL &&
		    kr->par.is_revoked(kr->par.revoked_arg, mb->rec.id)))
			continue;
		memcpy(j->ids[j->nids++], mb->rec.id, NODE_ID_LEN);
	}
	qsort(j->ids, j->nids, NODE_ID_LEN, id_cmp);
	j->gen = kr->nk->gen + 1;
	j->grace = grace;
	randombytes_buf(j->key, sizeof(j->key));
	if ((j->defer = ctl_defer(c, m->id, job_cancel, kr)) == NULL) {
		job_free(j);
		return;
	}
	kr->job = j;
	evtimer_add(j->ev, &now);
	return;
oom:
	job_free(j);
	ctl_reply_error(c, m->id, PEER_RESOURCE_EXHAUSTED, "out of memory");
}

const struct ctl_op keyrot_ctl_ops[] = {
	{ "key_rotate",	CTL_OP_ADMIN,	op_key_rotate },
	{ NULL,		0,		NULL },
};
