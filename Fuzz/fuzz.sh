#!/usr/bin/env bash
# Builds the libFuzzer harnesses (address sanitizer on) and runs each one for SECONDS.
# Prints one line per harness: runs executed and "no crash", or what failed and the input that
# made it fail. Exits 1 when any harness crashed, leaked, ran out of memory or hung.
#
#   Fuzz/fuzz.sh SECONDS fuzz-safetensors fuzz-pickle fuzz-manifest fuzz-config
#
# Working corpora grow in .build-fuzz/corpus/<harness> (kept between runs; the seeds in
# Fuzz/corpus/<harness> are only read), failing inputs go to .build-fuzz/crashes/<harness>/,
# logs to .build-fuzz/logs/. Reproduce a failure with
#   SWIFT_BACKTRACE=enable=no .build-fuzz/release/<harness> <input>
set -u

seconds=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
scratch=.build-fuzz
# The default gold linker crashes on libFuzzer objects. Every parser under test is Swift, so only
# Swift code needs instrumenting.
flags=(-c release --scratch-path "$scratch"
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)

export VOLUMED_FUZZ=1
mkdir -p "$scratch/logs"
for harness in "$@"; do
    if ! swift build "${flags[@]}" --product "$harness" >"$scratch/logs/build-$harness.log" 2>&1; then
        grep -E "error" "$scratch/logs/build-$harness.log" | head -n 20
        echo "$harness: build failed (log: $scratch/logs/build-$harness.log)"
        exit 2
    fi
done
bin=$(swift build "${flags[@]}" --show-bin-path)

export SWIFT_BACKTRACE=enable=no
status=0
for harness in "$@"; do
    corpus=$scratch/corpus/$harness
    crashes=$scratch/crashes/$harness
    log=$scratch/logs/$harness.log
    mkdir -p "$corpus" "$crashes"
    case $harness in
        fuzz-safetensors) dict=Fuzz/safetensors.dict ;;
        fuzz-pickle) dict=Fuzz/pickle.dict ;;
        fuzz-manifest | fuzz-config) dict=Fuzz/toml.dict ;;
        fuzz-tokenizer) dict=Fuzz/tokenizer.dict ;;
        fuzz-token-files) dict=Fuzz/token-files.dict ;;
        *) echo "$harness: unknown harness"; exit 2 ;;
    esac
    ASAN_OPTIONS=detect_leaks=1 "$bin/$harness" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=2048 -detect_leaks=1 -dict="$dict" -print_final_stats=1 -artifact_prefix="$crashes/" \
        "$corpus" "Fuzz/corpus/$harness" >"$log" 2>&1
    result=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ $result -eq 0 ]; then
        echo "$harness: ${runs:-?} runs in $seconds s, no crash ($(ls "$corpus" | wc -l) inputs in the working corpus)"
    else
        input=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
        reason=$(grep -m 1 -E "ERROR: |ALARM: |Fatal error|deadly signal|out-of-memory" "$log")
        echo "$harness: CRASH after ${runs:-?} runs (exit $result): ${reason:-see the log}"
        echo "    input: ${input:-none written}   log: $log"
        status=1
    fi
done
exit $status
