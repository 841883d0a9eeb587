# denoprof: every entry point installs what it needs first (idempotent).
# `make agent` profiles the machine with the embedded default; `make test` runs
# every test. Both are scripts/run.sh, which needs no make on a fresh machine. DENOPROF_CACHE (default ~/.cache/denoprof) holds Deno, Go
# toolchains and the Collector build; nothing depends on it existing.

DENOPROF_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/denoprof
export DENOPROF_CACHE
DENO := $(CURDIR)/.cache/bin/deno
ARGS ?=

.PHONY: setup agent test check bench bpf bpf-check gen clean collector profcheck toolchains

setup:
	@scripts/setup.sh

agent:
	@scripts/run.sh agent $(ARGS)

# Tests need the Go toolchain matrix and the test Collector; both are cached
# under $(DENOPROF_CACHE) and rebuilt only when missing (scripts/run.sh).
test:
	@scripts/run.sh test

toolchains:
	@scripts/go-toolchains.sh >/dev/null

check: setup
	@$(DENO) task check

bench: setup
	@$(DENO) task bench

# Rebuild the committed BPF object and its source hash.
bpf:
	@$(MAKE) -C bpf

clean:
	rm -rf .cache

# The test OpenTelemetry Collector (tests/collector/builder-config.yaml) and
# profcheck, built once into $(DENOPROF_CACHE)/otelcol-<version>/.
collector:
	@scripts/collector.sh

profcheck:
	@scripts/collector.sh profcheck

# Regenerate gen/ from proto/ (buf + protoc-gen-es).
gen: setup
	@$(DENO) task gen
