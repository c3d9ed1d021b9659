/* SPDX-License-Identifier: ISC */
/*
 * stats.c: the numbers of every module, gathered for monitoring (see
 * stats.h).  Each module keeps its own counters and hands them over
 * through its stats getter; only this file, beside peerd.c, reads them
 * all.
 */
#include <stdio.h>
#include <unistd.h>

#include "access.h"
#include "call.h"
#include "cbor_buf.h"
#include "control.h"
#include "events.h"
#include "gossip.h"
#include "handlers.h"
#include "kv.h"
#include "kvsync.h"
#include "kvwatch.h"
#include "link.h"
#include "members.h"
#include "mesh.h"
#include "metrics.h"
#include "originauth.h"
#include "proto.h"
#include "revoke.h"
#include "serve.h"
#include "stats.h"

#define STATS_LINKS_MAX	1024	/* links listed with their round trip */

/* A family of one sample without labels. */
static void
single(struct metrics_writer *w, const char *name, enum metrics_type type,
    const char *help, double v)
{
	metrics_family(w, name, type, help);
	metrics_value(w, NULL, 0, v);
}

static void
one_label(struct metrics_writer *w, const char *label, const char *value,
    double v)
{
	struct metrics_label	l = { label, value };

	metrics_value(w, &l, 1, v);
}

/* Counters by outcome code, every named code, zeros too. */
static void
by_code(struct metrics_writer *w, const char *name, const char *help,
    const uint64_t *n)
{
	int	code;

	metrics_family(w, name, METRICS_COUNTER, help);
	for (code = 0; code < METRICS_CODES; code++)
		if (metrics_code(code) == (unsigned)code)
			one_label(w, "code", peer_code_name(code),
			    (double)n[code]);
}

/* Resident memory from /proc/self/statm; -1 if unknown. */
static double
resident_bytes(void)
{
	FILE			*f;
	unsigned long long	 size, resident;
	long			 page = sysconf(_SC_PAGESIZE);
	int			 n;

	if (page <= 0 || (f = fopen("/proc/self/statm", "re")) == NULL)
		return -1;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	return n == 2 ? (double)resident * (double)page : -1;
}

static void
gather_process(struct metrics_writer *w, struct stats *d)
{
	struct metrics_label	info[3] = {
		{ "version", d->version },
		{ "node", d->node },
		{ "name", d->name },
	};
	double			rss;

	metrics_family(w, "peerd_info", METRICS_GAUGE,
	    "This node: the daemon's version, node ID and name.");
	metrics_value(w, info, 3, 1);
	single(w, "peerd_start_time_seconds", METRICS_GAUGE,
	    "When the daemon started, in seconds since the epoch.",
	    (double)d->started_at);
	metrics_family(w, "peerd_resident_memory_bytes", METRICS_GAUGE,
	    "The daemon's resident memory.");
	if ((rss = resident_bytes()) >= 0)
		metrics_value(w, NULL, 0, rss);
}

