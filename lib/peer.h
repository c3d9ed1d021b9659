/* SPDX-License-Identifier: ISC */
/*
 * peer.h: libpeer, the C client of peerd's control socket.
 *
 * A struct peer is one connection to the local peerd.  Requests carry an
 * id chosen here; any number may be in flight, and each ends exactly
 * once: with the daemon's reply, at its timeout, or when the connection
 * is lost.  Use the synchronous calls (peer_op, peer_status) in simple
 * programs, or peer_request with peer_fd/peer_timeout/peer_dispatch to
 * embed the connection in an event loop.  The same loop serves calls
 * (peer_serve) and, if asked to, reconnects.  A struct peer is not
 * thread-safe.
 */
#ifndef PEER_H
#define PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEER_TIMEOUT_DEFAULT	5000	/* ms */

/* Error codes: gRPC's canonical names and numbers. */
enum peer_code {
	PEER_OK = 0,
	PEER_CANCELLED = 1,
	PEER_UNKNOWN = 2,		/* the serving app's own error */
	PEER_INVALID_ARGUMENT = 3,
	PEER_DEADLINE_EXCEEDED = 4,
	PEER_NOT_FOUND = 5,
	PEER_ALREADY_EXISTS = 6,
	PEER_PERMISSION_DENIED = 7,
	PEER_RESOURCE_EXHAUSTED = 8,
	PEER_FAILED_PRECONDITION = 9,	/* not in the state asked for */
	PEER_UNIMPLEMENTED = 12,
	PEER_INTERNAL = 13,
	PEER_UNAVAILABLE = 14,		/* daemon or provider unreachable */
};

/* Filled in by calls that fail; callers own it (usually on the stack). */
struct peer_error {
	enum peer_code	code;
	char		message[512];
};

/* "INVALID_ARGUMENT" and so on; "UNKNOWN" for codes outside the enum. */
const char	*peer_code_name(enum peer_code);
/* PEER_UNKNOWN for names this version does not know. */
enum peer_code	 peer_code_from_name(const char *);

struct peer;

/*
 * The socket a client uses when given none: $PEERD_SOCKET, else
 * $XDG_RUNTIME_DIR/peerd.sock for a non-root user if it exists, else
 * /run/peerd/peerd.sock.  Writes it into buf; NULL if it does not fit.
 */
const char	*peer_default_socket(char *buf, size_t len);

/*
 * Connects to path (NULL: peer_default_socket()) and exchanges hello.
 * NULL on failure, with err filled in (UNAVAILABLE if no daemon
 * answers there).  err may be NULL.
 */
struct peer	*peer_open(const char *path, struct peer_error *err);
/* NULL is fine.  Requests still in flight end with CANCELLED. */
void		 peer_close(struct peer *);

/*
 * Node ID (base32) and name of the daemon, from hello; owned by p.  They
 * change only if a reconnect reaches a daemon with another identity.
 */
const char	*peer_node_id(const struct peer *);
const char	*peer_node_name(const struct peer *);

/* The outcome of a request, valid only during the callback. */
struct peer_reply {
	uint64_t		 id;
	const struct peer_error	*error;		/* NULL on success */
	const uint8_t		*result;	/* encoded CBOR, or NULL */
	size_t			 result_len;
	/* With an error: the server's "context" item, or NULL. */
	const uint8_t		*context;
	size_t			 context_len;
};
/*
 * A callback (this, a peer_handler_fn or a peer_event_fn) may send
 * further requests with peer_request, peer_call, peer_publish,
 * peer_cancel and the asynchronous peer_kv_ functions and answer calls,
 * but must not block: peer_dispatch, peer_wait, peer_op, peer_status,
 * peer_call_sync, peer_notify, peer_serve, peer_unserve, peer_subscribe,
 * peer_unsubscribe, peer_watch, peer_unwatch, the peer_kv_*_sync
 * functions, peer_kv_watch, peer_kv_unwatch and peer_run fail with
 * INVALID_ARGUMENT there, and peer_close aborts.
 */
typedef void	 peer_reply_fn(struct peer *, const struct peer_reply *,
		    void *arg);

