/* SPDX-License-Identifier: ISC */
/*
 * peerd.c: the daemon's top: building every module from the floor up
 * and handing each only what it uses, carrying what one module reports
 * to the others (the callbacks below), the hello and status ops,
 * signals, start-up and shutdown.  No other file knows every module.
 */
#include <sys/resource.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "access.h"
#include "call.h"
#include "callmsg.h"
#include "changes.h"
#include "cbor_buf.h"
#include "clock.h"
#include "config.h"
#include "control.h"
#include "events.h"
#include "gossip.h"
#include "handlers.h"
#include "heap.h"
#include "identity.h"
#include "join.h"
#include "keyrot.h"
#include "kv.h"
#include "kvpost.h"
#include "kvring.h"
#include "kvstore.h"
#include "kvsync.h"
#include "kvwatch.h"
#include "listen.h"
#include "log.h"
#include "members.h"
#include "mesh.h"
#include "metrics.h"
#include "notify.h"
#include "options.h"
#include "originauth.h"
#include "overlay.h"
#include "pairkey.h"
#include "peerd.h"
#include "probe.h"
#include "proto.h"
#include "registry.h"
#include "revoke.h"
#include "route.h"
#include "serve.h"
#include "stats.h"
#include "tags.h"
#include "token.h"
#include "watch.h"

_Static_assert(CONFIG_ADVERTISE_MAX <= RECORD_ADDRS_MAX,
    "every advertise address fits our record");

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	struct peerd	*d = arg;

	(void)what;
	log_info("%s: shutting down", strsignal((int)sig));
	event_base_loopexit(d->base, NULL);
}

/*
 * The admins: the config's (c) and those of STATE/admins.  0, or -1
 * after logging, the admins known before kept.
 */
static int
load_admins(struct peerd *d, const struct config *c)
{
	const char	*ids[CONFIG_ADMINS_MAX];
	struct admins	 a;
	int		 i;

	for (i = 0; i < c->nadmins; i++)
		ids[i] = c->admins[i];
	if (admins_load(&a, d->conf.state_dir, ids, (size_t)c->nadmins) == -1)
		return -1;
	d->admins = a;
	return 0;
}

/* SIGHUP: the config's admins go with the rest of it. */
static void
reload_admins(struct peerd *d, const struct config *c)
{
	if (load_admins(d, c) == -1) {
		log_warnx("reload: keeping the %zu admins known", d->admins.n);
		return;
	}
	memcpy(d->conf.admins, c->admins, sizeof(d->conf.admins));
	d->conf.nadmins = c->nadmins;
	log_info("reload: %zu admins", d->admins.n);
}

/*
 * SIGHUP: re-reads the configuration and applies the log level, the
 * service rules (in place: the modules keep their access), the event
 * handlers (replaced whole) and the tags.
 */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct peerd		*d = arg;
	struct config		 c;
	struct handler_list	*hl = NULL;
	char			 err[512];

	(void)sig; (void)what;
	notify_reloading();
	if (options_config(&d->opt, &c, err, sizeof(err)) == -1)
		log_warnx("reload: %s; keeping the running configuration", err);
	else if ((hl = handler_list_parse(&c, err, sizeof(err))) == NULL ||
	    access_load(d->access, &c, err, sizeof(err)) == -1) {
		log_warnx("reload: %s; keeping the running configuration", err);
		handler_list_free(hl);
		config_free(&c);
	} else {
		/* Say so at whichever of the old and new levels is louder. */
		if (c.log_level >= LOG_LEVEL_INFO)
			log_set_level(c.log_level);
		log_info("reload: log_level %s", log_level_name(c.log_level));
		log_info("reload: %zu service rules", access_count(d->access));
		log_info("reload: %zu handlers", handler_list_count(hl));
		handlers_set(d->handlers, hl, c.handler_jobs,
		    c.handler_timeout);
		log_set_level(c.log_level);
		d->conf.log_level = c.log_level;
		/* The rules as written go with the ones in force. */
		config_free(&d->conf);
		d->conf.services = c.services;
		d->conf.nservices = c.nservices;
		d->conf.handlers = c.handlers;
		d->conf.nhandlers = c.nhandlers;
		d->conf.handler_jobs = c.handler_jobs;
		d->conf.handler_timeout = c.handler_timeout;
		memcpy(d->conf.service_dir, c.service_dir,
		    sizeof(d->conf.service_dir));
		reload_admins(d, &c);
		/* The run-time changes stay on top of the new tags. */
		d->conf.tags = c.tags;
		tags_configure(d->tags, &c.tags);
		log_info("reload: %d configured tags", c.tags.n);
	}
	notify_ready(d->base, d->status);
}