static void
gather_links(struct metrics_writer *w, struct stats *d)
{
	static const char *const	reasons[MESH_REASONS] = {
		"on_purpose", "refused", "silent", "lost",
	};
	static const char *const	ends[MESH_LINK_ENDS] = {
		"closed", "eof", "refused", "timeout", "handshake", "failed",
		"stale_key",
		"revoked",
	};
	static const char *const	causes[MESH_DIAL_CAUSES] = {
		"record", "cache", "beacon",
	};
	static const char *const	buckets[MESH_DIAL_BUCKETS] = {
		"all", "host", "address",
	};
	struct link			*links[STATS_LINKS_MAX];
	struct metrics_label		 l[2];
	struct link_info		 info;
	struct mesh_stats		 st;
	size_t				 i, n;

	mesh_stats(d->mesh, &st);
	n = mesh_links(d->mesh, links, STATS_LINKS_MAX);
	single(w, "peerd_links", METRICS_GAUGE,
	    "Links up to other nodes.", (double)n);
	metrics_family(w, "peerd_link_rtt_seconds", METRICS_GAUGE,
	    "Average round trip of each link up, once measured.");
	for (i = 0; i < n && i < STATS_LINKS_MAX; i++) {
		link_info(links[i], &info);
		if (info.rtt_avg_us < 0)
			continue;
		l[0].name = "node";
		l[0].value = info.id;
		l[1].name = "name";
		l[1].value = info.name;
		metrics_value(w, l, 2, (double)info.rtt_avg_us / 1e6);
	}
	metrics_family(w, "peerd_links_closed_total", METRICS_COUNTER,
	    "Links that were up and closed, by why.");
	for (i = 0; i < MESH_REASONS; i++)
		one_label(w, "reason", reasons[i], (double)st.links_down[i]);
	metrics_family(w, "peerd_handshakes_failed_total", METRICS_COUNTER,
	    "Links that ended before their handshake was done, by why.");
	for (i = 0; i < MESH_LINK_ENDS; i++)
		one_label(w, "reason", ends[i],
		    (double)st.handshakes_failed[i]);
	single(w, "peerd_handshakes_dropped_total", METRICS_COUNTER,
	    "Inbound handshakes closed to make room for newer ones.",
	    (double)st.handshakes_dropped);
	single(w, "peerd_link_received_bytes_total", METRICS_COUNTER,
	    "Bytes received over links, framing included.",
	    (double)st.bytes_in);
	single(w, "peerd_link_sent_bytes_total", METRICS_COUNTER,
	    "Bytes sent over links, framing included.",
	    (double)st.bytes_out);
	single(w, "peerd_link_received_messages_total", METRICS_COUNTER,
	    "Messages received over links, keep-alives included.",
	    (double)st.msgs_in);
	single(w, "peerd_link_sent_messages_total", METRICS_COUNTER,
	    "Messages sent over links, keep-alives included.",
	    (double)st.msgs_out);
	metrics_family(w, "peerd_dials_total", METRICS_COUNTER,
	    "Dials started, by where their address came from.");
	for (i = 0; i < MESH_DIAL_CAUSES; i++)
		one_label(w, "cause", causes[i], (double)st.dials[i]);
	one_label(w, "cause", "kept", (double)st.dials_kept);
	metrics_family(w, "peerd_dials_throttled_total", METRICS_COUNTER,
	    "Dials of records' addresses not made, by the bucket that had "
	    "no token.");
	for (i = 0; i < MESH_DIAL_BUCKETS; i++)
		one_label(w, "bucket", buckets[i],
		    (double)st.dials_throttled[i]);
}

static void
gather_members(struct metrics_writer *w, struct stats *d)
{
	static const enum member_state	 states[] = {
		MEMBER_ALIVE, MEMBER_SUSPECT, MEMBER_DEAD, MEMBER_LEFT,
	};
	const struct members		*members = gossip_members(d->gossip);
	const struct members_stats	*st = members_stats(members);
	struct gossip_stats		 gs;
	uint64_t			 n[4] = { 0, 0, 0, 0 };
	size_t				 i;

	for (i = 0; i < members_count(members); i++)
		n[members_at(members, i)->state]++;
	metrics_family(w, "peerd_members", METRICS_GAUGE,
	    "Members in the table, this node included, by state.");
	for (i = 0; i < 4; i++)
		one_label(w, "state", member_state_name(states[i]),
		    (double)n[states[i]]);
	single(w, "peerd_records_accepted_total", METRICS_COUNTER,
	    "Membership records taken into the table.",
	    (double)st->accepted);
	metrics_family(w, "peerd_records_dropped_total", METRICS_COUNTER,
	    "Membership records dropped, by why.");
	one_label(w, "reason", "stale", (double)st->stale);
	one_label(w, "reason", "invalid", (double)st->invalid);
	one_label(w, "reason", "full", (double)st->full);
	one_label(w, "reason", "quota", (double)st->quota);
	single(w, "peerd_members_evicted_total", METRICS_COUNTER,
	    "Members forgotten to make room for new ones.",
	    (double)st->evicted);
	gossip_stats(d->gossip, &gs);
	single(w, "peerd_records_throttled_total", METRICS_COUNTER,
	    "Records of unknown nodes dropped unchecked: their link sent "
	    "more than new_members_rate.", (double)gs.records_throttled);
	single(w, "peerd_gossip_sent_bytes_total", METRICS_COUNTER,
	    "Bytes of membership messages sent, all links.",
	    (double)gs.sent_bytes);
	single(w, "peerd_gossip_skipped_total", METRICS_COUNTER,
	    "Membership messages not sent: their link's gossip_rate was "
	    "spent.", (double)gs.sent_skipped);
	single(w, "peerd_gossip_inbound_dropped_total", METRICS_COUNTER,
	    "Membership messages ignored: their link sent more than four "
	    "times gossip_rate for over 10 s.", (double)gs.inbound_dropped);
	single(w, "peerd_claims_throttled_total", METRICS_COUNTER,
	    "Claims that a member failed, dropped unprobed: over the "
	    "budget of their link or of all, or from a link a probe "
	    "proved wrong lately.", (double)gossip_claims_throttled(d->gossip));
	single(w, "peerd_revocations", METRICS_GAUGE,
	    "Revocations held: nodes revoked by an admin.",
	    (double)revoke_count(d->revoke));
}