/*
 * Sends op with nbody further map entries, already encoded as CBOR
 * key/value pairs in body (bodylen bytes; may be NULL if nbody is 0).
 * timeout_ms <= 0 means PEER_TIMEOUT_DEFAULT.  Sets *id if id is not
 * NULL.  Returns -1 with err filled in if nothing was sent (not
 * connected, too large, out of memory); fn is then never called.
 * Otherwise returns 0 and fn is called exactly once: from
 * peer_dispatch(), peer_wait() or peer_close(), or before this returns
 * if the connection fails while sending.
 */
int		 peer_request(struct peer *, const char *op, const void *body,
		    size_t bodylen, size_t nbody, int timeout_ms,
		    peer_reply_fn *fn, void *arg, uint64_t *id,
		    struct peer_error *err);

/* The fd to poll for reading; -1 while the connection is lost. */
int		 peer_fd(const struct peer *);
/*
 * Milliseconds until peer_dispatch has work without the fd turning
 * readable (a request times out, a reconnect is due, frames are already
 * buffered), or -1 if nothing is due.
 */
int		 peer_timeout(const struct peer *);
/*
 * Reads what the socket has without blocking (a reconnect, when due,
 * waits for the daemon's hello and registrations), runs the callbacks
 * of finished and timed-out requests and events, and the handlers of
 * calls.  0, or -1
 * if the connection was lost (all requests then end with UNAVAILABLE);
 * with reconnecting on, a lost connection still returns 0.
 */
int		 peer_dispatch(struct peer *, struct peer_error *);
/* Blocks until request id has ended. 0, or -1 if the connection failed. */
int		 peer_wait(struct peer *, uint64_t id, struct peer_error *);

/*
 * Synchronous request.  On success *result (malloc'd, caller frees) holds
 * the encoded CBOR result and 0 is returned; else -1 with err filled in.
 */
int		 peer_op(struct peer *, const char *op, const void *body,
		    size_t bodylen, size_t nbody, int timeout_ms,
		    uint8_t **result, size_t *result_len,
		    struct peer_error *err);

struct peer_status {
	char		 *node_id;	/* base32 */
	char		 *name;
	char		 *version;
	uint64_t	  pid;
	uint64_t	  uptime_ms;
	uint64_t	  started_at;	/* seconds since the epoch */
	char		**listen;	/* "addr:port" of each mesh listener */
	size_t		  nlisten;
	uint64_t	  clients;	/* control clients connected */
	uint64_t	  peers;	/* mesh links up */
	uint64_t	  members;	/* known alive, this node included */
};

/*
 * Calls.  A call names a service and a method; its arguments are one
 * encoded CBOR item (args, argslen), or none (args NULL).  The result
 * is the provider's result item, or with all set an array with one map
 * per provider: {"node", "name", and "result" or "error"}.
 */
struct peer_call_opts {
	const char	*to;		/* node name, ID prefix or group */
	bool		 all;		/* every provider answers */
	int		 timeout_ms;	/* <= 0: PEER_TIMEOUT_DEFAULT */
};
/* libpeer waits this much longer, so the daemon's verdict comes first. */
#define PEER_CALL_MARGIN	1000	/* ms */

/*
 * Starts a call; opts may be NULL.  As peer_request: fn is called once,
 * and *id (if id is not NULL) is what peer_cancel takes.  Fails with
 * INVALID_ARGUMENT, sending nothing, if args is not one well-formed
 * item or a name is not UTF-8: the daemon would drop the connection.
 * An error reply may carry the provider's context item.
 */
int		 peer_call(struct peer *, const char *service,
		    const char *method, const void *args, size_t argslen,
		    const struct peer_call_opts *, peer_reply_fn *fn, void *arg,
		    uint64_t *id, struct peer_error *err);
/*
 * One provider's answer to a call of peer_call_each, as it comes: its
 * map of the array, encoded.  Valid only during the callback; id is
 * the call's.
 */
typedef void	 peer_answer_fn(struct peer *, uint64_t id,
		    const uint8_t *entry, size_t len, void *arg);
/*
 * As peer_call with all set, but each provider's answer goes to
 * each(each_arg) as it comes, before fn; the result fn gets is then a
 * map {"answers": count}.
 */
int		 peer_call_each(struct peer *, const char *service,
		    const char *method, const void *args, size_t argslen,
		    const struct peer_call_opts *, peer_answer_fn *each,
		    void *each_arg, peer_reply_fn *fn, void *arg, uint64_t *id,
		    struct peer_error *err);
