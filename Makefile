# cpm -- build, test and demo.  `make help` lists the targets.
#
# One source tree, two builds: build/lua5.4/cpm/core.so against Lua 5.4 and
# build/luajit/cpm/core.so against LuaJIT 2.1.  Nothing is written into src/.
# An empty interpreter name leaves that VM out of all, test, demo and asan
# (bench compares both VMs and needs both):
# `make test LUAJIT=` builds and tests Lua 5.4 only, `make test LUA54=` LuaJIT.

LUA54      ?= lua5.4
LUAJIT     ?= luajit
LUA54_INC  ?= /usr/include/lua5.4
LUAJIT_INC ?= /usr/include/luajit-2.1
BUILD      ?= build
CC         ?= cc

WARN   = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
         -Werror=implicit-function-declaration \
         -Wmissing-prototypes -Wpointer-arith -Wundef -Wvla
OPT   ?= -O2 -g
CFLAGS_ALL = $(OPT) -fPIC -fvisibility=hidden $(WARN) -D_POSIX_C_SOURCE=200809L $(CFLAGS)
LDLIBS_ALL = -lgmp -lm -ldl

# src/core/ is the shared core (planner, guard, rings, bignums); each other
# directory under src/ is one bytecode front end (src/lua54/, src/luajit/).
SRCS = $(wildcard src/*/*.c)
HDRS = $(wildcard src/*/*.h)
INCS = $(patsubst %,-I%,$(wildcard src/*))

# Debian packages cpm needs to build, test and run on the VMs named
# (tools/install-deps.sh checks each by what it provides, so another system
# with the same commands and headers needs none of them).
DEBS = $(if $(LUA54),lua5.4 liblua5.4-dev) $(if $(LUAJIT),luajit libluajit-5.1-dev) \
       libgmp-dev lua-lpeg lua-busted luarocks lua-check
DEPS_ENV = LUA54='$(LUA54)' LUAJIT='$(LUAJIT)' LUA54_INC='$(LUA54_INC)' \
           LUAJIT_INC='$(LUAJIT_INC)' CC='$(CC)'

.PHONY: all deps test check-rockspec lint asan fuzz demo bench clean help

all: $(if $(LUA54),$(BUILD)/lua5.4/cpm/core.so $(BUILD)/lua5.4/alloctest) \
     $(if $(LUAJIT),$(BUILD)/luajit/cpm/core.so)

# One object set per VM; every object depends on every header (few files,
# always right).
$(BUILD)/lua5.4/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(INCS) -I$(LUA54_INC) -c $< -o $@

$(BUILD)/luajit/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(INCS) -I$(LUAJIT_INC) -c $< -o $@

$(BUILD)/lua5.4/cpm/core.so: $(SRCS:src/%.c=$(BUILD)/lua5.4/obj/%.o)
	@mkdir -p $(@D)
	$(CC) -shared $(OPT) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/luajit/cpm/core.so: $(SRCS:src/%.c=$(BUILD)/luajit/obj/%.o)
	@mkdir -p $(@D)
	$(CC) -shared $(OPT) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

# The allocation-failure host (tools/alloctest.c): Lua 5.4 only, linked
# against the shared liblua5.4 so that cpm/core.so finds the API in it.
$(BUILD)/lua5.4/alloctest: tools/alloctest.c
	@mkdir -p $(@D)
	$(CC) $(OPT) $(WARN) -D_POSIX_C_SOURCE=200809L -I$(LUA54_INC) $(CFLAGS) -o $@ $< $(LDFLAGS) -llua5.4

# Installs the Debian packages that are missing (none when all are there),
# or says what is missing.
deps:
	@$(DEPS_ENV) sh tools/install-deps.sh $(DEBS)

# Every spec on each VM through prove (busted's TAP output), luacheck, then
# the rockspec installed offline into temporary trees.
test: deps all
	BUILD=$(BUILD) $(DEPS_ENV) sh tools/run-specs.sh $(LUA54) $(LUAJIT)

check-rockspec: deps
	$(DEPS_ENV) sh tools/check-rockspec.sh

lint: deps
	sh tools/luacheck-tap.sh

# The specs against a build with AddressSanitizer and UBSan and the
# CPM_DEBUG assertions; the interpreter itself is not instrumented, so the
# runtime is preloaded.  Then a bounded run of the chunk fuzzer on each VM.
ASAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# CPM_ASAN_BUFFERS: scratch buffers from malloc, so ASan sees their bounds
# (cpm_newbuffer in src/core/cpm.h).
ASAN_OPT = -O1 -g -DCPM_DEBUG -DCPM_ASAN_BUFFERS $(ASAN_FLAGS)
asan: deps
	$(MAKE) BUILD=$(BUILD)/asan OPT="$(ASAN_OPT)" LDFLAGS="$(ASAN_FLAGS)" all
	BUILD=$(BUILD)/asan ASAN=1 sh tools/run-specs.sh $(LUA54) $(LUAJIT)
	BUILD=$(BUILD)/asan ASAN=1 sh tools/fuzz-chunks.sh $(FUZZ_SECONDS) $(LUA54) $(LUAJIT)

# The chunk fuzzer (tools/fuzz-chunks.lua) for FUZZ_LONG seconds on each VM,
# against the sanitizer build (make asan builds it).
FUZZ_SECONDS ?= 20
FUZZ_LONG ?= 600
fuzz: deps
	$(MAKE) BUILD=$(BUILD)/asan OPT="$(ASAN_OPT)" LDFLAGS="$(ASAN_FLAGS)" all
	BUILD=$(BUILD)/asan ASAN=1 sh tools/fuzz-chunks.sh $(FUZZ_LONG) $(LUA54) $(LUAJIT)

# The tour runs on Lua 5.4, then on LuaJIT.
DEMO_PATH = LUA_PATH='lua/?.lua;lua/?/init.lua;examples/?.lua;bench/?.lua;;'
demo: deps all
	$(if $(LUA54),@$(DEMO_PATH) LUA_CPATH='$(BUILD)/lua5.4/?.so;;' $(LUA54) examples/demo.lua)
	$(if $(LUAJIT),@$(DEMO_PATH) LUA_CPATH='$(BUILD)/luajit/?.so;;' $(LUAJIT) examples/demo.lua)

# The benchmarks also need gnuplot (not in DEBS: the tests do not) and the
# GMP reference helper bench/gmpref.c, built here for each VM.
BENCH_DEBS = gnuplot-nox
bench: deps all
	@$(DEPS_ENV) sh tools/install-deps.sh $(BENCH_DEBS)
	@mkdir -p $(BUILD)/bench/lua5.4 $(BUILD)/bench/luajit
	$(CC) $(CFLAGS_ALL) -shared $(INCS) -I$(LUA54_INC) -o $(BUILD)/bench/lua5.4/gmpref.so bench/gmpref.c -lgmp
	$(CC) $(CFLAGS_ALL) -shared $(INCS) -I$(LUAJIT_INC) -o $(BUILD)/bench/luajit/gmpref.so bench/gmpref.c -lgmp
	BUILD=$(BUILD) LUA54=$(LUA54) LUAJIT=$(LUAJIT) sh bench/run.sh

clean:
	rm -rf $(BUILD)

help:
	@echo "make          build both VMs' cpm/core.so under $(BUILD)/"
	@echo "make test     install missing packages, build, run every spec on lua5.4 and luajit,"
	@echo "              luacheck, the rock installed by luarocks (LUAJIT= or LUA54=: one VM)"
	@echo "make lint     luacheck over the Lua files"
	@echo "make demo     a short tour of cpm (examples/demo.lua)"
	@echo "make asan     the specs and a short chunk fuzz against an AddressSanitizer + UBSan build"
	@echo "make fuzz     the chunk fuzzer for FUZZ_LONG seconds on each VM (sanitizer build)"
	@echo "make bench    run bench/ and rewrite doc/performance.md"