static void
gather_calls(struct metrics_writer *w, struct stats *d)
{
	struct calls_stats	cs;
	struct serve_stats	ss;

	calls_stats(d->calls, &cs);
	serve_stats(d->serve, &ss);
	by_code(w, "peerd_calls_total", "Calls this node's clients made "
	    "that ended, each call of a fan-out on its own, by the code "
	    "of their answer.", cs.by_code);
	single(w, "peerd_calls_refused_total", METRICS_COUNTER,
	    "Call requests refused before any call was made (malformed, "
	    "denied, no provider).", (double)cs.refused);
	metrics_family(w, "peerd_call_duration_seconds", METRICS_HISTOGRAM,
	    "How long the calls of peerd_calls_total took.");
	metrics_histogram(w, NULL, 0, &cs.latency);
	by_code(w, "peerd_served_calls_total", "Calls for this node's apps "
	    "that ended, by the code of the answer sent back.", ss.by_code);
	metrics_family(w, "peerd_served_call_duration_seconds", METRICS_HISTOGRAM,
	    "How long the calls of peerd_served_calls_total were here.");
	metrics_histogram(w, NULL, 0, &ss.latency);
}

static void
gather_events(struct metrics_writer *w, struct stats *d)
{
	struct events_stats	st;

	events_stats(d->events, &st);
	single(w, "peerd_events_published_total", METRICS_COUNTER,
	    "Events this node's clients published.", (double)st.published);
	single(w, "peerd_events_sent_total", METRICS_COUNTER,
	    "Events sent to other nodes, one per node.", (double)st.sent);
	single(w, "peerd_events_received_total", METRICS_COUNTER,
	    "Events for this node received from links.",
	    (double)st.received);
	single(w, "peerd_events_dropped_total", METRICS_COUNTER,
	    "Events received again or out of order, dropped.",
	    (double)st.dropped);
	single(w, "peerd_events_delivered_total", METRICS_COUNTER,
	    "Events given to this node's clients, one per client.",
	    (double)st.delivered);
	single(w, "peerd_events_lost_total", METRICS_COUNTER,
	    "Events not given to clients that read too slowly.",
	    (double)st.lost);
}

/* Call messages for this node dropped by originauth, every pair. */
static void
gather_origin_auth(struct metrics_writer *w, struct stats *d)
{
	struct oa_stats		st;
	struct metrics_label	l[2];
	int			t, r;

	originauth_stats(d->oa, &st);
	metrics_family(w, "peerd_origin_auth_dropped_total", METRICS_COUNTER,
	    "Call messages for this node dropped because their origin was "
	    "not proven, by type and reason.");
	for (t = 0; t < CALLMSG_TYPES; t++)
		for (r = OA_BAD_MAC; r < OA_RESULTS; r++) {
			l[0] = (struct metrics_label){ "type",
			    callmsg_type_name(t) };
			l[1] = (struct metrics_label){ "reason",
			    originauth_result_name(r) };
			metrics_value(w, l, 2, (double)st.opened[t][r]);
		}
	single(w, "peerd_origin_auth_unverified_total", METRICS_COUNTER,
	    "Call messages without a MAC from nodes that do not seal, "
	    "taken under origin_auth = auto.", (double)st.unverified);
}

static void
gather_control(struct metrics_writer *w, struct stats *d)
{
	struct control_stats	cs;

	control_stats(d->control, &cs);
	single(w, "peerd_control_clients", METRICS_GAUGE,
	    "Clients connected to the control socket.", (double)cs.clients);
	single(w, "peerd_control_clients_refused_total", METRICS_COUNTER,
	    "Control clients refused for a limit.",
	    (double)cs.clients_refused);
	single(w, "peerd_control_clients_waiting", METRICS_GAUGE,
	    "Control clients waiting for input room.",
	    (double)cs.waiting_input);
	single(w, "peerd_control_input_bytes", METRICS_GAUGE,
	    "Bytes buffered from control clients.", (double)cs.input_bytes);
	single(w, "peerd_control_frames_timed_out_total", METRICS_COUNTER,
	    "Control frames not whole within control_frame_timeout.",
	    (double)cs.frames_timed_out);
	single(w, "peerd_access_denied_total", METRICS_COUNTER,
	    "Calls and registrations the service access rules refused.",
	    (double)access_denied(d->access));
}

