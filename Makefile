# The two commands of the README:
#   make run     build, then watch a directory (DIR=..., default: a new temp dir)
#   make check   build, then run every test
# and: make bench (bench/run.sh), make soak (bench/soak, ten minutes;
# SOAK_ARGS=..., e.g. "--seconds 60 --seed 2"; bench/README.md)
BUILD ?= build
JOBS ?= 2
DIR ?=
# -DUINOTIFY_WERROR=ON|OFF when set; the build's cached value when empty.
# check sets it to ON (a target-specific value, so the configure step of its
# prerequisite all gets it too): the tests run on a build with no warning.
WERROR ?=
CMAKE_ARGS ?=
SOAK_ARGS ?=

.PHONY: all check run bench soak clean install

all:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    $(if $(WERROR),-DUINOTIFY_WERROR=$(WERROR)) $(CMAKE_ARGS)
	cmake --build $(BUILD) -j$(JOBS)

check: WERROR = ON
check: all
	ctest --test-dir $(BUILD) -j$(JOBS) --output-on-failure

run: all
	@if [ -x $(BUILD)/tools/uinotifywait ]; then \
	    d="$(DIR)"; [ -n "$$d" ] || d=$$(mktemp -d); \
	    echo "watching $$d (Ctrl-C to stop)" >&2; \
	    exec $(BUILD)/tools/uinotifywait -m -r "$$d"; \
	else \
	    exec $(BUILD)/examples/watch-dir $(DIR); \
	fi

bench: all
	bench/run.sh $(BUILD)

soak: all
	$(BUILD)/bench/soak $(SOAK_ARGS)

install: all
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD)
