# SPDX-License-Identifier: ISC
# peerd: build, test, install.  See README.md.

VERSION		= 0.1.0
PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
SBINDIR		?= $(PREFIX)/sbin
LIBDIR		?= $(PREFIX)/lib
INCLUDEDIR	?= $(PREFIX)/include
MANDIR		?= $(PREFIX)/share/man
SYSCONFDIR	?= /etc
UNITDIR		?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR	?= $(PREFIX)/lib/sysusers.d
# Where bash-completion loads completions from on demand, under PREFIX.
BASHCOMPDIR	?= $(or $(shell $(PKG_CONFIG) \
		   --define-variable=prefix=$(PREFIX) \
		   --variable=completionsdir bash-completion 2>/dev/null),\
		   $(PREFIX)/share/bash-completion/completions)
DESTDIR		?=

BUILD		?= build
CC		?= cc
CFLAGS		?= -O2 -g
SAN		?=
PKG_CONFIG	?= pkg-config
# The Python client (python/) is tested, type-checked and installed for
# Debian's python3, the one python3-cbor2 and python3-pytest are for: a
# python3 earlier in PATH (a venv, pyenv) may lack both.
PYTHON		?= /usr/bin/python3
# Where make install puts the package peerd: a directory on that
# python3's sys.path, /usr/lib/python3/dist-packages for PREFIX=/usr as
# Debian's own packages have it, else PREFIX/lib/python3.X/dist-packages
# (for /usr/local: the one Debian's python3 looks in for local ones).
PYTHON_X_Y	= $(shell $(PYTHON) -c \
		  'import sys; print("%d.%d" % sys.version_info[:2])')
PYTHONDIR	?= $(if $(filter /usr,$(PREFIX)),$(PYTHONDIR_DEB),$(PYTHONDIR_LOCAL))
PYTHONDIR_DEB	= /usr/lib/python3/dist-packages
PYTHONDIR_LOCAL	= $(PREFIX)/lib/python$(PYTHON_X_Y)/dist-packages

DEPS		= libevent libcbor libsodium lmdb

WARN		= -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes
BASE_CFLAGS	= -std=c11 -D_GNU_SOURCE -fPIC -MMD -MP -Ilib $(WARN) $(CFLAGS) $(SAN)
# libcrypto: only its headers; evp.c loads it when a message wants it.
PKG_CFLAGS	= $(shell $(PKG_CONFIG) --cflags $(DEPS) libcrypto check jansson)
DAEMON_LIBS	= $(shell $(PKG_CONFIG) --libs $(DEPS)) -ldl -lm
CTL_LIBS	= $(shell $(PKG_CONFIG) --libs libcbor libsodium jansson)
TEST_LIBS	= $(shell $(PKG_CONFIG) --libs $(DEPS) check jansson) -ldl -lm

LIB_SRC		= lib/base32.c lib/cbor_buf.c lib/cbor_scan.c lib/duration.c \
		  lib/frame.c lib/peer.c lib/peer_call.c lib/peer_code.c \
		  lib/peer_event.c lib/peer_kv.c lib/peer_serve.c \
		  lib/peer_watch.c lib/proto.c lib/topic.c
