/* SPDX-License-Identifier: ISC */
/*
 * harness.h: what the module suites share: running the event loop until
 * a condition holds, nodes with keys and signed records, member tables
 * built from them, and a client of a real control socket.
 *
 * Each suite links one module of the daemon with fakes of the modules
 * below it (fake_link.h, fake_mesh.h, fake_route.h); the linker takes
 * the rest from the daemon's own objects.
 */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <check.h>

#include "cbor_buf.h"
#include "members.h"
#include "peer.h"
#include "proto.h"
#include "record.h"

struct event_base;

/* The one suite of this binary: each test_*.c defines it. */
Suite	*module_suite(void);

struct link;
struct mesh_handler;

/*
 * The link message m arrives on l, as the mesh hands it on: to the
 * handler for its type in table, called with arg.  False if table has
 * none for it.
 */
bool	link_message_arrives(const struct mesh_handler *table, void *arg,
	    struct link *l, const struct cbor_buf *m);
/* Builds a probe answer "pres" in m: request n, ok or not. */
void	put_pres(struct cbor_buf *m, uint64_t n, bool ok);

/*
 * Runs the loop until done(arg) is true or ms pass; whether it became
 * true.  A test waits on a condition this way, never on a sleep.
 */
bool	loop_until(struct event_base *, bool (*done)(void *), void *arg,
	    int ms);
/* Runs the loop for ms, for a test that a thing does not happen. */
void	loop_for(struct event_base *, int ms);
/*
 * Our process does not run its loop for ms, as when it is stopped or
 * starved: the loop's timers then come late.  The stall is what a test
 * does to the module, not a wait for it.
 */
void	stall_process(int64_t ms);

/* A node of the tests: its keys and name. */
struct tnode {
	uint8_t		pk[NODE_ID_LEN];
	uint8_t		sk[64];
	char		name[NODE_NAME_MAX + 1];
	char		idstr[NODE_ID_STRLEN];
};

void	tnode_new(struct tnode *, const char *name);
/* A record of n at incarnation inc (one address), for a test to fill. */
void	tnode_record(const struct tnode *, uint64_t inc, struct record *);
/* r signed by n, into b (reset first). */
void	tnode_sign(const struct tnode *, const struct record *,
	    struct cbor_buf *);
/* A member table whose own record is self's at incarnation 1. */
struct members *tnode_members(const struct tnode *self);
/* Offers r, signed by n; the member it became (new or newer). */
struct member *tnode_offer(struct members *, const struct tnode *,
	    const struct record *);
/* A record with one service (group may be "") offered. */
void	record_add_service(struct record *, const char *name,
	    const char *group);

/* A client of a control socket, reading what the daemon sends. */
struct client;

struct client *client_open(const char *path);
void	client_close(struct client *);
/*
 * Starts a request {"op", "id", then nextra pairs the caller writes into
 * the buffer returned}; client_send writes the frame.
 */
struct cbor_buf *client_begin(struct client *, const char *op, uint64_t id,
	    size_t nextra);
void	client_send(struct client *);
/*
 * Writes raw bytes, for malformed input.  The daemon's loop runs in the
 * test's thread and does not read meanwhile: what a client sends before
 * the loop runs must fit in the socket's buffer (a few hundred frames),
 * or the write waits for ever.
 */
void	client_write(struct client *, const void *, size_t);
/* Ends the client's sending side, as a client done with requests does. */
void	client_shutdown(struct client *);
/* Writes what the socket takes now of len bytes; how many it took. */
size_t	client_write_some(struct client *, const void *, size_t);
/*
 * The reply with this id, waiting for it up to ms; NULL if none came.
 * Valid until the next call on the client.
 */
const struct ctl_msg *client_reply(struct client *, struct event_base *,
	    uint64_t id, int ms);
/* The next message without an id whose op is op ("invoke", "event"). */
const struct ctl_msg *client_message(struct client *, struct event_base *,
	    const char *op, int ms);
/* Whether the daemon closed the connection, waiting up to ms. */
bool	client_closed(struct client *, struct event_base *, int ms);
/* The reply with this id, which must come within ms. */
const struct ctl_msg *client_must_reply(struct client *, struct event_base *,
	    uint64_t id, int ms);

/*
 * Clients a test opens and may drop (an app that goes away); the rest
 * are closed by clients_close_all in its teardown.
 */
#define CLIENTS_MAX	32
struct client *clients_open(const char *path);
void	clients_drop(struct client *);
void	clients_close_all(void);
/* PEER_OK if m has a result, else its error code (message in msg). */
enum peer_code reply_code(const struct ctl_msg *, char *msg, size_t cap);
/* A uint field of m, or the value of an unsigned "result" key. */
uint64_t msg_uint(const struct ctl_msg *, const char *key);
/* A bool field of m; the test fails if it is absent or not a bool. */
bool	msg_bool(const struct ctl_msg *, const char *key);
/* A text field of m into buf ("" if absent). */
const char *msg_text(const struct ctl_msg *, const char *key, char *buf,
	    size_t cap);
/* A private directory, under tmpdir_parent's once it was made. */
void	tmpdir_make(char *dir, size_t cap, const char *tag);
struct control_params;
/* Control server settings for a socket at path: limits out of the way. */
void	control_params_init(struct control_params *, const char *path);
void	tmpdir_remove(const char *dir);
/*
 * Makes the directory the tests' directories go in, for main to remove
 * after the run: a test that fails ends without its teardown.
 */
const char *tmpdir_parent(void);

#endif
