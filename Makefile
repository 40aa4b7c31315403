# custos — build, test, demo, bench.  See README.md.
#
#   make          build ./custos
#   make check    install missing Debian packages (as root), build, run every test
#   make demo     the same set-up, then an end-to-end run on a temporary archive
#   make bench    throughput and latency next to peers measured in the same run,
#                 and custosd under 16 socket clients (bench/daemon.sh)
#   make fuzz     build the libFuzzer target with clang (optional)

CC      ?= gcc
PKGS     = openssl lmdb libgit2 libarchive libconfig jansson libdeflate libzstd
DEB_PKGS = gcc make pkg-config libssl-dev liblmdb-dev lmdb-utils libgit2-dev \
           libarchive-dev libconfig-dev libjansson-dev libcmocka-dev \
           libseccomp-dev libdeflate-dev zlib1g-dev git openssh-client tar coreutils time procps \
           zip unzip xz-utils zstd libzstd-dev
# Unicode normalisation and case folding of names in case files
DEB_PKGS += libunistring-dev
# the audit report's browser test (headless), and a font for its Chinese text
DEB_PKGS += chromium fonts-wqy-microhei

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -Iinclude $(PKG_CFLAGS) -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64
LDLIBS  += $(PKG_LIBS)
# libunistring has no pkg-config file on Debian 12
LDLIBS  += -lunistring
SANFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

