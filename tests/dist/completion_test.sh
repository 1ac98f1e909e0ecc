#!/usr/bin/env bash
# bash completion: drives _mif (packaging/completion/mif.bash) as bash does on TAB, with a
# policy of three PvDs, and checks what it offers: the PvD names (and interfaces) after
# `mif run --pvd`, in comma lists, from --policy or a lab's MIF_LAB_POLICY; commands;
# options from each --help; lab topologies. zsh's file is checked for syntax when zsh is
# installed.
# Usage: completion_test.sh MIF SOURCE_DIR
set -uo pipefail
mif=$1 src=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d /tmp/mif-completion-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# No user or lab policy but the test's own.
export XDG_CONFIG_HOME=$tmp/config HOME=$tmp
unset MIF_LAB MIF_LAB_POLICY

cat >"$tmp/policy.toml" <<'TOML'
[pvd.wifi]
interface = "wl*"

[pvd.corp]
interface = "tun0"
dns = ["198.51.100.53"]

[ pvd."cell-2" ]   # quoted, spaced
interface = "wwan0"

[[rule]]
app = "curl"
pvd = "corp"
TOML
"$mif" check "$tmp/policy.toml" >/dev/null || fail "the test policy is not valid"

# shellcheck source=/dev/null
source "$src/packaging/completion/mif.bash"
complete -p mif >/dev/null || fail "no completion registered for mif"

# complete WORD... : COMPREPLY for the line "WORD..." with the cursor on the last word.
complete_line() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _mif 2>/dev/null
  printf '%s\n' "${COMPREPLY[@]}" | sort
}
expect() {  # expect DESCRIPTION WANTED... -- WORD...
  local what=$1 got
  shift
  local want=()
  while [ "$1" != -- ]; do want+=("$1"); shift; done
  shift
  got=$(complete_line "$@")
  for w in "${want[@]}"; do
    grep -qxF -- "$w" <<<"$got" || fail "$what: '$w' not offered for '$*' (got: $(echo $got))"
  done
}
lacks() {  # lacks DESCRIPTION UNWANTED -- WORD...
  local what=$1 unwanted=$2
  shift 3
  complete_line "$@" | grep -qxF -- "$unwanted" && fail "$what: '$unwanted' offered for '$*'"
  return 0
}

p=$tmp/policy.toml
expect "PvD names" wifi corp cell-2 lo -- "$mif" run --policy "$p" --pvd ""
got=$(complete_line "$mif" run --policy "$p" --pvd "")
[ "$(grep -cxE 'wifi|corp|cell-2' <<<"$got")" = 3 ] || fail "PvD names: $got"
expect "PvD prefix" corp -- "$mif" run --policy "$p" --pvd co
lacks "PvD prefix" wifi -- "$mif" run --policy "$p" --pvd co
expect "comma list" wifi,corp wifi,cell-2 -- "$mif" run --policy "$p" --pvd wifi,c
expect "--policy=FILE" wifi corp -- "$mif" run --policy = "$p" --strict --pvd ""
lacks "no policy given" wifi -- "$mif" run --pvd ""
expect "interfaces without a policy" lo -- "$mif" run --pvd ""
MIF_LAB_POLICY=$p expect "lab policy" wifi corp cell-2 -- "$mif" run --pvd ""
mkdir -p "$XDG_CONFIG_HOME/mif" && cp "$p" "$XDG_CONFIG_HOME/mif/policy.toml"
expect "user policy" wifi corp cell-2 -- "$mif" explain --pvd ""
rm "$XDG_CONFIG_HOME/mif/policy.toml"
expect "show --pvd" corp -- "$mif" show --policy "$p" --pvd c

expect "commands" run show explain check lab probe discover help --version -- "$mif" ""
expect "help COMMAND" run probe -- "$mif" help ""
expect "run options" --policy --pvd --dns --strict --enforce --trace -- "$mif" run --
lacks "run options" --assume-usable -- "$mif" run --
lacks "run options (not probe's)" --count -- "$mif" run --
expect "show options" --json --help -- "$mif" show --
expect "explain options" --assume-usable --dscp --udp -- "$mif" explain --
expect "--layer" system user command-line -- "$mif" check --layer ""
expect "lab verbs" up down status exec demo -- "$mif" lab ""
expect "lab topologies" wifi-vpn onelink -- "$mif" lab up ""
expect "program after --" true -- "$mif" run --pvd lo -- tru

# zsh: _mif with the completion system's builtins replaced by functions that print what
# they are given (compadd's words, _values' values), so its choices can be compared.
if command -v zsh >/dev/null; then
  zsh -n "$src/packaging/completion/_mif" || fail "_mif: zsh syntax"
  zcomplete() {
    zsh -f -c '
      compadd() { local a; for a in "$@"; do [[ $a == -- ]] || print -r -- "$a"; done }
      _values() { shift 3; print -rl -- "$@" }
      _files() { print -r -- "<files>" }
      _message() { }
      _normal() { print -r -- "<normal ${words[*]}>" }
      _command_names() { print -r -- "<commands>" }
      source "$1" >/dev/null
      shift
      words=("$@"); CURRENT=$#; PREFIX=${words[-1]}
      _mif' zcomplete "$src/packaging/completion/_mif" "$@" | sort
  }
  zexpect() {  # zexpect DESCRIPTION WANTED... -- WORD...
    local what=$1 got
    shift
    local want=()
    while [ "$1" != -- ]; do want+=("$1"); shift; done
    shift
    got=$(zcomplete "$@")
    for w in "${want[@]}"; do
      grep -qxF -- "$w" <<<"$got" || fail "zsh $what: '$w' not offered for '$*' (got: $(echo $got))"
    done
  }
  zexpect "PvD names" wifi corp cell-2 lo -- "$mif" run --policy "$p" --pvd ""
  MIF_LAB_POLICY=$p zexpect "lab policy" wifi corp -- "$mif" explain --pvd ""
  zexpect "commands" run show explain check lab probe help -- "$mif" ""
  zexpect "run options" --pvd --strict --enforce --help -- "$mif" run -
  zexpect "lab verbs" up down exec -- "$mif" lab ""
  zexpect "after --" "<normal true>" -- "$mif" run --pvd lo -- true
  zcomplete "$mif" run - | grep -qxF -- --count && fail "zsh: run offers --count"
else
  echo "zsh not installed: its completion not checked"
fi
echo "PASS"