/* Synchronous call: as peer_op (an error's context is not kept). */
int		 peer_call_sync(struct peer *, const char *service,
		    const char *method, const void *args, size_t argslen,
		    const struct peer_call_opts *, uint8_t **result,
		    size_t *result_len, struct peer_error *err);
/*
 * A one-way call: no result comes back.  Returns once the daemon has
 * sent it on, with the number of providers it went to in *sent (may be
 * NULL); -1 with err if no provider was found.  Not from callbacks.
 */
int		 peer_notify(struct peer *, const char *service,
		    const char *method, const void *args, size_t argslen,
		    const struct peer_call_opts *, unsigned *sent,
		    struct peer_error *err);
/*
 * Cancels call id: its callback runs with CANCELLED when the daemon
 * confirms, or with its result if that came first.  -1 if the request
 * could not be sent, NOT_FOUND if id is not in flight.
 */
int		 peer_cancel(struct peer *, uint64_t id, struct peer_error *err);

/*
 * Serving.  A handler runs for each call to a service this client
 * serves.  It answers with peer_answer or peer_answer_error, in the
 * callback or later (keep inv->call); a oneway call takes no answer.
 * The invocation is valid only during the callback.
 */
struct peer_invocation {
	uint64_t	 call;		/* what peer_answer takes */
	const char	*service;
	const char	*group;		/* "" if none */
	const char	*method;
	const uint8_t	*args;		/* one encoded CBOR item, or NULL */
	size_t		 args_len;
	const char	*from;		/* the caller's node ID, base32 */
	int		 timeout_ms;	/* left until the caller gives up */
	bool		 oneway;	/* a notify: answers are dropped */
	bool		 verified;	/* see peer_inv_verified */
};
typedef void	 peer_handler_fn(struct peer *,
		    const struct peer_invocation *, void *arg);

/*
 * Whether inv->from is a verified node ID: the call was authenticated
 * end to end as its node's.  False only for a call from a node too old
 * to authenticate its calls, which the daemon takes in origin_auth =
 * auto: its from is what the node, or a relay, claimed.
 */
bool		 peer_inv_verified(const struct peer_invocation *);

/*
 * Registers service (in group, or NULL) with the daemon and routes its
 * calls to fn.  Blocks until the daemon confirms; not from callbacks.
 * The registration is renewed after a reconnect.
 */
int		 peer_serve(struct peer *, const char *service,
		    const char *group, peer_handler_fn *fn, void *arg,
		    struct peer_error *err);
/*
 * Withdraws it.  Not from callbacks.  NOT_FOUND if not served here;
 * while disconnected only the renewal is dropped.
 */
int		 peer_unserve(struct peer *, const char *service,
		    const char *group, struct peer_error *err);
/*
 * Answers a call with one encoded CBOR item (NULL: null).  A oneway call
 * takes no answer: 0, and nothing is sent.  INVALID_ARGUMENT if result
 * is not one well-formed item; the call is then still unanswered.
 */
int		 peer_answer(struct peer *, uint64_t call, const void *result,
		    size_t result_len, struct peer_error *err);
/*
 * Answers with an error: code (PEER_UNKNOWN for the app's own errors,
 * PEER_UNIMPLEMENTED for a method it does not have), a message (UTF-8,
 * NULL for none), and an optional context item passed to the caller as
 * is.
 */
int		 peer_answer_error(struct peer *, uint64_t call,
		    enum peer_code code, const char *message,
		    const void *context, size_t context_len,
		    struct peer_error *err);

/*
 * Events.  A publisher sends data under a topic (1 to 64 of a-z 0-9 . _
 * -); every client subscribed to a matching pattern, on any node, gets
 * it once.  A pattern is a topic, a prefix ending in ".*" ("sensor.*"
 * matches "sensor.temp" and "sensor.a.b", not "sensor"), or "*" (every
 * topic).  The event is valid only during the callback.
 */
struct peer_event {
	const char	*topic;
	const uint8_t	*data;		/* one encoded CBOR item, or NULL */
	size_t		 data_len;
	const char	*node;		/* the publisher's node ID, base32 */
	const char	*name;		/* and name */
	uint64_t	 seq;		/* per publisher, increasing */
	uint64_t	 lost;		/* events dropped before this one */
	bool		 verified;	/* node is verified, as an invocation's from */
};
typedef void	 peer_event_fn(struct peer *, const struct peer_event *,
		    void *arg);

