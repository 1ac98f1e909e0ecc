#!/usr/bin/env bash
# The man pages: both render with `man --warnings` silent; mif(1) names every command that
# `mif --help` lists and every option that `mif --help` and each `mif COMMAND --help`
# print; and the built pages are what the generator makes from today's sources (so a
# stale page fails here rather than ship).
# Usage: man_test.sh MIF MAN_DIR SOURCE_DIR VERSION
set -euo pipefail
mif=$1 mandir=$2 src=$3 version=$4
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v man >/dev/null || { echo "SKIP: man (man-db) not installed"; exit 77; }
unset MIF_LAB MIF_LAB_POLICY
export LC_ALL=C.UTF-8 MANWIDTH=200
tmp=$(mktemp -d /tmp/mif-man-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

page1=$mandir/man1/mif.1.gz
page5=$mandir/man5/mif-policy.5.gz
for page in "$page1" "$page5"; do
  [ -f "$page" ] || fail "$page not built"
  man --warnings -l "$page" >"$tmp/out" 2>"$tmp/err" || fail "man -l $page failed"
  [ ! -s "$tmp/err" ] || { cat "$tmp/err" >&2; fail "$(basename "$page") renders with warnings"; }
  [ "$(wc -l <"$tmp/out")" -gt 20 ] || fail "$(basename "$page") renders almost nothing"
done

# Not stale: the generator run now gives the same pages.
python3 "$src/packaging/mkman.py" cli "$mif" "$version" "$tmp/mif.1"
python3 "$src/packaging/mkman.py" policy "$src/docs/policy.md" "$version" "$tmp/mif-policy.5"
gzip -dc "$page1" | cmp -s - "$tmp/mif.1" || fail "mif.1.gz is stale: rebuild (target mif_man)"
gzip -dc "$page5" | cmp -s - "$tmp/mif-policy.5" || fail "mif-policy.5.gz is stale: rebuild (target mif_man)"

# Every command and every option of the help texts, in the rendered mif(1).
man -l "$page1" >"$tmp/mif.txt" 2>/dev/null
"$mif" --help >"$tmp/help"
commands=$(sed -n '/^Commands:/,/^$/p' "$tmp/help" | awk 'NR > 1 && NF {print $1}')
[ -n "$commands" ] || fail "no commands in mif --help"
checked=0
for c in "" $commands; do
  if [ -n "$c" ]; then
    [ "$c" = help ] && continue
    grep -q "^ *mif $c\$" "$tmp/mif.txt" || fail "mif(1) has no section 'mif $c'"
    "$mif" "$c" --help >"$tmp/help"
  fi
  for opt in $(grep -oE '(^|[^A-Za-z0-9_-])--?[A-Za-z][A-Za-z0-9-]*' "$tmp/help" |
               grep -oE -- '--?[A-Za-z][A-Za-z0-9-]*' | sort -u); do
    grep -qF -- "$opt" "$tmp/mif.txt" || fail "mif(1) lacks option $opt (of mif ${c:-} --help)"
    checked=$((checked + 1))
  done
done
[ "$checked" -ge 30 ] || fail "only $checked options found in the help texts"
echo "PASS: $checked options of $(echo $commands | wc -w) commands in mif(1); both pages render cleanly"
