/* SPDX-License-Identifier: ISC */
/*
 * record.c: encoding, signing and checking membership records.  The
 * signed form is a CBOR map {"b": body, "s": signature}, where the body
 * is itself encoded CBOR and the Ed25519 signature covers exactly its
 * bytes, so no canonical re-encoding is ever needed to verify.
 */
#include <string.h>

#include <sodium.h>

#include "cbor_scan.h"
#include "record.h"

/* "tags": a map of text to text, in key order. */
static void
put_tags(struct cbor_buf *b, const struct tagset *ts)
{
	const char	*k, *v;
	size_t		 off = 0;

	cbor_put_text(b, "tags");
	cbor_put_map(b, (size_t)ts->n);
	while (tagset_next(ts, &off, &k, &v)) {
		cbor_put_text(b, k);
		cbor_put_text(b, v);
	}
}

static void
record_body(const struct record *r, struct cbor_buf *b)
{
	int	i;

	/*
	 * No "tags" without tags, nor "auth" without it: such a record is
	 * what it always was.
	 */
	cbor_put_map(b, 11 + (r->tags.n > 0) + r->auth);
	cbor_put_text(b, "v");
	cbor_put_uint(b, RECORD_VERSION);
	cbor_put_text(b, "id");
	cbor_put_bytes(b, r->id, sizeof(r->id));
	cbor_put_text(b, "name");
	cbor_put_text(b, r->name);
	cbor_put_text(b, "addrs");
	cbor_put_array(b, (size_t)r->naddrs);
	for (i = 0; i < r->naddrs; i++)
		cbor_put_text(b, r->addrs[i]);
	cbor_put_text(b, "groups");
	cbor_put_array(b, (size_t)r->ngroups);
	for (i = 0; i < r->ngroups; i++)
		cbor_put_text(b, r->groups[i]);
	cbor_put_text(b, "hub");
	cbor_put_bool(b, r->hub);
	cbor_put_text(b, "left");
	cbor_put_bool(b, r->left);
	cbor_put_text(b, "inc");
	cbor_put_uint(b, r->incarnation);
	cbor_put_text(b, "started");
	cbor_put_uint(b, r->started_at);
	cbor_put_text(b, "services");
	cbor_put_array(b, (size_t)r->nservices);
	for (i = 0; i < r->nservices; i++) {
		cbor_put_map(b, r->services[i].group[0] ? 2 : 1);
		cbor_put_text(b, "name");
		cbor_put_text(b, r->services[i].name);
		if (r->services[i].group[0]) {
			cbor_put_text(b, "group");
			cbor_put_text(b, r->services[i].group);
		}
	}
	cbor_put_text(b, "topics");
	cbor_put_array(b, (size_t)r->ntopics);
	for (i = 0; i < r->ntopics; i++)
		cbor_put_text(b, r->topics[i]);
	if (r->tags.n > 0)
		put_tags(b, &r->tags);
	if (r->auth) {
		cbor_put_text(b, "auth");
		cbor_put_uint(b, 1);
	}
}