/*
 * Subscribes to pattern.  Blocks until the daemon confirms; not from
 * callbacks.  Renewed after a reconnect.  An event goes to the fn of
 * the first subscription (in subscribe order) whose pattern matches its
 * topic.  ALREADY_EXISTS if this client subscribes to it already.
 */
int		 peer_subscribe(struct peer *, const char *pattern,
		    peer_event_fn *fn, void *arg, struct peer_error *err);
/*
 * Ends the subscription.  Not from callbacks.  NOT_FOUND if not
 * subscribed here; while disconnected only the renewal is dropped.
 */
int		 peer_unsubscribe(struct peer *, const char *pattern,
		    struct peer_error *err);
/*
 * Publishes data (one encoded CBOR item, or NULL for none) under topic.
 * fn (NULL: the reply is ignored) gets the result {"seq", "nodes"} or
 * the error; as peer_request otherwise.  May be called from callbacks.
 */
int		 peer_publish(struct peer *, const char *topic,
		    const void *data, size_t len, peer_reply_fn *fn,
		    void *arg, struct peer_error *err);

/*
 * Watching.  The daemon tells a watching client what happens as it
 * happens: members that join, come back, are suspected, die, leave or
 * are forgotten (PEER_WATCH_MEMBERS); services registered and withdrawn
 * on each node, this one included (PEER_WATCH_SERVICES); and, for an
 * admin (root, the daemon's user or a member of its admin_group), its
 * log lines up to a level (PEER_WATCH_LOG).  The message is valid only
 * during the callback.
 */
#define PEER_WATCH_MEMBERS	0x01
#define PEER_WATCH_SERVICES	0x02
#define PEER_WATCH_LOG		0x04

enum peer_log_level {
	PEER_LOG_ERROR,
	PEER_LOG_WARN,
	PEER_LOG_INFO,
	PEER_LOG_DEBUG,
};

struct peer_watch_msg {
	unsigned		 type;		/* one PEER_WATCH_ bit */
	/*
	 * "member-join", "member-alive", "member-suspect", "member-dead",
	 * "member-left", "member-forgotten", "member-update",
	 * "service-registered", "service-withdrawn"; "log" for a log line.
	 */
	const char		*kind;
	uint64_t		 time_ms;	/* the daemon's wall clock */
	uint64_t		 lost;		/* messages dropped before */
	/* Changes: the node, and for services the service and group. */
	const char		*node;		/* node ID, base32 */
	const char		*name;
	uint64_t		 incarnation;
	const char		*why;		/* the evidence, or NULL */
	const char		*service;	/* NULL for member kinds */
	const char		*group;		/* "" if none; NULL likewise */
	/* Log lines. */
	enum peer_log_level	 level;
	const char		*text;
};
typedef void	 peer_watch_fn(struct peer *, const struct peer_watch_msg *,
		    void *arg);

/*
 * Watches what (PEER_WATCH_ bits; level counts with PEER_WATCH_LOG, and
 * takes the lines of that level and the more severe ones), calling fn
 * for each message.  Blocks until the daemon confirms; not from
 * callbacks.  Renewed after a reconnect.  A client has one watch: a
 * second call replaces it.  PERMISSION_DENIED for PEER_WATCH_LOG if the
 * client is not an admin; INVALID_ARGUMENT if what is empty.
 */
int		 peer_watch(struct peer *, unsigned what,
		    enum peer_log_level level, peer_watch_fn *fn, void *arg,
		    struct peer_error *err);
/*
 * Ends the watch.  Not from callbacks.  NOT_FOUND if not watching;
 * while disconnected only the renewal is dropped.
 */
int		 peer_unwatch(struct peer *, struct peer_error *err);
/* "error", "warn", "info", "debug"; NULL outside the enum. */
const char	*peer_log_level_name(enum peer_log_level);
/* The level of a name; -1 if it is none. */
int		 peer_log_level_parse(const char *);

/*
 * The key-value store, replicated over the members of the mesh.  A key
 * is UTF-8 text of 1 to 256 bytes without control characters; a value
 * is one encoded CBOR item.  Each write gives the key a new version: a
 * hybrid logical clock (milliseconds << 16 | a counter) that grows with
 * every write of the key, written by the node named by writer.  Any
 * node takes any request and forwards it to the key's owners.
 */
