#!/usr/bin/env bash
# Builds the workloads in src/main.rs against this checkout (after) and against REV (before),
# then runs each workload alternately before/after, 9 times, and prints the median wall time
# of each and their ratio. With valgrind installed it also prints instruction counts
# (callgrind), which a busy machine does not disturb. Usage, from the repository root:
#   benches/before_after/run.sh REV
# BEFORE_AFTER_ONLY="hit thumb" runs only the workloads whose first word is listed.
# BEFORE_AFTER_FEATURES="webimage/tracing" builds the "after" side with those features too
# (the cost of a feature compiled in, for a comparison against a tree that lacks it).
set -euo pipefail
rev="${1:?usage: benches/before_after/run.sh REV (the commit to compare against)}"
root="$(git rev-parse --show-toplevel)"
here="$root/benches/before_after"
work="${BEFORE_AFTER_DIR:-$root/target/before-after}"
mkdir -p "$work"

# The earlier commit, checked out beside (not in) this tree.
if [ ! -d "$work/src-before" ]; then
    git -C "$root" worktree add --detach "$work/src-before" "$rev" >/dev/null
fi
git -C "$work/src-before" checkout -q --detach "$rev"

# Two builds of one program: the package as it is, and a copy pointed at the earlier tree.
mkdir -p "$work/before"
sed "s#^webimage = { path = \"../..\"#webimage = { path = \"$work/src-before\"#; s#^path = \"src/main.rs\"#path = \"$here/src/main.rs\"#" \
    "$here/Cargo.toml" > "$work/before/Cargo.toml"
export CARGO_TARGET_DIR="$work/target"
cargo build --release --quiet --manifest-path "$here/Cargo.toml" \
    ${BEFORE_AFTER_FEATURES:+--features "$BEFORE_AFTER_FEATURES"}
cp "$CARGO_TARGET_DIR/release/before-after-bench" "$work/after-bin"
cargo build --release --quiet --manifest-path "$work/before/Cargo.toml"
cp "$CARGO_TARGET_DIR/release/before-after-bench" "$work/before-bin"

photo="$work/photo-12mp.jpg"
[ -f "$photo" ] || "$work/after-bin" gen "$photo"
formats="$work/formats"
[ -f "$formats/drawing.svg" ] || "$work/after-bin" gen-formats "$formats"
# A JPEG-compressed tiled TIFF (the chunk preflight's heaviest ordinary case) needs libvips.
if command -v vips >/dev/null && [ ! -f "$formats/jpeg-tiles.tif" ]; then
    vips tiffsave "$formats/photo.png" "$formats/jpeg-tiles.tif" \
        --compression jpeg --tile --tile-width 256 --tile-height 256 --rgbjpeg
fi

# Whether the workload starting with word $1 is wanted (BEFORE_AFTER_ONLY unset: all).
wanted() { [ -z "${BEFORE_AFTER_ONLY:-}" ] || [[ " $BEFORE_AFTER_ONLY " == *" $1 "* ]]; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() { # name, args...
    local name="$1"; shift
    wanted "$1" || return 0
    : > "$work/b.txt"; : > "$work/a.txt"
    for _ in 1 2 3 4 5 6 7 8 9; do
        "$work/before-bin" "$@" >> "$work/b.txt"
        "$work/after-bin" "$@" >> "$work/a.txt"
    done
    local b a
    b=$(median < "$work/b.txt"); a=$(median < "$work/a.txt")
    awk -v n="$name" -v b="$b" -v a="$a" \
        'BEGIN { printf "%-34s before %12.0f ns   after %12.0f ns   after/before %.3f\n", n, b, a, a / b }'
}
echo "wall time, median of 9 alternating runs (rev $rev vs $(git -C "$root" rev-parse --short HEAD))"
run "memory hit x 100000" hit 100000
run "coalesce 1000 loads of one URL" coalesce 1000
run "thumbnail 256 of 12 MP JPEG x 10" thumb 10 "$photo"
run "full decode of 12 MP JPEG x 3" full 3 "$photo"
run "full decode of 3 MP PNG x 3" full 3 "$formats/photo.png"
run "full decode of 0.5 MP GIF x 5" full 5 "$formats/photo.gif"
run "full decode of 3 MP TIFF x 3" full 3 "$formats/photo.tif"
[ -f "$formats/jpeg-tiles.tif" ] && run "full decode of 3 MP JPEG TIFF x 3" full 3 "$formats/jpeg-tiles.tif"
run "thumbnail 256 of an SVG x 50" thumb 50 "$formats/drawing.svg"

if command -v valgrind >/dev/null; then
    echo "instructions (callgrind, whole process)"
    count() {
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 \
            | awk '/Collected :/ {print $4}'
    }
    tiles=""
    [ -f "$formats/jpeg-tiles.tif" ] && tiles="full 1 $formats/jpeg-tiles.tif"
    for w in "hit 100000" "coalesce 1000" "thumb 3 $photo" "full 1 $photo" \
        "full 1 $formats/photo.png" "full 1 $formats/photo.gif" "full 1 $formats/photo.tif" \
        ${tiles:+"$tiles"} "thumb 10 $formats/drawing.svg"; do
        wanted "${w%% *}" || continue
        # shellcheck disable=SC2086
        b=$(count "$work/before-bin" $w); a=$(count "$work/after-bin" $w)
        awk -v n="$w" -v b="$b" -v a="$a" -v p="$photo" -v f="$formats/" \
            'BEGIN { sub(p, "photo", n); sub(f, "", n);
            printf "%-34s before %14d   after %14d   after/before %.3f\n", n, b, a, a / b }'
    done
fi