/* Clients and links each take a descriptor: allow what the hard limit does. */
static void
raise_fd_limit(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Runs the loop until the links' queues are written, 500 ms at most. */
static void
drain_links(struct peerd *d)
{
	struct timeval	tv = { 0, 500000 };

	event_base_loopexit(d->base, &tv);
	while (mesh_queued(d->mesh) > 0 &&
	    event_base_loop(d->base, EVLOOP_ONCE) == 0 &&
	    !event_base_got_exit(d->base))
		;
}

static void
on_accept(int fd, const struct sockaddr *sa, void *arg)
{
	struct peerd	*d = arg;

	mesh_accept(d->mesh, fd, sa);
}

/* The mesh's links, to membership. */
static void
on_link_up(void *arg, struct link *l)
{
	struct peerd	*d = arg;

	gossip_link_up(d->gossip, l);
	keyrot_link_up(d->keyrot, l);
	revoke_link_up(d->revoke, l);
}

static void
on_link_down(void *arg, struct link *l, enum mesh_reason why)
{
	struct peerd	*d = arg;

	gossip_link_down(d->gossip, l, why);
	/* After gossip's probe of the member, which counts as a dial. */
	overlay_link_down(d->overlay);
}

static void
on_link_quiet(void *arg, struct link *l)
{
	struct peerd	*d = arg;

	gossip_link_quiet(d->gossip, l);
}

static const struct mesh_ops mesh_ops = {
	on_link_up, on_link_down, on_link_quiet,
};

/* Probe rounds dial the addresses of members' records, and no others. */
static const char *
on_probe_address(void *arg, const uint8_t *id)
{
	struct peerd	*d = arg;

	return gossip_member_address(d->gossip, id);
}

static const struct probe_ops probe_ops = { on_probe_address };

/* Membership, to whoever keeps something about a member. */
static void
on_member(void *arg, const struct member *m, const uint8_t *via,
    const char *why)
{
	struct peerd	*d = arg;

	changes_member(d->changes, m, why);
	if (via != NULL)
		route_heard(d->route, m->rec.id, via);
	overlay_member(d->overlay, m);
	calls_member(d->calls, m);
	serve_member(d->serve, m);
	if (d->kv != NULL)	/* gone before the mesh, at shutdown */
		kv_member(d->kv, m);
}

static void
on_forgotten(void *arg, const uint8_t *id)
{
	struct peerd	*d = arg;

	changes_forget(d->changes, id);
	route_forget(d->route, id);
	originauth_forget(d->oa, id);
	pairkey_forget(d->pairkeys, id);
	overlay_forgotten(d->overlay, id);
	calls_forget(d->calls, id);
	serve_forget(d->serve, id);
	events_forget(d->events, id);
	if (d->kv != NULL)
		kv_forget(d->kv, id);
}

static const struct gossip_ops gossip_ops = { on_member, on_forgotten };

/* Our HELLO's generation and ID of the network key. */
static void
hello_key(struct peerd *d)
{
	d->hello.has_kg = true;
	d->hello.kgen = d->keys.gen;
	keyrot_kid(d->id.network_key, d->hello.kid);
}

/* A new network key: new handshakes say so, beacons are sealed with it. */
static void
on_key_adopted(void *arg, uint64_t gen)
{
	struct peerd	*d = arg;

	(void)gen;
	hello_key(d);
	mesh_set_hello(d->mesh, &d->hello);
	(void)overlay_discovery_start(d->overlay);
}

static const struct keyrot_ops keyrot_ops = { on_key_adopted };

/* Revocations, to the mesh (links, handshakes) and membership (records). */
static bool
on_is_revoked(void *arg, const uint8_t *id)
{
	return revoke_has(((struct peerd *)arg)->revoke, id);
}

static void
on_revoked(void *arg, struct revoke *rv, const uint8_t *id)
{
	struct peerd	*d = arg;

	if (memcmp(id, d->id.pk, NODE_ID_LEN) == 0)
		mesh_stop_dialing(d->mesh);
	else {
		mesh_revoke(d->mesh, id);
		gossip_forget(d->gossip, id);
	}
	/* Our HELLO says which we hold, whatever else changes in it. */
	revoke_digest(rv, d->hello.rv);
	d->hello.rv_count = revoke_count(rv);
	mesh_set_hello(d->mesh, &d->hello);
}

static const struct revoke_ops revoke_ops = { on_revoked };

/* What happened to a member or a service, for watchers. */
static void
on_change(void *arg, const struct change *c)
{
	handlers_change(((struct peerd *)arg)->handlers, c);
	watch_change(((struct peerd *)arg)->watch, c);
	log_debug("change: %s %s (%.12s)%s%s%s%s", change_kind_name(c->kind),
	    c->name, c->idstr, c->service != NULL ? " " : "",
	    c->service != NULL ? c->service : "", c->why != NULL ? ": " : "",
	    c->why != NULL ? c->why : "");
}

static const struct changes_ops changes_ops = { on_change };

/* A client that serves and subscribes no more. */
static void
on_client_gone(void *arg, struct ctl_conn *c)
{
	struct peerd	*d = arg;

	registry_client_gone(d->registry, c);
	serve_client_gone(d->serve, c);
	events_client_gone(d->events, c);
	watch_client_gone(d->watch, c);
	kv_client_gone(d->kv, c);
	kvwatch_client_gone(d->kvwatch, c);
}

static const struct control_ops control_ops = { on_client_gone };

/* What our record offers and subscribes to. */
static void
on_services(void *arg, const struct record_service *svc, int n)
{
	struct peerd	*d = arg;

	gossip_set_services(d->gossip, svc, n);
	changes_member(d->changes, members_self(gossip_members(d->gossip)),
	    NULL);
}

static const struct registry_ops registry_ops = { on_services };

static void
on_topics(void *arg, char (*topics)[TOPIC_MAX + 1], int n)
{
	struct peerd	*d = arg;

	gossip_set_topics(d->gossip, topics, n);
}

static const struct events_ops events_ops = { on_topics };

/* Call messages for this node, by type; via is the link they came by. */
static void
deliver_call(void *arg, const struct callmsg *m, const uint8_t *via)
{
	serve_call(arg, m, via);
}

static void
deliver_cancel(void *arg, const struct callmsg *m, const uint8_t *via)
{
	(void)via;
	serve_cancel(arg, m);
}

static void
deliver_answer(void *arg, const struct callmsg *m, const uint8_t *via)
{
	(void)via;
	calls_answer(arg, m);
}

static void
deliver_event(void *arg, const struct callmsg *m, const uint8_t *via)
{
	(void)via;
	events_deliver(arg, m);
}

static void
deliver_kv(void *arg, const struct callmsg *m, const uint8_t *via)
{
	(void)via;
	kv_deliver(arg, m);
}

static void
op_hello(struct ctl_conn *c, const struct ctl_msg *m, void *arg)
{
	struct peerd	*d = arg;
	struct cbor_buf	*b = ctl_result_begin(c, m->id);

	cbor_put_map(b, 4);
	cbor_put_text(b, "protocol");
	cbor_put_uint(b, PROTO_VERSION);
	cbor_put_text(b, "version");
	cbor_put_text(b, PEERD_VERSION);
	cbor_put_text(b, "node");
	cbor_put_text(b, d->id.id);
	cbor_put_text(b, "name");
	cbor_put_text(b, d->conf.name);
	ctl_result_end(c);
}

static void
op_status(struct ctl_conn *c, const struct ctl_msg *m, void *arg)
{
	struct peerd			*d = arg;
	const struct members		*members = gossip_members(d->gossip);
	const struct members_stats	*st = members_stats(members);
	struct control_stats		 cs;
	struct oa_stats			 oas;
	struct cbor_buf			*b;
	size_t				 i, n = listeners_count(d->listeners);

	control_stats(d->control, &cs);
	originauth_stats(d->oa, &oas);
	b = ctl_result_begin(c, m->id);
	cbor_put_map(b, 21);
	cbor_put_text(b, "node");
	cbor_put_text(b, d->id.id);
	cbor_put_text(b, "name");
	cbor_put_text(b, d->conf.name);
	cbor_put_text(b, "version");
	cbor_put_text(b, PEERD_VERSION);
	cbor_put_text(b, "protocol");
	cbor_put_uint(b, PROTO_VERSION);
	cbor_put_text(b, "pid");
	cbor_put_uint(b, (uint64_t)getpid());
	cbor_put_text(b, "started_at");
	cbor_put_uint(b, (uint64_t)d->started_at);
	cbor_put_text(b, "uptime_ms");
	cbor_put_uint(b, (uint64_t)(clock_ms() - d->started_ms));
	cbor_put_text(b, "listen");
	cbor_put_array(b, n);
	for (i = 0; i < n; i++)
		cbor_put_text(b, listeners_addr(d->listeners, i));
	cbor_put_text(b, "clients");
	cbor_put_uint(b, cs.clients);
	cbor_put_text(b, "clients_refused");
	cbor_put_uint(b, cs.clients_refused);
	cbor_put_text(b, "clients_waiting_input");
	cbor_put_uint(b, cs.waiting_input);
	cbor_put_text(b, "control_input_bytes");
	cbor_put_uint(b, cs.input_bytes);
	cbor_put_text(b, "control_input_max");
	cbor_put_uint(b, d->conf.control_input_max);
	cbor_put_text(b, "frames_timed_out");
	cbor_put_uint(b, cs.frames_timed_out);
	cbor_put_text(b, "peers");
	cbor_put_uint(b, mesh_links(d->mesh, NULL, 0));
	cbor_put_text(b, "members");
	cbor_put_uint(b, members_alive(members));
	cbor_put_text(b, "records_invalid");
	cbor_put_uint(b, st->invalid + st->full);
	cbor_put_text(b, "records_stale");
	cbor_put_uint(b, st->stale);
	cbor_put_text(b, "handshakes_dropped");
	cbor_put_uint(b, mesh_handshakes_dropped(d->mesh));
	cbor_put_text(b, "access_denied");
	cbor_put_uint(b, access_denied(d->access));
	cbor_put_text(b, "origin_auth_dropped");
	cbor_put_uint(b, oas.dropped);
	ctl_result_end(c);
}

static const struct ctl_op peerd_ctl_ops[] = {
	{ "hello",	0,	op_hello },
	{ "status",	0,	op_status },
	{ NULL,		0,	NULL },
};

static struct event *
add_signal(struct peerd *d, int sig, event_callback_fn fn)
{
	struct event	*ev;

	if ((ev = evsignal_new(d->base, sig, fn, d)) == NULL ||
	    event_add(ev, NULL) == -1)
		fatalx("cannot watch signal %d", sig);
	return ev;
}

/* Our HELLO for the mesh, and the addresses our record gives. */
static void
describe_self(struct peerd *d)
{
	size_t	i, n = listeners_count(d->listeners);

	d->hello.version = HELLO_VERSION;
	memcpy(d->hello.id, d->id.pk, NODE_ID_LEN);
	snprintf(d->hello.name, sizeof(d->hello.name), "%s", d->conf.name);
	d->hello.features = HELLO_WIDE_BATCH | HELLO_AUTH;
	hello_key(d);
	for (i = 0; i < n && i < HELLO_ADDRS_MAX; i++)
		snprintf(d->hello.listen[d->hello.nlisten++], ADDR_STRLEN,
		    "%s", listeners_addr(d->listeners, i));
	/* advertise, when set, replaces what the listeners tell. */
	if (d->conf.nadvertise > 0) {
		for (i = 0; i < (size_t)d->conf.nadvertise; i++)
			snprintf(d->addrs[i], ADDR_STRLEN, "%s",
			    d->conf.advertise[i]);
		d->naddrs = d->conf.nadvertise;
	} else
		d->naddrs = listeners_dialable(d->listeners, d->addrs,
		    RECORD_ADDRS_MAX);
}

/*
 * An event loop whose timers start from the time they are set, not the
 * time the loop last woke: after a long turn (a stall, a burst of work)
 * a timeout set from the cached time would end early.
 */
static struct event_base *
new_base(void)
{
	struct event_config	*cfg;
	struct event_base	*base;

	if ((cfg = event_config_new()) == NULL)
		return NULL;
	(void)event_config_set_flag(cfg, EVENT_BASE_FLAG_NO_CACHE_TIME);
	/*
	 * A read stopped and started again in one turn (a client's input
	 * at its watermark, then drained) costs no epoll_ctl.  No fd the
	 * loop watches is ever dup()ed, which the changelist cannot follow.
	 */
	(void)event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/* This node's share of the key-value store, in STATE_DIR/kv. */
static void
open_kvstore(struct peerd *d)
{
	const struct config	*c = &d->conf;
	char			 dir[PATH_MAX], err[PATH_MAX + 256];
	struct kvstore_params	 sp = { dir, c->kv_max_bytes, false };
	int			 n;

	n = snprintf(dir, sizeof(dir), "%s/kv", c->state_dir);
	if (n < 0 || (size_t)n >= sizeof(dir))
		fatalx("cannot open the key-value store: %s/kv: path too long",
		    c->state_dir);
	if ((d->kvstore = kvstore_open(&sp, err, sizeof(err))) == NULL)
		fatalx("cannot open the key-value store: %s", err);
}

/*
 * The rest of the key-value store: its nodes are read from the
 * members, its messages go by route.
 */
static void
build_kv(struct peerd *d, const struct members *members)
{
	const struct config	*c = &d->conf;
	struct kvring_params	 rp = { d->id.pk, c->kv_group,
				    (size_t)c->kv_replicas };
	struct kvwatch_params	 wp = { d->id.pk, 30000 };
	struct kvsync_params	 yp = { d->id.pk, c->kv_sync_interval, 200,
				    c->kv_tombstone_ttl };
	struct kv_params	 kp = { d->id.pk, c->name, c->kv_value_max,
				    c->max_message, 0 };

	if ((d->kvring = kvring_new(&rp, members)) == NULL ||
	    (d->kvpost = kvpost_new(d->route, d->id.pk,
	    c->max_message)) == NULL ||
	    (d->kvwatch = kvwatch_new(d->base, &wp, d->kvring,
	    d->kvpost)) == NULL ||
	    (d->kvsync = kvsync_new(d->base, &yp, d->kvstore, d->kvring,
	    d->kvpost, d->kvwatch)) == NULL ||
	    (d->kv = kv_new(d->base, &kp, d->kvstore, d->kvring, d->kvpost,
	    d->kvsync, d->kvwatch)) == NULL)
		fatalx("cannot start the key-value store");
	kvpost_dial_direct(d->kvpost, d->mesh, members);
}

/* For originauth: what our record of id says, if we hold one. */
static bool
record_of(void *arg, const uint8_t *id, bool *auth, uint64_t *started)
{
	struct peerd		*d = arg;
	const struct member	*m;

	if ((m = members_get(gossip_members(d->gossip), id)) == NULL)
		return false;
	*auth = m->rec.auth;
	*started = m->rec.started_at;
	return true;
}

/* Builds every module, from the floor up; fatal if one cannot start. */
static void
build(struct peerd *d)
{
	const struct config	*c = &d->conf;
	const char		*port;
	struct control_params	 cp = { c->socket_path, c->socket_gid,
				    c->admin_gid, c->max_message,
				    c->max_clients, c->max_clients_per_user,
				    c->admin_clients, c->control_frame_timeout,
				    c->control_input_max };
	struct mesh_params	 mp = { &d->id, &d->hello, c->max_message,
				    c->ping_interval, c->dead_after,
				    c->handshake_timeout, c->max_handshakes,
				    c->max_handshakes_per_address, c->call_dial,
				    c->dial_rate, c->dial_burst,
				    c->dial_rate_per_host, 0,
				    c->dial_rate_per_address, 0,
				    &d->keys, on_is_revoked, d };
	struct gossip_params	 gp = { &d->id, c->name, c->groups,
				    c->ngroups, c->hub, d->addrs, d->naddrs,
				    (uint64_t)d->started_at, c->gossip_interval,
				    c->suspect_timeout, c->member_expire,
				    c->max_message, true, c->claim_rate,
				    c->claim_probe_gap, on_is_revoked, d,
				    c->new_members_rate, c->new_members_burst,
				    c->gossip_rate * RATE_PER_S, c->gossip_burst,
				    { c->members_soft, c->intro_quota,
				    (int64_t)c->members_settle } };
	struct probe_params	 pp = { d->id.pk, c->probe_timeout };
	struct overlay_params	 op;
	struct route_params	 rp = { d->id.pk, c->name, c->max_message,
				    NULL };
	struct originauth_params ap = { d->id.pk, c->origin_auth_required,
				    MEMBERS_MAX, record_of, on_is_revoked, d };
	struct calls_params	 kp = { d->id.pk, c->max_message, d->access };
	struct serve_params	 sp = { d->id.pk, c->name, c->max_message,
				    d->access };
	struct events_params	 ep = { d->id.pk, c->name, c->max_message };
	struct keyrot_params	 yp = { c->state_dir, c->max_message,
				    c->key_grace, (int64_t)c->key_retired_keep,
				    on_is_revoked, d };
	struct revoke_params	 vp = { &d->id, &d->admins, c->state_dir,
				    NULL, c->max_message };
	const struct members	*members;
	int			 i;

	port = strrchr(listeners_addr(d->listeners, 0), ':') + 1;
	memset(&op, 0, sizeof(op));
	op.tick_ms = 1000;
	op.degree_min = c->degree_min;
	op.degree_max = c->degree_max;
	op.state_dir = c->state_dir;
	op.discovery = c->discovery;
	op.id = &d->id;
	op.keys = &d->keys;
	op.mesh_port = (uint16_t)strtoul(port, NULL, 10);
	op.discovery_port = (uint16_t)c->discovery_port;
	op.beacon_interval = c->beacon_interval;
	op.ifaces = d->conf.discovery_ifaces;
	op.nifaces = c->ndiscovery_ifaces;

	if ((d->heap_trim = heap_trim_new(d->base)) == NULL)
		fatalx("cannot start trimming the heap");
	/* Before anything is bound that clients or nodes could reach. */
	open_kvstore(d);
	if ((d->control = control_open(d->base, &cp, &control_ops, d)) ==
	    NULL)
		fatalx("cannot open the control socket");
	if ((d->watch = watch_new(d->base)) == NULL)
		fatalx("cannot start the watch streams");
	log_set_tap(watch_log, d->watch);
	if ((d->mesh = mesh_new(d->base, &mp, &mesh_ops, d)) == NULL)
		fatalx("cannot start the mesh");
	if ((d->changes = changes_new(&changes_ops, d)) == NULL)
		fatalx("cannot start membership");
	if ((d->probe = probe_new(d->base, &pp, d->mesh, &probe_ops, d)) ==
	    NULL || (d->gossip = gossip_new(d->base, &gp, d->mesh, d->probe,
	    &gossip_ops, d)) == NULL ||
	    (d->overlay = overlay_new(d->base, &op, d->mesh,
	    d->gossip)) == NULL)
		fatalx("cannot start membership");
	vp.members = gossip_members(d->gossip);
	if ((d->revoke = revoke_new(&vp, d->mesh, &revoke_ops, d)) == NULL)
		fatalx("cannot load the revocations");
	if ((d->tags = tags_new(d->gossip, &c->tags)) == NULL)
		fatalx("cannot start the node tags");
	members = gossip_members(d->gossip);
	if ((d->pairkeys = pairkey_new(&d->id, MEMBERS_MAX + 256)) == NULL ||
	    (d->oa = originauth_new(&ap, d->pairkeys)) == NULL)
		fatalx("cannot start origin authentication");
	rp.oa = d->oa;
	if ((d->route = route_new(&rp, d->mesh, members)) == NULL ||
	    (d->registry = registry_new(members, d->access, &registry_ops,
	    d)) == NULL ||
	    (d->calls = calls_new(d->base, &kp, members, d->route,
	    d->mesh)) == NULL ||
	    (d->serve = serve_new(d->base, &sp, members, d->registry,
	    d->route)) == NULL ||
	    (d->events = events_new(&ep, members, d->route, &events_ops,
	    d)) == NULL ||
	    (d->join = join_new(&d->id, &d->keys, c->state_dir, d->mesh,
	    d->gossip, d->overlay)) == NULL)
		fatalx("cannot start the service registry");
	build_kv(d, members);
	if ((d->keyrot = keyrot_new(d->base, &yp, &d->id, &d->keys,
	    &d->admins, d->mesh, members, &keyrot_ops, d)) == NULL)
		fatalx("cannot start the network key rotation");
	join_set_keys(d->join, &d->admins, &d->conf, d->keyrot);

	d->stats = (struct stats){ PEERD_VERSION, d->id.id, c->name,
	    d->started_at, d->control, d->mesh, d->gossip, d->calls,
	    d->serve, d->events, d->access, d->handlers, d->kv, d->kvsync,
	    d->kvwatch, d->oa, d->revoke };
	route_deliver(d->route, CALLMSG_CALL, deliver_call, d->serve);
	route_deliver(d->route, CALLMSG_CANCEL, deliver_cancel, d->serve);
	route_deliver(d->route, CALLMSG_ANSWER, deliver_answer, d->calls);
	route_deliver(d->route, CALLMSG_EVENT, deliver_event, d->events);
	route_deliver(d->route, CALLMSG_KV, deliver_kv, d->kv);
	if (mesh_handle(d->mesh, gossip_handlers, d->gossip) == -1 ||
	    mesh_handle(d->mesh, probe_handlers, d->probe) == -1 ||
	    mesh_handle(d->mesh, route_handlers, d->route) == -1 ||
	    mesh_handle(d->mesh, keyrot_handlers, d->keyrot) == -1 ||
	    mesh_handle(d->mesh, revoke_handlers, d->revoke) == -1 ||
	    control_add_ops(d->control, peerd_ctl_ops, d) == -1 ||
	    control_add_ops(d->control, mesh_ctl_ops, d->mesh) == -1 ||
	    control_add_ops(d->control, gossip_ctl_ops, d->gossip) == -1 ||
	    control_add_ops(d->control, registry_ctl_ops, d->registry) == -1 ||
	    control_add_ops(d->control, calls_ctl_ops, d->calls) == -1 ||
	    control_add_ops(d->control, serve_ctl_ops, d->serve) == -1 ||
	    control_add_ops(d->control, events_ctl_ops, d->events) == -1 ||
	    control_add_ops(d->control, join_ctl_ops, d->join) == -1 ||
	    control_add_ops(d->control, keyrot_ctl_ops, d->keyrot) == -1 ||
	    control_add_ops(d->control, stats_ctl_ops, &d->stats) == -1 ||
	    control_add_ops(d->control, tags_ctl_ops, d->tags) == -1 ||
	    control_add_ops(d->control, watch_ctl_ops, d->watch) == -1 ||
	    control_add_ops(d->control, kv_ctl_ops, d->kv) == -1 ||
	    control_add_ops(d->control, kvwatch_ctl_ops, d->kvwatch) == -1 ||
	    control_add_ops(d->control, revoke_ctl_ops, d->revoke) == -1)
		fatalx("cannot set up the op tables");

	for (i = 0; i < c->nbootstrap; i++)
		if (mesh_add_target(d->mesh, c->bootstrap[i]) == -1)
			fatalx("mesh: out of memory");
	if (overlay_discovery_start(d->overlay) == -1)
		fatalx("cannot start LAN discovery");
}

/*
 * The handlers are part of the configuration too: parsed here for -n,
 * and again to start.
 */
static int
check_handlers(const struct config *c, char *err, size_t errlen)
{
	struct handler_list	*hl;

	if ((hl = handler_list_parse(c, err, errlen)) == NULL)
		return -1;
	handler_list_free(hl);
	return 0;
}

/* The event handlers, before the modules whose changes they take. */
static void
start_handlers(struct peerd *d)
{
	struct handlers_params	 hp = { d->id.id, d->conf.name,
				    d->conf.socket_path, d->conf.handler_jobs,
				    d->conf.handler_timeout, 3000,
				    HANDLERS_QUEUE_MAX };
	struct handler_list	*hl;
	char			 err[512];

	if ((hl = handler_list_parse(&d->conf, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((d->handlers = handlers_new(d->base, &hp, hl)) == NULL)
		fatalx("cannot start the event handlers");
}

/* Whether dir has a network key: one made or joined before this start. */
static bool
has_network_key(const char *dir)
{
	char	path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/network.key", dir) >=
	    (int)sizeof(path))
		return false;	/* identity_load says so */
	return access(path, F_OK) == 0;
}

/* Exits before the loop: what the configuration holds goes first. */
static int
quit(struct peerd *d, int status)
{
	metrics_free(d->metrics);
	listeners_free(d->listeners);
	if (d->base != NULL)
		event_base_free(d->base);
	access_free(d->access);
	config_free(&d->conf);
	return status;
}

/*
 * Another daemon holds the state directory or the socket: a start
 * stops, peerd -n only says so (a configuration is checked before a
 * restart, while its daemon runs).
 */
static void
busy(const struct peerd *d, const char *what)
{
	if (d->opt.check_only)
		fprintf(stderr, "peerd: note: %s; a start fails while it "
		    "runs\n", what);
	else
		fprintf(stderr, "peerd: %s\n", what);
}

/*
 * What the start would refuse, found before anything is created: the
 * state directory and its key files, the control socket's place, a
 * --join token; peerd -n checks the same.  0, or -1 after saying why.
 */
static int
preflight(const struct peerd *d)
{
	const struct config	*c = &d->conf;
	struct netkeys		 keys;
	struct token		 t;
	const char		*why;
	char			 err[2 * PATH_MAX + 128], what[PATH_MAX + 64];
	bool			 held, in_use = false;

	if (identity_check(c->state_dir, &held, err, sizeof(err)) == -1)
		goto fail;
	/* netkeys_load creates nothing, and says what it refuses. */
	if (netkeys_load(&keys, c->state_dir, (int64_t)clock_wall_ms()) ==
	    -1) {
		snprintf(err, sizeof(err), "state directory %s: refusing its "
		    "network key files", c->state_dir);
		goto fail;
	}
	netkeys_clear(&keys);
	if (held) {
		snprintf(what, sizeof(what), "another peerd uses the state "
		    "directory %s", c->state_dir);
		busy(d, what);
		in_use = true;
	}
	if (control_check(c->socket_path, c->socket_gid, &held, err,
	    sizeof(err)) == -1)
		goto fail;
	if (held) {
		snprintf(what, sizeof(what), "another peerd is already serving "
		    "%s", c->socket_path);
		busy(d, what);
		in_use = true;
	}
	if (d->opt.join != NULL) {
		if (token_decode(d->opt.join, &t, &why) == -1) {
			snprintf(err, sizeof(err), "--join: %s", why);
			goto fail;
		}
		sodium_memzero(&t, sizeof(t));
	}
	return in_use && !d->opt.check_only ? -1 : 0;
fail:
	fprintf(stderr, "peerd: %s\n", err);
	return -1;
}

int
main(int argc, char *argv[])
{
	struct peerd	 d;
	struct event	*sigs[3];
	char		 err[512];
	int		 rc, status = 0;
	size_t		 i;
	bool		 made_network;

	memset(&d, 0, sizeof(d));
	heap_tune();
	options_parse(argc, argv, &d.opt);
	if (options_config(&d.opt, &d.conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "peerd: %s\n", err);
		return 2;
	}
	/* The service rules are part of the configuration: -n checks them. */
	if ((d.access = access_new(geteuid())) == NULL) {
		fprintf(stderr, "peerd: out of memory\n");
		return quit(&d, 1);
	}
	if (access_load(d.access, &d.conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "peerd: %s\n", err);
		return quit(&d, 2);
	}
	if (check_handlers(&d.conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "peerd: %s\n", err);
		return quit(&d, 2);
	}
	if (d.opt.check_only) {
		if (preflight(&d) == -1)
			return quit(&d, 1);
		config_dump(&d.conf, stdout);
		return quit(&d, 0);
	}
	if (d.opt.force && d.opt.join == NULL) {
		fprintf(stderr, "peerd: --force goes with --join\n");
		return quit(&d, 2);
	}
	if (preflight(&d) == -1)
		return quit(&d, 1);
	/* Binding creates no file: a taken port stops us before any. */
	log_set_level(d.conf.log_level);
	if ((d.base = new_base()) == NULL)
		fatalx("cannot create the event loop");
	if ((d.listeners = listeners_open(d.base, d.conf.listen,
	    d.conf.nlisten, on_accept, &d)) == NULL)
		fatalx("cannot listen for mesh connections");
	if (d.conf.metrics_listen[0] != '\0' &&
	    (d.metrics = metrics_open(d.base, d.conf.metrics_listen,
	    stats_gather, &d.stats)) == NULL)
		fatalx("cannot serve metrics on %s", d.conf.metrics_listen);
	/* Before anything in the state directory is read or written. */
	if (state_dir_lock(d.conf.state_dir) == -1)
		return quit(&d, 1);
	if (d.opt.join != NULL) {
		rc = join_at_start(&d.conf, d.opt.join, d.opt.force, err,
		    sizeof(err));
		/* It holds the network key: no copy outlives its use. */
		sodium_memzero(d.opt.join, strlen(d.opt.join));
		free(d.opt.join);
		d.opt.join = NULL;
		if (rc == -1) {
			fprintf(stderr, "peerd: %s\n", err);
			return quit(&d, 1);
		}
	}
	if (d.opt.config_path == NULL && access(CONFIG_PATH_DEFAULT, F_OK) == -1)
		log_info("no %s: running on defaults", CONFIG_PATH_DEFAULT);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	made_network = !has_network_key(d.conf.state_dir);
	if (identity_load(&d.id, d.conf.state_dir) == -1)
		fatalx("cannot load the node identity from %s",
		    d.conf.state_dir);
	if (netkeys_load(&d.keys, d.conf.state_dir,
	    (int64_t)clock_wall_ms()) == -1)
		fatalx("cannot load the network keys from %s",
		    d.conf.state_dir);
	/* A grace that ended while the node was down: retire its key. */
	(void)netkeys_expire(&d.keys, d.conf.state_dir,
	    (int64_t)clock_wall_ms(), (int64_t)d.conf.key_retired_keep);
	/* A node that makes a network is its first admin. */
	if (made_network && admins_save(d.conf.state_dir,
	    (const uint8_t (*)[NODE_ID_LEN])d.id.pk, 1) == -1)
		fatalx("cannot store the admins in %s", d.conf.state_dir);
	if (load_admins(&d, &d.conf) == -1)
		fatalx("cannot load the admins");
	d.started_at = time(NULL);
	d.started_ms = clock_ms();
	sigs[0] = add_signal(&d, SIGTERM, on_term);
	sigs[1] = add_signal(&d, SIGINT, on_term);
	sigs[2] = add_signal(&d, SIGHUP, on_hup);

	describe_self(&d);
	start_handlers(&d);
	build(&d);

	snprintf(d.status, sizeof(d.status), "node %.12s (%s) on %s", d.id.id,
	    d.conf.name, listeners_addr(d.listeners, 0));
	if (d.metrics != NULL)
		log_info("metrics: serving http://%s/metrics",
		    metrics_addr(d.metrics));
	log_info("peerd %s ready: node %s (%s)", PEERD_VERSION, d.id.id,
	    d.conf.name);
	notify_ready(d.base, d.status);

	if (event_base_dispatch(d.base) == -1) {
		log_warnx("event loop failed");
		status = 1;
	}

	notify_stopping();
	/* Running handlers get SIGTERM; no more start. */
	handlers_free(d.handlers);
	d.handlers = NULL;
	/* Scrapes while the links drain: no handlers to count. */
	d.stats.handlers = NULL;
	/* Tell the mesh we leave, and give the links a moment to say it. */
	gossip_leave(d.gossip);
	drain_links(&d);
	metrics_free(d.metrics);
	d.metrics = NULL;
	/* Clients first: their pending requests must not outlive the mesh. */
	control_free(d.control);
	listeners_free(d.listeners);
	d.listeners = NULL;
	/*
	 * The store's writes that other nodes wait for are answered while
	 * the links are up.  Each part goes before what it uses; a member
	 * change that closing the mesh brings finds no store.
	 */
	kv_free(d.kv);
	d.kv = NULL;
	kvsync_free(d.kvsync);
	kvwatch_free(d.kvwatch);
	kvpost_free(d.kvpost);
	kvring_free(d.kvring);
	kvstore_close(d.kvstore);
	/*
	 * Closing the links ends the dials under way, whose callbacks reach
	 * the modules above: they go after it.  No beacon is read
	 * meanwhile, as the loop does not run.
	 */
	mesh_free(d.mesh);
	probe_free(d.probe);	/* the mesh ended its dials and pings */
	overlay_free(d.overlay);
	join_free(d.join);
	keyrot_free(d.keyrot);
	calls_free(d.calls);
	serve_free(d.serve);
	events_free(d.events);
	route_free(d.route);
	originauth_free(d.oa);
	pairkey_free(d.pairkeys);
	registry_free(d.registry);
	tags_free(d.tags);
	gossip_free(d.gossip);
	revoke_free(d.revoke);	/* the mesh asked it until it went */
	d.revoke = NULL;
	/* Changes come until here; the watchers went with the clients. */
	changes_free(d.changes);
	log_set_tap(NULL, NULL);
	watch_free(d.watch);
	heap_trim_free(d.heap_trim);
	/* Let closed links finish freeing themselves. */
	event_base_loop(d.base, EVLOOP_NONBLOCK);
	notify_done();
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		event_free(sigs[i]);
	event_base_free(d.base);
	d.base = NULL;
	identity_clear(&d.id);
	netkeys_clear(&d.keys);
	log_info("stopped");
	return quit(&d, status);
}
