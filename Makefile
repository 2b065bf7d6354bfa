# cpm -- build, test and demo.  `make help` lists the targets.
#
# One source tree, two builds: build/lua5.4/cpm/core.so against Lua 5.4 and
# build/luajit/cpm/core.so against LuaJIT 2.1.  Nothing is written into src/.

LUA54      ?= lua5.4
LUAJIT     ?= luajit
LUA54_INC  ?= /usr/include/lua5.4
LUAJIT_INC ?= /usr/include/luajit-2.1
BUILD      ?= build
CC         ?= cc

WARN   = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
         -Wmissing-prototypes -Wpointer-arith -Wundef -Wvla
OPT   ?= -O2 -g
CFLAGS_ALL = $(OPT) -fPIC -fvisibility=hidden $(WARN) -D_POSIX_C_SOURCE=200809L $(CFLAGS)
LDLIBS_ALL = -lgmp -lm -ldl

# src/core/ is the shared core (planner, guard, rings, bignums); each other
# directory under src/ is one bytecode front end (src/lua54/, src/luajit/).
SRCS = $(wildcard src/*/*.c)
HDRS = $(wildcard src/*/*.h)
INCS = $(patsubst %,-I%,$(wildcard src/*))

# Debian packages cpm needs to build, test and run on both VMs.
DEBS = lua5.4 liblua5.4-dev luajit libluajit-5.1-dev libgmp-dev lua-lpeg \
       lua-busted luarocks

.PHONY: all deps test check-rockspec asan fuzz demo bench clean help

all: $(BUILD)/lua5.4/cpm/core.so $(BUILD)/luajit/cpm/core.so $(BUILD)/lua5.4/alloctest

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

# Installs the Debian packages that are missing (none when all are there).
deps:
	@sh tools/install-deps.sh $(DEBS)

# Every spec on both VMs through prove (busted's TAP output), then the
# rockspec installed offline into a temporary tree.
test: deps all
	BUILD=$(BUILD) sh tools/run-specs.sh $(LUA54) $(LUAJIT)

check-rockspec: deps
	sh tools/check-rockspec.sh

# The specs against a build with AddressSanitizer and UBSan and the
# CPM_DEBUG assertions; the interpreter itself is not instrumented, so the
# runtime is preloaded.  Then a bounded run of the chunk fuzzer on each VM.
ASAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
asan: deps
	$(MAKE) BUILD=$(BUILD)/asan OPT="-O1 -g -DCPM_DEBUG $(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" all
	BUILD=$(BUILD)/asan ASAN=1 sh tools/run-specs.sh $(LUA54) $(LUAJIT)
	BUILD=$(BUILD)/asan ASAN=1 sh tools/fuzz-chunks.sh $(FUZZ_SECONDS) $(LUA54) $(LUAJIT)

# The chunk fuzzer (tools/fuzz-chunks.lua) for FUZZ_LONG seconds on each VM,
# against the sanitizer build (make asan builds it).
FUZZ_SECONDS ?= 20
FUZZ_LONG ?= 600
fuzz: deps
	$(MAKE) BUILD=$(BUILD)/asan OPT="-O1 -g -DCPM_DEBUG $(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" all
	BUILD=$(BUILD)/asan ASAN=1 sh tools/fuzz-chunks.sh $(FUZZ_LONG) $(LUA54) $(LUAJIT)

# The tour runs on Lua 5.4, then on LuaJIT.
DEMO_PATH = LUA_PATH='lua/?.lua;lua/?/init.lua;examples/?.lua;bench/?.lua;;'
demo: deps all
	@$(DEMO_PATH) LUA_CPATH='$(BUILD)/lua5.4/?.so;;' $(LUA54) examples/demo.lua
	@$(DEMO_PATH) LUA_CPATH='$(BUILD)/luajit/?.so;;' $(LUAJIT) examples/demo.lua

# The benchmarks also need gnuplot (not in DEBS: the tests do not) and the
# GMP reference helper bench/gmpref.c, built here for each VM.
BENCH_DEBS = gnuplot-nox
bench: deps all
	@sh tools/install-deps.sh $(BENCH_DEBS)
	@mkdir -p $(BUILD)/bench/lua5.4 $(BUILD)/bench/luajit
	$(CC) $(CFLAGS_ALL) -shared $(INCS) -I$(LUA54_INC) -o $(BUILD)/bench/lua5.4/gmpref.so bench/gmpref.c -lgmp
	$(CC) $(CFLAGS_ALL) -shared $(INCS) -I$(LUAJIT_INC) -o $(BUILD)/bench/luajit/gmpref.so bench/gmpref.c -lgmp
	BUILD=$(BUILD) LUA54=$(LUA54) LUAJIT=$(LUAJIT) sh bench/run.sh

clean:
	rm -rf $(BUILD)

help:
	@echo "make          build both VMs' cpm/core.so under $(BUILD)/"
	@echo "make test     install missing packages, build, run every spec on lua5.4 and luajit"
	@echo "make demo     a short tour of cpm (examples/demo.lua)"
	@echo "make asan     the specs and a short chunk fuzz against an AddressSanitizer + UBSan build"
	@echo "make fuzz     the chunk fuzzer for FUZZ_LONG seconds on each VM (sanitizer build)"
	@echo "make bench    run bench/ and rewrite doc/performance.md"