struct peer_kv_item {
	const char	*key;
	const uint8_t	*value;		/* one encoded CBOR item, or NULL */
	size_t		 value_len;
	uint64_t	 version;
	const char	*writer;	/* the writing node's ID, base32 */
	uint64_t	 expires_ms;	/* wall clock, ms; 0: never */
};

/* A page of kv_list, keys in byte order. */
struct peer_kv_list {
	struct peer_kv_item	*items;
	size_t			 nitems;
	const char		*next;	/* list after it for more; NULL: done */
};

/* What one owner of a key holds, in placement order. */
struct peer_kv_owner {
	const char	*node;		/* node ID, base32 */
	const char	*name;
	bool		 coordinator;	/* orders the writes of the key */
	bool		 answered;	/* false: it did not answer in time */
	bool		 has_version;	/* it holds the key (or a tombstone) */
	bool		 deleted;	/* what it holds is a tombstone */
	uint64_t	 version;
};

struct peer_kv_where {
	const char		*key;
	struct peer_kv_owner	*owners;
	size_t			 nowners;
};

/*
 * The outcome of a kv request, valid only during the callback.  On
 * success the part of its op is set: version for put, del and merge
 * (the version written), item for get, list for list, where for where.
 */
struct peer_kv_result {
	uint64_t			 id;
	const struct peer_error		*error;		/* NULL on success */
	uint64_t			 version;
	const struct peer_kv_item	*item;
	const struct peer_kv_list	*list;
	const struct peer_kv_where	*where;
};
typedef void	 peer_kv_fn(struct peer *, const struct peer_kv_result *,
		    void *arg);

/* Options of a put or a del; NULL for the defaults. */
struct peer_kv_opts {
	bool		 if_version_set;	/* compare-and-set: */
	uint64_t	 if_version;	/* only if at it; 0: only if absent */
	uint64_t	 ttl_ms;	/* put: expires after; 0: never */
	int		 timeout_ms;	/* <= 0: PEER_TIMEOUT_DEFAULT */
};

/* What kv_list asks for; NULL for the defaults. */
struct peer_kv_list_opts {
	const char	*prefix;	/* NULL or "": every key */
	const char	*after;		/* NULL or "": from the first key */
	unsigned	 limit;		/* items, 1-1000; 0: 100 */
	bool		 keys_only;	/* items come without their value */
	int		 timeout_ms;	/* <= 0: PEER_TIMEOUT_DEFAULT */
};

/*
 * The asynchronous functions work as peer_call: fn is called once with
 * the decoded result or an error (libpeer waits PEER_CALL_MARGIN longer
 * than timeout_ms, so the daemon's verdict comes first), and *id (if id
 * is not NULL) names the request.  peer_cancel does not stop one: the
 * daemon finishes it, and fn gets its outcome.  A lost connection ends
 * those in flight with UNAVAILABLE (a write may still take effect).
 * They fail with INVALID_ARGUMENT,
 * sending nothing, for a NULL or non-UTF-8 key, a value that is not one
 * well-formed item, or options that do not apply.  A reply that is not
 * what the op returns ends the request with INTERNAL.  Errors of the
 * store: NOT_FOUND (get or del of an absent key), FAILED_PRECONDITION
 * (the version is not if_version; merge into a value that is not a
 * map), UNAVAILABLE (too few owners answered: a write may still take
 * effect), RESOURCE_EXHAUSTED (a value over kv_value_max, a node over
 * kv_max_bytes).
 *
 * The synchronous ones block until the request ends, as peer_call_sync;
 * what they return in *item, *list or *where is one allocation, freed
 * with peer_kv_item_free, peer_kv_list_free or peer_kv_where_free.
 */
int		 peer_kv_get(struct peer *, const char *key, int timeout_ms,
		    peer_kv_fn *fn, void *arg, uint64_t *id,
		    struct peer_error *err);
int		 peer_kv_get_sync(struct peer *, const char *key,
		    int timeout_ms, struct peer_kv_item **item,
		    struct peer_error *err);
/* NULL is fine. */
void		 peer_kv_item_free(struct peer_kv_item *);
/* Stores value under key, for ttl_ms if set; if_version as opts says. */
int		 peer_kv_put(struct peer *, const char *key, const void *value,
		    size_t value_len, const struct peer_kv_opts *,
		    peer_kv_fn *fn, void *arg, uint64_t *id,
		    struct peer_error *err);
