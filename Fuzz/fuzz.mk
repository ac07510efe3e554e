# libFuzzer harnesses for the checkpoint and configuration parsers (Fuzz/, built only with
# VOLUMED_FUZZ=1). Included from the top-level Makefile.
#   make fuzz                    each harness for FUZZ_SECONDS (default 600) seconds
#   make fuzz FUZZ_SECONDS=60    shorter
#   make fuzz-short              each harness for 45 seconds (part of `make test`)
# Both print the runs executed per harness and "no crash", or the failing input under
# .build-fuzz/crashes/<harness>/, and fail when any harness crashed or hung.

FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= fuzz-safetensors fuzz-pickle fuzz-manifest fuzz-config fuzz-tokenizer fuzz-token-files

.PHONY: fuzz fuzz-short
fuzz:
	Fuzz/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-short:
	Fuzz/fuzz.sh 45 $(FUZZ_TARGETS)