void
record_sign(const struct record *r, const uint8_t sk[64], struct cbor_buf *b)
{
	struct cbor_buf	body = { 0 };
	uint8_t		sig[crypto_sign_BYTES];

	record_body(r, &body);
	if (body.failed) {
		b->failed = true;
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

/* Reads an array of short texts into fixed slots; false if anything is off. */
static bool
read_texts(const struct cbor_field *f, char *slots, size_t slotlen, int max,
    int *n, bool (*valid)(const char *, size_t))
{
	struct cbor_iter	 it;
	const uint8_t		*item;
	size_t			 itemlen;

	*n = 0;
	if (f == NULL)
		return true;
	if (!cbor_array_iter(f->val, f->vallen, &it) || it.items > (size_t)max)
		return false;
	while (cbor_iter_next(&it, &item, &itemlen)) {
		if (!cbor_read_name(item, itemlen, slots + (size_t)*n * slotlen,
		    slotlen, valid))
			return false;
		(*n)++;
	}
	return it.items == 0;
}

static bool
addr_valid(const char *s, size_t n)
{
	char		buf[ADDR_STRLEN], host[HOST_MAX], err[64];
	uint16_t	port;

	memcpy(buf, s, n);
	buf[n] = '\0';
	return addr_split(buf, host, &port, err, sizeof(err)) == 0 && port != 0;
}

bool
service_name_valid(const char *s, size_t n)
{
	return name_valid(s, n, SERVICE_NAME_MAX);
}

bool
topic_valid(const char *s, size_t n)
{
	return n <= TOPIC_MAX && service_name_valid(s, n);
}

bool
topic_pattern_valid(const char *s, size_t n)
{
	if (n > TOPIC_MAX)
		return false;
	if (n == 1 && s[0] == '*')
		return true;
	if (n >= 3 && s[n - 1] == '*' && s[n - 2] == '.')
		return topic_valid(s, n - 1);
	return topic_valid(s, n);
}

/* The services array: maps {name[, group]}; false if anything is off. */
static bool
read_services(const struct cbor_field *f, struct record *r)
{
	struct cbor_field	 sf[4];
	const struct cbor_field	*v;
	struct cbor_iter	 it;
	const uint8_t		*item;
	size_t			 itemlen;
	int			 nf;

	if (f == NULL)
		return true;
	if (!cbor_array_iter(f->val, f->vallen, &it) ||
	    it.items > RECORD_SERVICES_MAX)
		return false;
	while (cbor_iter_next(&it, &item, &itemlen)) {
		struct record_service	*sv = &r->services[r->nservices];

		if ((nf = cbor_scan_map(item, itemlen, sf, 4)) == -1 ||
		    (v = cbor_field_get(sf, nf, "name")) == NULL ||
		    !cbor_read_name(v->val, v->vallen, sv->name,
		    sizeof(sv->name), service_name_valid))
			return false;
		sv->group[0] = '\0';
		if ((v = cbor_field_get(sf, nf, "group")) != NULL &&
		    !cbor_read_name(v->val, v->vallen, sv->group,
		    sizeof(sv->group), group_name_valid))
			return false;
		r->nservices++;
	}
	return it.items == 0;
}

/*
 * The tags map: each key and value checked as tagset_set() checks them,
 * and the limits on the count and the bytes of all of them together.
 */
static bool
read_tags(const struct cbor_field *f, struct tagset *ts)
{
	struct cbor_field	 tf[TAGS_MAX];
	char			 key[TAG_KEY_MAX + 1], value[TAG_VALUE_MAX + 1];
	const char		*why;
	int			 i, n;

	tagset_clear(ts);
	if (f == NULL)
		return true;
	if ((n = cbor_scan_map(f->val, f->vallen, tf, TAGS_MAX)) == -1)
		return false;
	for (i = 0; i < n; i++) {
		if (!tag_key_valid(tf[i].key, tf[i].keylen) ||
		    !cbor_read_name(tf[i].val, tf[i].vallen, value,
		    sizeof(value), tag_value_valid))
			return false;
		memcpy(key, tf[i].key, tf[i].keylen);
		key[tf[i].keylen] = '\0';
		if (tagset_set(ts, key, value, &why) == -1)
			return false;
	}
	return true;
}

static bool
read_bool(const struct cbor_field *f, bool *v)
{
	*v = false;
	return f == NULL || cbor_read_bool(f->val, f->vallen, v);
}

/* "auth": a uint, the version of origin authentication; absent: none. */
static bool
read_auth(const struct cbor_field *f, bool *auth)
{
	uint64_t	v;

	*auth = false;
	if (f == NULL)
		return true;
	if (!cbor_read_uint(f->val, f->vallen, &v))
		return false;
	*auth = v >= 1;
	return true;
}

/*
 * The signed form's body fields (f, up to 16), signature and node ID,
 * of a record of our version.  -1 with *why if it is not one.
 */
static int
record_unwrap(const uint8_t *buf, size_t len, struct cbor_field *f, int *nf,
    const uint8_t **body, size_t *bodylen, const uint8_t **sig,
    const uint8_t **id, const char **why)
{
	struct cbor_field	 top[4];
	const struct cbor_field	*b, *s, *v;
	size_t			 siglen, n;
	uint64_t		 version;
	int			 ntop;

	*why = "malformed record";
	if (len > RECORD_MAX ||
	    (ntop = cbor_scan_map(buf, len, top, 4)) == -1 ||
	    (b = cbor_field_get(top, ntop, "b")) == NULL ||
	    (s = cbor_field_get(top, ntop, "s")) == NULL ||
	    !cbor_read_bytes(b->val, b->vallen, body, bodylen) ||
	    !cbor_read_bytes(s->val, s->vallen, sig, &siglen) ||
	    siglen != crypto_sign_BYTES ||
	    (*nf = cbor_scan_map(*body, *bodylen, f, 16)) == -1)
		return -1;
	if ((v = cbor_field_get(f, *nf, "v")) == NULL ||
	    !cbor_read_uint(v->val, v->vallen, &version) ||
	    version != RECORD_VERSION) {
		*why = "record of an unknown version";
		return -1;
	}
	if ((v = cbor_field_get(f, *nf, "id")) == NULL ||
	    !cbor_read_bytes(v->val, v->vallen, id, &n) || n != NODE_ID_LEN)
		return -1;
	return 0;
}

int
record_peek(const uint8_t *buf, size_t len, uint8_t id[NODE_ID_LEN],
    uint64_t *inc)
{
	struct cbor_field	 f[16];
	const struct cbor_field	*v;
	const uint8_t		*body, *sig, *p;
	const char		*why;
	size_t			 bodylen;
	int			 nf;

	if (record_unwrap(buf, len, f, &nf, &body, &bodylen, &sig, &p,
	    &why) == -1 || (v = cbor_field_get(f, nf, "inc")) == NULL ||
	    !cbor_read_uint(v->val, v->vallen, inc))
		return -1;
	memcpy(id, p, NODE_ID_LEN);
	return 0;
}

int
record_open(const uint8_t *buf, size_t len, struct record *r, const char **why)
{
	struct cbor_field	 f[16];
	const struct cbor_field	*v;
	const uint8_t		*body, *sig, *p;
	size_t			 bodylen;
	int			 nf;

	memset(r, 0, sizeof(*r));
	if (record_unwrap(buf, len, f, &nf, &body, &bodylen, &sig, &p,
	    why) == -1)
		return -1;
	memcpy(r->id, p, NODE_ID_LEN);
	/* The signature first: nothing unsigned is looked at further. */
	if (crypto_sign_verify_detached(sig, body, bodylen, r->id) != 0) {
		*why = "bad signature";
		return -1;
	}
	if ((v = cbor_field_get(f, nf, "name")) == NULL ||
	    !cbor_read_name(v->val, v->vallen, r->name, sizeof(r->name),
	    node_name_valid))
		return -1;
	if ((v = cbor_field_get(f, nf, "inc")) == NULL ||
	    !cbor_read_uint(v->val, v->vallen, &r->incarnation) ||
	    (v = cbor_field_get(f, nf, "started")) == NULL ||
	    !cbor_read_uint(v->val, v->vallen, &r->started_at) ||
	    !read_bool(cbor_field_get(f, nf, "hub"), &r->hub) ||
	    !read_bool(cbor_field_get(f, nf, "left"), &r->left) ||
	    !read_texts(cbor_field_get(f, nf, "addrs"), &r->addrs[0][0],
	    ADDR_STRLEN, RECORD_ADDRS_MAX, &r->naddrs, addr_valid) ||
	    !read_texts(cbor_field_get(f, nf, "groups"), &r->groups[0][0],
	    GROUP_NAME_MAX + 1, RECORD_GROUPS_MAX, &r->ngroups,
	    group_name_valid) ||
	    !read_services(cbor_field_get(f, nf, "services"), r) ||
	    !read_texts(cbor_field_get(f, nf, "topics"), &r->topics[0][0],
	    TOPIC_MAX + 1, RECORD_TOPICS_MAX, &r->ntopics,
	    topic_pattern_valid) ||
	    !read_tags(cbor_field_get(f, nf, "tags"), &r->tags) ||
	    !read_auth(cbor_field_get(f, nf, "auth"), &r->auth)) {
		*why = "record with impossible fields";
		return -1;
	}
	return 0;
}

bool
record_in_group(const struct record *r, const char *group)
{
	int	i;

	for (i = 0; i < r->ngroups; i++)
		if (strcmp(r->groups[i], group) == 0)
			return true;
	return false;
}