int		 peer_kv_put_sync(struct peer *, const char *key,
		    const void *value, size_t value_len,
		    const struct peer_kv_opts *, uint64_t *version,
		    struct peer_error *err);
/* Deletes key (a tombstone takes the new version); no ttl_ms. */
int		 peer_kv_del(struct peer *, const char *key,
		    const struct peer_kv_opts *, peer_kv_fn *fn, void *arg,
		    uint64_t *id, struct peer_error *err);
int		 peer_kv_del_sync(struct peer *, const char *key,
		    const struct peer_kv_opts *, uint64_t *version,
		    struct peer_error *err);
/*
 * Merges the map value into the map stored under key (absent: an empty
 * one): its keys replace the stored map's, a null value removes one.
 */
int		 peer_kv_merge(struct peer *, const char *key,
		    const void *value, size_t value_len, int timeout_ms,
		    peer_kv_fn *fn, void *arg, uint64_t *id,
		    struct peer_error *err);
int		 peer_kv_merge_sync(struct peer *, const char *key,
		    const void *value, size_t value_len, int timeout_ms,
		    uint64_t *version, struct peer_error *err);
/* One page of the keys under a prefix; go on from list->next. */
int		 peer_kv_list(struct peer *, const struct peer_kv_list_opts *,
		    peer_kv_fn *fn, void *arg, uint64_t *id,
		    struct peer_error *err);
int		 peer_kv_list_sync(struct peer *,
		    const struct peer_kv_list_opts *, struct peer_kv_list **list,
		    struct peer_error *err);
/* NULL is fine. */
void		 peer_kv_list_free(struct peer_kv_list *);
/* Which nodes own key, and what each holds. */
int		 peer_kv_where(struct peer *, const char *key, int timeout_ms,
		    peer_kv_fn *fn, void *arg, uint64_t *id,
		    struct peer_error *err);
int		 peer_kv_where_sync(struct peer *, const char *key,
		    int timeout_ms, struct peer_kv_where **where,
		    struct peer_error *err);
/* NULL is fine. */
void		 peer_kv_where_free(struct peer_kv_where *);

/*
 * A change of a watched key, valid only during the callback: value is
 * set for PEER_KV_PUT and PEER_KV_MERGE (the value after the merge).
 * Changes of one key come in version order.
 */
enum peer_kv_kind {
	PEER_KV_PUT,
	PEER_KV_DEL,
	PEER_KV_MERGE,
	PEER_KV_EXPIRED,
};
struct peer_kv_change {
	const char		*prefix;	/* the watch's */
	const char		*key;
	enum peer_kv_kind	 kind;
	uint64_t		 version;
	const char		*writer;	/* node ID, base32 */
	const uint8_t		*value;		/* one encoded CBOR item */
	size_t			 value_len;
	uint64_t		 lost;		/* changes dropped before */
};
typedef void	 peer_kv_watch_fn(struct peer *,
		    const struct peer_kv_change *, void *arg);
/*
 * Watches the keys that begin with prefix ("": every key), calling fn
 * for each change.  Blocks until the daemon confirms; not from
 * callbacks.  Renewed after a reconnect (changes meanwhile are not
 * seen).  ALREADY_EXISTS if this client watches that prefix already.
 */
int		 peer_kv_watch(struct peer *, const char *prefix,
		    peer_kv_watch_fn *fn, void *arg, struct peer_error *err);
/*
 * Ends the watch of prefix.  Not from callbacks.  NOT_FOUND if not
 * watched here; while disconnected only the renewal is dropped.
 */
int		 peer_kv_unwatch(struct peer *, const char *prefix,
		    struct peer_error *err);
/* "put", "del", "merge", "expired"; NULL outside the enum. */
const char	*peer_kv_kind_name(enum peer_kv_kind);

/*
 * fn hears of calls this client serves that no longer want an answer:
 * cancelled by their caller, or past their deadline.  Answering them
 * is harmless and useless.  NULL turns it off.  It runs like a
 * handler: it may answer or send requests, not block.
 */
typedef void	 peer_cancel_fn(struct peer *, uint64_t call,
		    const char *reason, void *arg);
void		 peer_on_cancel(struct peer *, peer_cancel_fn *fn, void *arg);

