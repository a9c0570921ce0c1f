#!/bin/sh
# Builds and runs one libFuzzer target: Tests/Fuzz/run.sh TARGET SECONDS [extra libFuzzer flags]
#
# A target is a directory Tests/Fuzz/TARGET/ with
#   fuzz.swift  the entry point (@_cdecl("LLVMFuzzerTestOneInput")), importing the modules below
#   modules     one line per module to compile first, in dependency order:
#                 ModuleName  path/or/glob/relative/to/repo ...
#               and optionally lines of extra swiftc flags, for every later compile and for
#               the final link respectively, e.g. for a system library target:
#                 flags:  -I Sources/CZlib
#                 link:   -lz
# The corpus lives in Tests/Fuzz/corpus/TARGET/ (checked in; new findings are added there).
# libFuzzer cannot link a SwiftPM executable (SwiftPM brings its own main), so each module is
# compiled with plain swiftc -sanitize=fuzzer,address as a static library, then the entry file
# against them. Build output: Tests/Fuzz/build/TARGET/ (gitignored); crashes go to
# Tests/Fuzz/artifacts/TARGET/.
set -eu

target=${1:?usage: Tests/Fuzz/run.sh TARGET SECONDS [libFuzzer flags]}
seconds=${2:?usage: Tests/Fuzz/run.sh TARGET SECONDS [libFuzzer flags]}
shift 2

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
dir="$here/$target"
build="$here/build/$target"
corpus="$here/corpus/$target"
artifacts="$here/artifacts/$target"
[ -f "$dir/fuzz.swift" ] && [ -f "$dir/modules" ] || { echo "no fuzz target '$target' in $here" >&2; exit 2; }
mkdir -p "$build" "$corpus" "$artifacts" "$build/new"

flags="-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6"
libs=""
link=""
cd "$repo"
while read -r module paths; do
    case "$module" in
        ''|'#'*) continue ;;
        flags:) flags="$flags $paths"; continue ;;
        link:) link="$link $paths"; continue ;;
    esac
    # A stale archive would keep objects of deleted files (ar adds, it does not replace all).
    rm -f "$build/lib$module.a"
    # Globs in $paths expand here, relative to the repository.
    # shellcheck disable=SC2086
    swiftc $flags -module-name "$module" -I "$build" \
        -emit-module -emit-module-path "$build/$module.swiftmodule" \
        -emit-library -static -o "$build/lib$module.a" $paths
    # Static libraries link dependents first.
    libs="-l$module $libs"
done < "$dir/modules"

# shellcheck disable=SC2086
swiftc $flags -I "$build" -L "$build" "$dir/fuzz.swift" $libs $link -o "$build/fuzz-$target"

# New inputs go to build/new so a run does not flood the checked-in corpus; copy the
# interesting ones (crashers, after a fix) into corpus/TARGET by hand.
SWIFT_BACKTRACE=enable=no exec "$build/fuzz-$target" \
    -max_total_time="$seconds" -artifact_prefix="$artifacts/" -print_final_stats=1 \
    "$@" "$build/new" "$corpus"