# Every module of the daemon but main's, which the tests replace.
DAEMON_SRC	= $(filter-out daemon/peerd.c,$(wildcard daemon/*.c))
CTL_SRC		= ctl/call.c ctl/call_cmd.c ctl/cbor_json.c ctl/event.c \
		  ctl/join.c ctl/kv.c ctl/monitor.c ctl/out.c ctl/peerctl.c ctl/ping.c \
		  ctl/serve.c ctl/stats.c ctl/stream.c
UNIT_SRC	= $(wildcard tests/unit/*.c)
MODULE_SUITES	= $(patsubst tests/modules/test_%.c,%,\
		  $(wildcard tests/modules/test_*.c))
INTEG_SRC	= $(wildcard tests/integration/*.c)
FUZZ_SRC	= $(wildcard tests/fuzz/fuzz_*.c)

obj		= $(patsubst %.c,$(BUILD)/%.o,$(1))
LIB_OBJ		= $(call obj,$(LIB_SRC))
DAEMON_OBJ	= $(call obj,$(DAEMON_SRC))
CTL_OBJ		= $(call obj,$(CTL_SRC))

PEERD		= $(BUILD)/peerd
PEERCTL		= $(BUILD)/peerctl
LIBPEER_A	= $(BUILD)/libpeer.a
LIBPEER_SO	= $(BUILD)/libpeer.so.0
# The functions of peer.h, one a line (scripts/peer-functions).
LIBPEER_FUNCS	= $(BUILD)/libpeer.functions
DAEMON_A	= $(BUILD)/libpeerd.a
UNIT_TESTS	= $(BUILD)/tests/unit_tests
MODULE_TESTS	= $(patsubst %,$(BUILD)/tests/module_%,$(MODULE_SUITES))
INTEG_TESTS	= $(BUILD)/tests/integration_tests
IMPAIR		= $(BUILD)/tests/impair
EXAMPLES	= $(BUILD)/examples/echo_server $(BUILD)/examples/echo_call

all: $(PEERD) $(PEERCTL) $(LIBPEER_A) $(LIBPEER_SO) $(EXAMPLES)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(BASE_CFLAGS) $(EXTRA_INC) $(PKG_CFLAGS) -c $< -o $@

# Tests reach into the daemon's modules.
$(BUILD)/tests/%.o: EXTRA_INC = -Idaemon

$(LIBPEER_A): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# The shared library exports the functions of peer.h and nothing else
# (scripts/check-libpeer checks it); the programs and the tests link
# the static one, which keeps the internals.
$(LIBPEER_FUNCS): lib/peer.h scripts/peer-functions
	@mkdir -p $(dir $@)
	CC="$(CC)" scripts/peer-functions lib/peer.h > $@.tmp
	test -s $@.tmp
	mv $@.tmp $@

$(BUILD)/libpeer.map: $(LIBPEER_FUNCS)
	{ printf 'LIBPEER_0 {\nglobal:\n'; sed 's/$$/;/' $<; \
	    printf 'local:\n*;\n};\n'; } > $@

$(LIBPEER_SO): $(LIB_OBJ) $(BUILD)/libpeer.map
	$(CC) -shared -Wl,-soname,libpeer.so.0 \
	    -Wl,--version-script=$(BUILD)/libpeer.map $(CFLAGS) $(LDFLAGS) \
	    $(SAN) -o $@ $(LIB_OBJ) $(shell $(PKG_CONFIG) --libs libcbor)

$(PEERD): $(call obj,daemon/peerd.c) $(DAEMON_OBJ) $(LIBPEER_A)
	$(CC) $(CFLAGS) $(LDFLAGS) $(SAN) -o $@ $^ $(DAEMON_LIBS)

$(PEERCTL): $(CTL_OBJ) $(LIBPEER_A)
	$(CC) $(CFLAGS) $(LDFLAGS) $(SAN) -o $@ $^ $(CTL_LIBS)

$(UNIT_TESTS): $(call obj,$(UNIT_SRC)) $(DAEMON_OBJ) \
		  $(call obj,ctl/call.c ctl/cbor_json.c ctl/monitor.c ctl/out.c \
		  ctl/serve.c ctl/stream.c) $(LIBPEER_A)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(TEST_LIBS)

$(INTEG_TESTS): $(call obj,$(INTEG_SRC)) $(DAEMON_OBJ) \
		  $(call obj,ctl/cbor_json.c) $(LIBPEER_A)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(TEST_LIBS)

# A TCP relay that delays, loses and partitions, for the integration
# tests (this kernel may have no netem).
$(IMPAIR): $(call obj,tests/impair.c)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(shell $(PKG_CONFIG) --libs libevent)

# The module suites: each links one module of the daemon with fakes of
# the modules below it (FAKES_name); the archive of the daemon's
# objects supplies the rest, so a fake that misses a function the
# module calls shows up as a clash with the real module's object.
$(DAEMON_A): $(DAEMON_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

FAKES_control	=
FAKES_mesh	= fake_link
FAKES_gossip	= fake_link fake_mesh
FAKES_overlay	= fake_link fake_mesh
FAKES_route	= fake_link fake_mesh
FAKES_call	= fake_link fake_mesh fake_route
FAKES_serve	= fake_route
FAKES_events	= fake_route
FAKES_kvwatch	= fake_route
FAKES_probe	= fake_link fake_mesh
FAKES_handlers	=
FAKES_kvpost	= fake_link fake_mesh
FAKES_kvsync	= fake_kvpost
FAKES_link	=
FAKES_keyrot	= fake_link fake_mesh
FAKES_revoke	= fake_link fake_mesh
fakes_of	= $(call obj,$(addprefix tests/modules/,$(addsuffix .c,$(FAKES_$(1)))))

.SECONDEXPANSION:
$(BUILD)/tests/module_%: $(BUILD)/tests/modules/test_%.o \
		  $$(call fakes_of,$$*) \
		  $(call obj,tests/modules/main.c tests/modules/harness.c) \
		  $(DAEMON_A) $(LIBPEER_A)
	$(CC) $(CFLAGS) $(SAN) -o $@ $(filter %.o,$^) $(DAEMON_A) \
	    $(LIBPEER_A) $(TEST_LIBS)

# Programs that show how to use libpeer; see examples/README.md.  They
# include <peerd/peer.h>, as programs built against an installed libpeer
# do: the build gives them the header at that path.
$(BUILD)/include/peerd/peer.h: lib/peer.h
	@mkdir -p $(dir $@)
	cp lib/peer.h $@

$(call obj,$(wildcard examples/*.c)): $(BUILD)/include/peerd/peer.h
$(BUILD)/examples/%.o: EXTRA_INC = -I$(BUILD)/include

$(EXAMPLES): $(BUILD)/examples/%: $(BUILD)/examples/%.o $(LIBPEER_A)
	$(CC) $(CFLAGS) $(LDFLAGS) $(SAN) -o $@ $^ \
	    $(shell $(PKG_CONFIG) --libs libcbor)

# Installs the Debian packages the build and the tests need (idempotent).
deps:
	@scripts/install-deps

tests: all $(UNIT_TESTS) $(MODULE_TESTS) $(INTEG_TESTS) $(IMPAIR)

# The test command of the README: unit, module and integration tests,
# then the Python client's.
check: deps
	@scripts/check-floors
	@$(MAKE) --no-print-directory tests
	@BUILD=$(BUILD) scripts/verify-unit
	@scripts/check-libpeer $(LIBPEER_SO)
	@$(if $(SAN),echo "check-deb: not with sanitizers (make check has it)",\
	    $(MAKE) --no-print-directory check-deb)
	@PEERD=$(PEERD) PEERCTL=$(PEERCTL) scripts/check-completion
	@PEERD=$(PEERD) PEERCTL=$(PEERCTL) IMPAIR=$(IMPAIR) \
	    ECHO_SERVER=$(BUILD)/examples/echo_server scripts/run-tests \
	    $(UNIT_TESTS) $(MODULE_TESTS) $(INTEG_TESTS)
	@$(MAKE) --no-print-directory check-python

# The Python client (python/): its type check and lint where installed,
# then its tests against the daemon and the examples just built; with
# SAN, the sanitized ones, which the tests then reach as a second client
# of the control socket (scripts/check-python).
check-python: all
	@PYTHON=$(PYTHON) LINT=$(if $(SAN),no,yes) MYPY_CACHE=$(BUILD)/mypy \
	    PEERD=$(PEERD) PEERCTL=$(PEERCTL) \
	    ECHO_SERVER=$(BUILD)/examples/echo_server \
	    ECHO_CALL=$(BUILD)/examples/echo_call scripts/check-python

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer,
# then each fuzz target for a short while.
check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan CFLAGS="-O1 -g" \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    check
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(or $(FUZZ_SECONDS),20)

# libFuzzer targets (clang); each runs FUZZ_SECONDS on its seed corpus.
FUZZ_SECONDS	?= 60
FUZZ_BUILD	= build-fuzz
FUZZ_SAN	= address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS	= -std=c11 -D_GNU_SOURCE -g -O1 -Ilib -Idaemon $(WARN) \
		  -fsanitize=fuzzer-no-link,$(FUZZ_SAN)
FUZZ_BINS	= $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))

# Built once, linked into every target; the link targets share
# link_peer.c (link_peer.h).
FUZZ_COMMON	= $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,tests/fuzz/link_peer.c \
		  $(LIB_SRC) $(DAEMON_SRC))

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/%: $(FUZZ_BUILD)/obj/tests/fuzz/%.o $(FUZZ_COMMON)
	clang -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $^ $(DAEMON_LIBS)

# fuzz_gossip drives gossip over the module suites' fake mesh and
# links: as there, the daemon's objects come from an archive, so that
# the fakes take the place of mesh.c and link.c.
FUZZ_GOSSIP_OBJ	= $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(LIB_SRC) \
		  tests/modules/fake_link.c tests/modules/fake_mesh.c)
FUZZ_DAEMON_A	= $(FUZZ_BUILD)/libpeerd.a

$(FUZZ_DAEMON_A): $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(DAEMON_SRC))
	rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_gossip: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_gossip.o \
		  $(FUZZ_GOSSIP_OBJ) $(FUZZ_DAEMON_A)
	clang -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $(filter %.o,$^) \
	    $(FUZZ_DAEMON_A) $(DAEMON_LIBS)

# Kept for the next build, not removed as intermediates.
.SECONDARY: $(FUZZ_COMMON) $(FUZZ_GOSSIP_OBJ) \
	    $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(FUZZ_SRC))
-include $(wildcard $(FUZZ_BUILD)/obj/*/*.d $(FUZZ_BUILD)/obj/*/*/*.d)

fuzz: deps $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
	    name=$$(basename $$f); \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$name; \
	    echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	        -print_final_stats=0 $(FUZZ_BUILD)/corpus/$$name \
	        tests/fuzz/seeds/$$name 2>$(FUZZ_BUILD)/$$name.log || \
	        { tail -n 50 $(FUZZ_BUILD)/$$name.log; exit 1; }; \
	    grep -E '^(#[0-9]+ *DONE|Done)' $(FUZZ_BUILD)/$$name.log | tail -n 1; \
	done

# Benchmarks: figures are ratios to a baseline measured in the same run.
BENCH_COMMON	= bench/bench_common.c bench/bench_common.h

$(BUILD)/bench/link_bench: bench/link_bench.c daemon/noise.c daemon/wire.c \
		  daemon/evp.c daemon/log.c daemon/noise.h daemon/wire.h \
		  daemon/evp.h $(BENCH_COMMON) $(LIBPEER_A)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Ilib -Idaemon \
	    $(filter %.c %.a,$^) \
	    $(shell $(PKG_CONFIG) --cflags --libs libevent libsodium libcbor) \
	    $(shell $(PKG_CONFIG) --cflags libcrypto) -ldl -o $@

$(BUILD)/bench/members_bench: bench/members_bench.c $(BENCH_COMMON) \
		  $(LIBPEER_A) lib/peer.h lib/cbor_scan.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Ilib \
	    $(filter %.c %.a,$^) \
	    $(shell $(PKG_CONFIG) --cflags --libs libcbor) -o $@

$(BUILD)/bench/call_bench: bench/call_bench.c bench/nats_client.c \
		  bench/nats_client.h $(BENCH_COMMON) $(LIBPEER_A) lib/peer.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Ilib \
	    $(filter %.c %.a,$^) \
	    $(shell $(PKG_CONFIG) --cflags --libs libcbor) -lm -o $@

$(BUILD)/bench/event_bench: bench/event_bench.c $(BENCH_COMMON) \
		  $(LIBPEER_A) lib/peer.h lib/cbor_scan.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Ilib \
	    $(filter %.c %.a,$^) \
	    $(shell $(PKG_CONFIG) --cflags --libs libcbor) -o $@

$(BUILD)/bench/kvstore_bench: bench/kvstore_bench.c daemon/kvstore.c \
		  daemon/hlc.c daemon/log.c daemon/kvstore.h daemon/hlc.h \
		  $(LIBPEER_A)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Ilib -Idaemon \
	    $(filter %.c %.a,$^) \
	    $(shell $(PKG_CONFIG) --cflags --libs lmdb libsodium libcbor) -o $@

$(BUILD)/bench/kv_bench: bench/kv_bench.c $(BENCH_COMMON) $(LIBPEER_A) \
		  lib/peer.h lib/cbor_buf.h lib/cbor_scan.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Ilib \
	    $(filter %.c %.a,$^) \
	    $(shell $(PKG_CONFIG) --cflags --libs libcbor) -lm -o $@

# Installs what the benchmarks need too (scripts/install-deps --bench).
bench:
	@scripts/install-deps --bench
	@$(MAKE) --no-print-directory all $(BUILD)/bench/link_bench \
	    $(BUILD)/bench/members_bench $(BUILD)/bench/call_bench \
	    $(BUILD)/bench/event_bench $(BUILD)/bench/kvstore_bench \
	    $(BUILD)/bench/kv_bench
	$(BUILD)/bench/link_bench $(BENCH_FLAGS)
	PEERD=$(PEERD) $(BUILD)/bench/members_bench
	PEERD=$(PEERD) $(BUILD)/bench/call_bench
	PEERD=$(PEERD) $(BUILD)/bench/call_bench -R -s 64
	PEERD=$(PEERD) ECHO_SERVER=$(BUILD)/examples/echo_server \
	    CALL_BENCH=$(BUILD)/bench/call_bench $(PYTHON) bench/python_bench.py
	PEERD=$(PEERD) $(BUILD)/bench/event_bench
	PEERD=$(PEERD) $(BUILD)/bench/event_bench -R -s 64
	$(BUILD)/bench/kvstore_bench
	PEERD=$(PEERD) $(BUILD)/bench/kv_bench

# Runs peerd in the foreground on its defaults, keeping state in .run/.
run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p .run
	@echo "peerd: state in .run/state; in another terminal try:"
	@echo "  $(PEERCTL) -s .run/peerd.sock status"
	$(PEERD) --state-dir .run/state -S .run/peerd.sock

# The Debian packages (debian/), built from a copy of the tree into
# $(BUILD)/deb; see README.md.
deb: deps
	@VERSION=$(VERSION) scripts/build-deb $(BUILD)/deb

# What the packages hold, and that it works unpacked (scripts/check-deb).
check-deb: deb
	@VERSION=$(VERSION) scripts/check-deb $(BUILD)/deb

install: all $(LIBPEER_FUNCS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/peerd \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/peerd $(DESTDIR)$(BASHCOMPDIR) \
	    $(DESTDIR)$(PYTHONDIR)/peerd
	install -m 755 $(PEERD) $(DESTDIR)$(SBINDIR)/peerd
	install -m 755 $(PEERCTL) $(DESTDIR)$(BINDIR)/peerctl
	install -m 644 completion/peerctl.bash $(DESTDIR)$(BASHCOMPDIR)/peerctl
	install -m 644 $(LIBPEER_A) $(DESTDIR)$(LIBDIR)/libpeer.a
	install -m 755 $(LIBPEER_SO) $(DESTDIR)$(LIBDIR)/libpeer.so.$(VERSION)
	ln -sf libpeer.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpeer.so.0
	ln -sf libpeer.so.0 $(DESTDIR)$(LIBDIR)/libpeer.so
	install -m 644 lib/peer.h $(DESTDIR)$(INCLUDEDIR)/peerd/peer.h
	# The Python client, as its source: python3 compiles it when needed.
	install -m 644 python/peerd/*.py python/peerd/py.typed \
	    $(DESTDIR)$(PYTHONDIR)/peerd
	# Written here, so that it names the PREFIX given to install.
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    lib/libpeer.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libpeer.pc
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/libpeer.pc
	install -m 644 doc/peerctl.1 $(DESTDIR)$(MANDIR)/man1/peerctl.1
	install -m 644 doc/libpeer.3 $(DESTDIR)$(MANDIR)/man3/libpeer.3
	# man peer_call and so on: a link to libpeer(3) for each function.
	for f in $$(cat $(LIBPEER_FUNCS)); do \
	    echo '.so man3/libpeer.3' > $(DESTDIR)$(MANDIR)/man3/$$f.3 && \
	    chmod 644 $(DESTDIR)$(MANDIR)/man3/$$f.3 || exit 1; \
	done
	install -m 644 doc/peerd.conf.5 $(DESTDIR)$(MANDIR)/man5/peerd.conf.5
	install -m 644 doc/peerd.8 $(DESTDIR)$(MANDIR)/man8/peerd.8
	sed 's|@SBINDIR@|$(SBINDIR)|g' systemd/peerd.service.in \
	    > $(DESTDIR)$(UNITDIR)/peerd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/peerd.service
	install -m 644 systemd/peerd.sysusers $(DESTDIR)$(SYSUSERSDIR)/peerd.conf
	# The unit needs the group peerd: made at boot by systemd-sysusers,
	# now by a live install as root, by the package for a DESTDIR.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
	    if command -v systemd-sysusers >/dev/null; then \
	        echo "systemd-sysusers $(SYSUSERSDIR)/peerd.conf"; \
	        systemd-sysusers $(SYSUSERSDIR)/peerd.conf || exit 1; \
	    elif ! getent group peerd >/dev/null; then \
	        echo "groupadd --system peerd"; \
	        groupadd --system peerd || exit 1; \
	    fi; \
	    grep -q '^peerd:' /etc/group || \
	        echo "install: no group peerd in /etc/group (does a peerd" \
	            "of the old unit run? stop it, run systemd-sysusers)" >&2; \
	fi
	test -e $(DESTDIR)$(SYSCONFDIR)/peerd/peerd.conf || \
	    install -m 644 conf/peerd.conf $(DESTDIR)$(SYSCONFDIR)/peerd/peerd.conf

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all tests check check-python check-asan fuzz deps run bench deb check-deb install \
	clean

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
