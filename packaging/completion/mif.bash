# bash completion for mif(1). Commands and options come from mif's own --help (so they
# follow the binary being completed), PvD names from the policy layers the command will
# read, interface names from /sys/class/net, lab topologies from the built-in directory
# beside mif and the labs that are up.

# The mif being completed: the word typed, as the shell will find it.
_mif_bin() {
  local m=${COMP_WORDS[0]}
  m=${m/#\~/$HOME}
  command -v "$m" 2>/dev/null || printf '%s\n' "$m"
}

# The options (-x, --long) of `mif ARGS --help`: its usage lines and option list.
_mif_help_options() {
  "$(_mif_bin)" "$@" --help 2>/dev/null | sed -n '/^Usage:/,/^$/p; /^  \{1,3\}-/p' |
    grep -oE '(^|[^A-Za-z0-9_-])--?[A-Za-z][A-Za-z0-9-]*' |
    grep -oE -- '--?[A-Za-z][A-Za-z0-9-]*' | sort -u
}

_mif_commands() {
  "$(_mif_bin)" --help 2>/dev/null | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF {print $1}'
}

# The policy files the command reads: the system and user layers, then each --policy on
# the line (or, inside `mif lab exec`, the lab's policy when there is none).
_mif_policy_files() {
  local i given=
  printf '%s\n' /etc/mif/policy.toml "${XDG_CONFIG_HOME:-$HOME/.config}/mif/policy.toml"
  for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
    [ "${COMP_WORDS[i]}" = -- ] && break
    if [ "${COMP_WORDS[i]}" = --policy ]; then
      local f=${COMP_WORDS[i + 1]}
      [ "$f" = = ] && f=${COMP_WORDS[i + 2]}
      printf '%s\n' "${f/#\~/$HOME}"
      given=1
    fi
  done
  [ -z "$given" ] && [ -n "${MIF_LAB_POLICY:-}" ] && printf '%s\n' "$MIF_LAB_POLICY"
}

# PvD names: every [pvd.NAME] (or [pvd."NAME"]) table of those files.
_mif_pvds() {
  local f
  while IFS= read -r f; do
    [ -r "$f" ] || continue
    sed -n 's/^[[:space:]]*\[[[:space:]]*pvd\.\("\{0,1\}\)\([A-Za-z0-9_.-]*\)\1[[:space:]]*\].*/\2/p' "$f"
  done < <(_mif_policy_files)
}

_mif_interfaces() {
  local d
  for d in /sys/class/net/*; do [ -e "$d" ] && printf '%s\n' "${d##*/}"; done
}

# Lab topologies: the built-in ones (share/mif/lab beside mif, else those `mif lab --help`
# names) and the labs that are up.
_mif_topologies() {
  local bin dir f
  bin=$(_mif_bin)
  dir=$(dirname "$bin")/../share/mif/lab
  if [ -d "$dir" ]; then
    for f in "$dir"/*.toml; do [ -e "$f" ] && { f=${f##*/}; printf '%s\n' "${f%.toml}"; }; done
  else
    "$bin" lab --help 2>/dev/null | sed -n 's/.*built-in name: *//p' | tr -s ' .' '\n\n'
  fi
  for f in /run/mif-lab/*/; do [ -d "$f" ] && { f=${f%/}; printf '%s\n' "${f##*/}"; }; done
}

_mif_lab_verbs() {
  "$(_mif_bin)" lab --help 2>/dev/null | grep -oE 'mif lab [a-z]+' | awk '{print $3}' | sort -u
}

_mif() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local cword=$COMP_CWORD cmd=${COMP_WORDS[1]:-} i
  COMPREPLY=()
  # --opt=VALUE: bash splits at '=' (COMP_WORDBREAKS).
  if [ "$cur" = = ]; then
    prev=${COMP_WORDS[cword - 1]}
    cur=
  elif [ "$prev" = = ]; then
    prev=${COMP_WORDS[cword - 2]}
  fi

  if ((cword == 1)); then
    mapfile -t COMPREPLY < <(compgen -W "$(_mif_commands) help --help --version" -- "$cur")
    return
  fi

  # After `--`: the program, then its own arguments.
  for ((i = 2; i < cword; i++)); do
    if [ "${COMP_WORDS[i]}" = -- ]; then
      if ((i == cword - 1)); then
        mapfile -t COMPREPLY < <(compgen -c -- "$cur")
      else
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        compopt -o filenames 2>/dev/null
      fi
      return
    fi
  done

  case $prev in
    --policy | --system-policy | --user-policy | --trace)
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      compopt -o filenames 2>/dev/null
      return
      ;;
    --pvd)
      # A comma list: complete its last name.
      local head= last=$cur
      if [[ $cur == *,* ]]; then head=${cur%,*},; last=${cur##*,}; fi
      mapfile -t COMPREPLY < <(compgen -P "$head" -W "$(_mif_pvds; _mif_interfaces)" -- "$last")
      compopt -o nospace 2>/dev/null
      [ ${#COMPREPLY[@]} -eq 1 ] && compopt +o nospace 2>/dev/null
      return
      ;;
    --layer)
      mapfile -t COMPREPLY < <(compgen -W "system user command-line" -- "$cur")
      return
      ;;
    --dscp)
      mapfile -t COMPREPLY < <(compgen -W "EF VA LE DF CS0 CS1 CS2 CS3 CS4 CS5 CS6 CS7 AF11 AF12 AF13 AF21 AF22 AF23 AF31 AF32 AF33 AF41 AF42 AF43" -- "$cur")
      return
      ;;
    --app)
      mapfile -t COMPREPLY < <(compgen -c -- "$cur")
      return
      ;;
    --dns | --target | --count | --timeout | --as | --in)
      return
      ;;
  esac

  case $cmd in
    help)
      ((cword == 2)) && mapfile -t COMPREPLY < <(compgen -W "$(_mif_commands)" -- "$cur")
      return
      ;;
    lab)
      local verb=${COMP_WORDS[2]:-}
      if ((cword == 2)); then
        mapfile -t COMPREPLY < <(compgen -W "$(_mif_lab_verbs) --help" -- "$cur")
      elif [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$("$(_mif_bin)" lab --help 2>/dev/null |
          grep -E "mif lab $verb( |\$)" | grep -oE -- '--[a-z-]+' | sort -u) --help" -- "$cur")
      elif ((cword == 3)) && [[ $verb =~ ^(up|down|facts|exec|portal)$ ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_mif_topologies)" -- "$cur")
        mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -f -X '!*.toml' -- "$cur")
      fi
      return
      ;;
  esac

  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_mif_help_options "$cmd") --help" -- "$cur")
  elif [ "$cmd" = check ]; then
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    compopt -o filenames 2>/dev/null
  fi
}
complete -F _mif mif