LIB_SRC  := $(sort $(wildcard src/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
LIB_OBJ  := $(LIB_SRC:src/%.c=build/obj/%.o)
CLI_OBJ  := $(CLI_SRC:src/cli/%.c=build/obj/cli/%.o)
# the daemon runs the commands of the command line: all of src/cli but main.c
CMD_OBJ  := $(filter-out build/obj/cli/main.o,$(CLI_OBJ))
DAEMON_SRC := $(sort $(wildcard src/daemon/*.c))
DAEMON_OBJ := $(DAEMON_SRC:src/daemon/%.c=build/obj/daemon/%.o)
SAN_OBJ  := $(LIB_SRC:src/%.c=build/san/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/san/%)

.PHONY: all deps check unit e2e e2e-san fuzz-replay demo bench fuzz clean install

all: custos custosd

# ---- set-up -----------------------------------------------------------------
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 2; \
	  else \
	    echo "custos needs these Debian packages; run as root:"; \
	    echo "  apt-get install -y$$missing"; exit 2; \
	  fi; \
	fi

# ---- build ------------------------------------------------------------------
build/obj/%.o: src/%.c $(wildcard include/custos/*.h) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

build/obj/cli/%.o: src/cli/%.c $(wildcard include/custos/*.h) $(wildcard src/cli/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -Isrc/cli -c -o $@ $<

build/obj/daemon/%.o: src/daemon/%.c $(wildcard include/custos/*.h) $(wildcard src/cli/*.h) $(wildcard src/daemon/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -Isrc/cli -Isrc/daemon -c -o $@ $<

custosd: $(DAEMON_OBJ) $(CMD_OBJ) build/libcustos.a
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) -o $@ $(DAEMON_OBJ) $(CMD_OBJ) build/libcustos.a $(LDLIBS) -lseccomp

build/libcustos.a: $(LIB_OBJ)
	@ar rcs $@ $^

custos: $(CLI_OBJ) build/libcustos.a
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) build/libcustos.a $(LDLIBS)

# sanitizer build of the library, for unit tests and the fuzz replay
build/san/%.o: src/%.c $(wildcard include/custos/*.h) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC san  $<"
	@$(CC) $(CFLAGS) $(SANFLAGS) -c -o $@ $<

build/san/libcustos.a: $(SAN_OBJ)
	@ar rcs $@ $^

# the command line built against the sanitized library: the end-to-end
# tests run it too, so every CLI path is checked by ASan and UBSan
build/san/custos: $(CLI_SRC) build/san/libcustos.a
	@echo "  LINK san $@"
	@$(CC) $(CFLAGS) $(SANFLAGS) -Isrc/cli -o $@ $(CLI_SRC) build/san/libcustos.a $(LDLIBS)

# the daemon built against the sanitized library, its sandbox switchable off
# (the sanitizers' own system calls are not in its allow-list)
build/san/custosd: $(DAEMON_SRC) $(filter-out src/cli/main.c,$(CLI_SRC)) build/san/libcustos.a
	@echo "  LINK san $@"
	@$(CC) $(CFLAGS) $(SANFLAGS) -DCUSTOS_SANITIZE -Isrc/cli -Isrc/daemon -o $@ $(DAEMON_SRC) \
	  $(filter-out src/cli/main.c,$(CLI_SRC)) build/san/libcustos.a $(LDLIBS) -lseccomp

build/san/test_%: tests/unit/test_%.c $(wildcard tests/unit/*.h) build/san/libcustos.a
	@echo "  CC san  $<"
	@$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $< build/san/libcustos.a $(LDLIBS) -lcmocka

build/san/fuzz_replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c build/san/libcustos.a
	@echo "  CC san  $<"
	@$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $< tests/fuzz/replay.c build/san/libcustos.a $(LDLIBS)

build/obj/conf.o build/san/conf.o: conf/archive.conf
build/obj/policy.o build/san/policy.o: policy/fund-control.conf policy/staff.conf

# ---- tests ------------------------------------------------------------------
check: deps
	@$(MAKE) --no-print-directory custos custosd build/sock_send build/load_client build/gen_receipts build/verify_proof build/lmdb_edit build/render_report build/png_probe build/calendar_next build/sandbox_probe $(UNIT_BIN) build/san/fuzz_replay_receipt build/san/fuzz_replay_bag build/san/fuzz_replay_fund
	@$(MAKE) --no-print-directory build/san/custos build/san/custosd
	@$(MAKE) --no-print-directory unit fuzz-replay e2e-san e2e

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do \
	  echo "== $$t"; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./$$t || fail=1; \
	done; exit $$fail

fuzz-replay: build/san/fuzz_replay_receipt build/san/fuzz_replay_bag build/san/fuzz_replay_fund build/san/fuzz_replay_recon
	./build/san/fuzz_replay_receipt tests/fuzz/corpus/receipt
	./build/san/fuzz_replay_bag tests/fuzz/corpus/bag
	./build/san/fuzz_replay_fund tests/fuzz/corpus/fund
	./build/san/fuzz_replay_recon tests/fuzz/corpus/recon

# the independent proof verifier: OpenSSL only, no custos code
build/verify_proof: tests/tools/verify_proof.c
	@mkdir -p build
	@echo "  CC      $<"
	@$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $< -lcrypto

# damages an index on purpose, for the tamper tests
build/lmdb_edit: tests/tools/lmdb_edit.c
	@mkdir -p build
	@echo "  CC      $<"
	@$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $< -llmdb

build/proof_bench: bench/proof_bench.c build/libcustos.a
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -o $@ $< build/libcustos.a $(LDLIBS)

# the audit report written from a model file, and the screenshot's colours,
# for the browser test
build/render_report: tests/tools/render_report.c build/libcustos.a
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -o $@ $< build/libcustos.a $(LDLIBS)

# next times of calendar expressions, for the comparison with systemd
build/calendar_next: tests/tools/calendar_next.c build/libcustos.a
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -o $@ $< build/libcustos.a $(LDLIBS)

# raw requests to the daemon's socket, and systemd's notify socket, for the tests
build/sock_send: tests/tools/sock_send.c
	@mkdir -p build
	@echo "  CC      $<"
	@$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<

# custosd's sandbox (src/daemon/sandbox.c) around a probe, for tests/e2e/sandbox.sh
build/sandbox_probe: tests/tools/sandbox_probe.c src/daemon/sandbox.c src/daemon/sandbox.h build/libcustos.a
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -Isrc/daemon -o $@ tests/tools/sandbox_probe.c src/daemon/sandbox.c build/libcustos.a $(LDLIBS) -lseccomp

build/png_probe: tests/tools/png_probe.c
	@mkdir -p build
	@echo "  CC      $<"
	@$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $< -lz

build/gen_receipts: bench/gen_receipts.c
	@mkdir -p build
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<

build/gen_fund: bench/gen_fund.c
	@mkdir -p build
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<

# the daemon's load client (bench/daemon.sh): threads on the socket, jansson
build/load_client: bench/load.c
	@mkdir -p build
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -D_GNU_SOURCE $(shell pkg-config --cflags jansson) \
	  -o $@ $< $(shell pkg-config --libs jansson) -pthread

e2e-san: build/san/custos build/san/custosd build/sock_send build/gen_receipts build/verify_proof build/lmdb_edit build/load_client
	@echo "== end-to-end tests with the sanitized binary"
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/e2e/daemon.sh build/san/custos build/san/custosd --no-sandbox
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/e2e/run.sh build/san/custos
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/e2e/tamper.sh build/san/custos
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/e2e/restore.sh build/san/custos
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/e2e/replay.sh build/san/custos
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/e2e/audit.sh build/san/custos
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/e2e/fund.sh build/san/custos
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/e2e/review.sh build/san/custos
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/e2e/cases.sh build/san/custos
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/e2e/export.sh build/san/custos
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/e2e/bagenc.sh build/san/custos
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/e2e/disposition.sh build/san/custos
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/e2e/backup.sh build/san/custos
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/e2e/dconf.sh build/san/custos
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/e2e/spool.sh build/san/custos
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/e2e/load.sh build/san/custos

e2e: custos custosd build/sock_send build/gen_receipts build/verify_proof build/lmdb_edit build/render_report build/png_probe build/calendar_next build/load_client build/sandbox_probe
	bash tests/e2e/daemon.sh ./custos ./custosd
	bash tests/e2e/run.sh ./custos
	bash tests/e2e/tamper.sh ./custos
	bash tests/e2e/restore.sh ./custos
	bash tests/e2e/replay.sh ./custos
	bash tests/e2e/audit.sh ./custos
	bash tests/e2e/fund.sh ./custos
	bash tests/e2e/review.sh ./custos
	bash tests/e2e/cases.sh ./custos
	bash tests/e2e/export.sh ./custos
	bash tests/e2e/bagenc.sh ./custos
	bash tests/e2e/disposition.sh ./custos
	bash tests/e2e/backup.sh ./custos
	bash tests/e2e/dconf.sh ./custos
	bash tests/e2e/spool.sh ./custos
	bash tests/e2e/load.sh ./custos
	bash tests/e2e/calendar.sh
	bash tests/e2e/sandbox.sh
	bash tests/e2e/systemd.sh
	bash tests/e2e/install.sh
	bash tests/e2e/report.sh

demo: deps
	@$(MAKE) --no-print-directory custos custosd build/gen_receipts build/verify_proof
	bash tests/e2e/demo.sh ./custos ./custosd

# the backup bench's peers, installed only for make bench
BENCH_PKGS = restic borgbackup
bench: deps
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(BENCH_PKGS)"
	@$(MAKE) --no-print-directory custos custosd build/gen_receipts build/gen_fund build/proof_bench build/load_client
	bash bench/run.sh ./custos
	bash bench/backup.sh ./custos
	bash bench/daemon.sh ./custos

# libFuzzer build (clang); the corpus replay above runs in make check
fuzz: build/libcustos.a
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -Iinclude $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	  -o build/fuzz_receipt tests/fuzz/fuzz_receipt.c $(LIB_SRC) $(LDLIBS)
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -Iinclude $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	  -o build/fuzz_bag tests/fuzz/fuzz_bag.c $(LIB_SRC) $(LDLIBS)
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -Iinclude $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	  -o build/fuzz_fund tests/fuzz/fuzz_fund.c $(LIB_SRC) $(LDLIBS)
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -Iinclude $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	  -o build/fuzz_recon tests/fuzz/fuzz_recon.c $(LIB_SRC) $(LDLIBS)
	@echo "run: ./build/fuzz_receipt tests/fuzz/corpus/receipt; ./build/fuzz_bag tests/fuzz/corpus/bag; ./build/fuzz_fund tests/fuzz/corpus/fund; ./build/fuzz_recon tests/fuzz/corpus/recon"

# ---- install ------------------------------------------------------------------
#   make install PREFIX=/usr DESTDIR=/tmp/stage
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR      = $(PREFIX)/bin
MANDIR      = $(PREFIX)/share/man
DATADIR     = $(PREFIX)/share/custos
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR     = $(PREFIX)/lib/systemd/system
SYSUSERSDIR = $(PREFIX)/lib/sysusers.d
TMPFILESDIR = $(PREFIX)/lib/tmpfiles.d

install: custos custosd
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DATADIR)/policy $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 0755 custos custosd $(DESTDIR)$(BINDIR)/
	install -m 0644 man/custos.1 $(DESTDIR)$(MANDIR)/man1/custos.1
	install -m 0644 man/custos.conf.5 $(DESTDIR)$(MANDIR)/man5/custos.conf.5
	install -m 0644 man/custosd.8 $(DESTDIR)$(MANDIR)/man8/custosd.8
	install -m 0644 conf/custos.conf $(DESTDIR)$(DATADIR)/custos.conf.example
	install -m 0644 policy/fund-control.conf policy/staff.conf policy/README.md $(DESTDIR)$(DATADIR)/policy/
	sed 's|/usr/bin/custosd|$(BINDIR)/custosd|' systemd/custosd.service > $(DESTDIR)$(UNITDIR)/custosd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/custosd.service
	install -m 0644 systemd/custos.sysusers.conf $(DESTDIR)$(SYSUSERSDIR)/custos.conf
	install -m 0644 systemd/custos.tmpfiles.conf $(DESTDIR)$(TMPFILESDIR)/custos.conf
	@# the example becomes the configuration only where there is none
	@if [ ! -e $(DESTDIR)$(SYSCONFDIR)/custos/custos.conf ]; then \
	  install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/custos && \
	  install -m 0640 conf/custos.conf $(DESTDIR)$(SYSCONFDIR)/custos/custos.conf && \
	  echo "installed $(SYSCONFDIR)/custos/custos.conf (edit it, then custos config check)"; \
	else echo "kept $(SYSCONFDIR)/custos/custos.conf; the example is $(DATADIR)/custos.conf.example"; fi

clean:
	rm -rf build custos custosd