static void
gather_handlers(struct metrics_writer *w, struct stats *d)
{
	struct handlers_stats	hs;

	handlers_stats(d->handlers, &hs);
	single(w, "peerd_handler_runs_total", METRICS_COUNTER,
	    "Event handler runs started.", (double)hs.runs);
	single(w, "peerd_handler_failures_total", METRICS_COUNTER,
	    "Event handler runs that failed: not started, a non-zero exit "
	    "or a signal.", (double)hs.failed);
	single(w, "peerd_handler_timeouts_total", METRICS_COUNTER,
	    "Event handler runs killed at handler_timeout.",
	    (double)hs.timed_out);
	single(w, "peerd_handler_dropped_total", METRICS_COUNTER,
	    "Event handler runs dropped from a full queue.",
	    (double)hs.dropped);
	single(w, "peerd_handlers_running", METRICS_GAUGE,
	    "Event handler runs under way.", (double)hs.running);
	single(w, "peerd_handlers_waiting", METRICS_GAUGE,
	    "Event handler runs waiting for a place.", (double)hs.waiting);
}

static void
gather_kv(struct metrics_writer *w, struct stats *d)
{
	struct kv_stats		ks;
	struct kvsync_stats	ys;
	struct kvwatch_stats	ws;

	kv_stats(d->kv, &ks);
	kvsync_stats(d->kvsync, &ys);
	kvwatch_stats(d->kvwatch, &ws);
	single(w, "peerd_kv_gets_total", METRICS_COUNTER,
	    "Key-value reads this node's clients asked for.",
	    (double)ks.gets);
	single(w, "peerd_kv_writes_total", METRICS_COUNTER,
	    "Key-value puts, deletes and merges this node's clients asked "
	    "for.", (double)ks.writes);
	single(w, "peerd_kv_lists_total", METRICS_COUNTER,
	    "Key-value lists this node's clients asked for.",
	    (double)ks.lists);
	single(w, "peerd_kv_failed_total", METRICS_COUNTER,
	    "Of those reads, writes and lists, the ones answered with an "
	    "error.", (double)ks.failed);
	single(w, "peerd_kv_coordinated_total", METRICS_COUNTER,
	    "Key-value writes ordered on this node as a key's coordinator.",
	    (double)ks.coordinated);
	single(w, "peerd_kv_stored_total", METRICS_COUNTER,
	    "Items this node stored for other nodes.", (double)ks.stored);
	single(w, "peerd_kv_repaired_total", METRICS_COUNTER,
	    "Newer items sent to owners that answered a read with an older "
	    "one.", (double)ks.repaired);
	single(w, "peerd_kv_keys", METRICS_GAUGE,
	    "Keys this node holds, tombstones included.", (double)ks.keys);
	single(w, "peerd_kv_bytes", METRICS_GAUGE,
	    "Bytes of the keys and values this node holds.",
	    (double)ks.bytes);
	single(w, "peerd_kv_sync_rounds_total", METRICS_COUNTER,
	    "Rounds of comparing held keys with the other owners.",
	    (double)ys.rounds);
	single(w, "peerd_kv_sync_sent_total", METRICS_COUNTER,
	    "Items sent to other owners by those rounds and hand-offs.",
	    (double)ys.sent);
	single(w, "peerd_kv_handed_off_total", METRICS_COUNTER,
	    "Keys dropped here once their owners held them.",
	    (double)ys.handed_off);
	single(w, "peerd_kv_expired_total", METRICS_COUNTER,
	    "Expired items and old tombstones forgotten.",
	    (double)ys.expired);
	single(w, "peerd_kv_watches", METRICS_GAUGE,
	    "Prefixes this node's clients watch.", (double)ws.watches);
	single(w, "peerd_kv_watch_leases", METRICS_GAUGE,
	    "Leases of other nodes' watches held here.", (double)ws.leases);
	single(w, "peerd_kv_changes_sent_total", METRICS_COUNTER,
	    "Changes of keys sent to nodes that watch them.",
	    (double)ws.sent);
	single(w, "peerd_kv_changes_delivered_total", METRICS_COUNTER,
	    "Changes of keys given to this node's watching clients.",
	    (double)ws.delivered);
	single(w, "peerd_kv_changes_lost_total", METRICS_COUNTER,
	    "Changes of keys not given to clients that read too slowly.",
	    (double)ws.lost);
}

void
stats_gather(struct metrics_writer *w, void *arg)
{
	struct stats	*d = arg;

	gather_process(w, d);
	gather_links(w, d);
	gather_members(w, d);
	gather_calls(w, d);
	gather_events(w, d);
	gather_origin_auth(w, d);
	gather_control(w, d);
	gather_handlers(w, d);
	gather_kv(w, d);
}

static void
op_stats(struct ctl_conn *c, const struct ctl_msg *m, void *arg)
{
	metrics_cbor(ctl_result_begin(c, m->id), stats_gather, arg);
	ctl_result_end(c);
}

const struct ctl_op stats_ctl_ops[] = {
	{ "stats",	0,	op_stats },
	{ NULL,		0,	NULL },
};