/*
 * Reconnecting.  With it on, a lost connection is not final: requests
 * in flight end with UNAVAILABLE, then peer_dispatch (or peer_run)
 * reconnects with a growing delay (0.1 s to 5 s; peer_timeout says
 * when), says hello, registers every served service, subscribes to
 * every pattern and renews the watch again.  While
 * disconnected peer_fd returns -1, and after a reconnect it returns a
 * new fd: event loops must fetch it again after each peer_dispatch.
 * Calls kept to answer later died with the old connection (the daemon
 * may number new ones the same): drop them when peer_fd turns -1.
 */
void		 peer_set_reconnect(struct peer *, bool on);
/*
 * Runs the connection until peer_stop: waits, dispatches and, with
 * reconnecting on, reconnects.  0 after peer_stop, -1 with err if the
 * connection was lost for good.
 */
int		 peer_run(struct peer *, struct peer_error *err);
/*
 * Makes peer_run return when the dispatch in progress is done; may be
 * called from callbacks.  Called outside peer_run, the next peer_run
 * returns at once.
 */
void		 peer_stop(struct peer *);

/*
 * Non-blocking sending.  With it on, the functions that send without
 * waiting for a reply (peer_request, peer_call, peer_call_each,
 * peer_cancel, peer_publish, peer_answer, peer_answer_error) never wait
 * for the socket: the frame joins libpeer's output queue, and
 * peer_dispatch (peer_run, peer_wait) writes the queue as the socket
 * takes it.  While peer_wants_write is true an event loop polls peer_fd
 * for POLLOUT as well.  The queue is bounded: once it holds its limit
 * (PEER_QUEUE_DEFAULT unless set) it is full, and those functions fail
 * with RESOURCE_EXHAUSTED, sending nothing, until it has drained to a
 * quarter of the limit; a frame begun below the limit is always taken,
 * so the queue holds at most the limit and one frame.  While it is
 * full peer_dispatch reads on, but handles none of the frames it
 * reads, so that a handler always finds room for its answer.  The
 * functions that wait for their reply (peer_op and the like) queue
 * their request in any case.  Off by default: then a send waits until
 * the socket has taken it.
 */
#define PEER_QUEUE_DEFAULT	(4u << 20)	/* bytes */
void		 peer_set_nonblocking(struct peer *, bool on);
/* The limit of the output queue in bytes; 0 restores the default. */
void		 peer_set_queue_limit(struct peer *, size_t limit);
/* True while the output queue holds bytes the socket has not taken. */
bool		 peer_wants_write(const struct peer *);
/* The bytes in the output queue. */
size_t		 peer_queued(const struct peer *);
/* True while the output queue is full: sends fail until it drains. */
bool		 peer_queue_full(const struct peer *);
/*
 * fn runs once each time the output queue, having been full, has
 * drained to a quarter of its limit, or has been dropped with a lost
 * connection: the program may send again.  NULL turns it off.  It runs
 * from peer_dispatch like a callback: it may send, not block; and
 * after the frames held while the queue was full are handled (if their
 * callbacks filled it again, once that has drained).
 */
typedef void	 peer_writable_fn(struct peer *, void *arg);
void		 peer_on_writable(struct peer *, peer_writable_fn *fn,
		    void *arg);

/*
 * Byte strings, the usual payload of a call.  peer_bytes reads one
 * that fills the len bytes at cbor exactly (a definite length; a
 * result, args or data item): 0 with *data pointing into cbor and *n
 * set, or -1 if it is anything else, truncated or followed by more.
 * peer_bytes_head writes the head of a byte string of n bytes into
 * head and returns its length: those bytes followed by the n bytes of
 * payload are one item, for a buffer that keeps PEER_BYTES_HEAD_MAX
 * bytes free before its payload.
 */
#define PEER_BYTES_HEAD_MAX	9
int		 peer_bytes(const void *cbor, size_t len, const uint8_t **data,
		    size_t *n);
size_t		 peer_bytes_head(uint8_t head[PEER_BYTES_HEAD_MAX], size_t n);

/* 0 with *st set (free with peer_status_free), or -1 with err. */
int		 peer_status(struct peer *, struct peer_status **st,
		    struct peer_error *err);
/* NULL is fine. */
void		 peer_status_free(struct peer_status *);

#endif
