# Helpers sourced by every hidden checker (bench/ops_suite/harness.py prepends this file).
# A checker runs under `set -eu -o pipefail` after the answer ran twice; exit 0 = correct.
# Each helper fails closed: it prints one `FAIL: ...` line saying what is wrong and exits 1.
# The line goes to stderr, so that a helper failing inside $(...) still shows its reason
# (the harness reports the first FAIL line). Never shown to the generator.

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

need_file() { [ -f "$1" ] && [ ! -L "$1" ] || fail "$1 is not a regular file"; }
need_dir() { [ -d "$1" ] && [ ! -L "$1" ] || fail "$1 is not a directory"; }
need_absent() { [ ! -e "$1" ] && [ ! -L "$1" ] || fail "$1 should not exist"; }

# owner_is PATH USER:GROUP
owner_is() {
  local got
  got=$(stat -c %U:%G "$1" 2>/dev/null) || fail "$1 is missing"
  [ "$got" = "$2" ] || fail "$1 is owned by $got, want $2"
}

# mode_is PATH MODE (octal as `stat -c %a` prints it: 640, 2775)
mode_is() {
  local got
  got=$(stat -c %a "$1" 2>/dev/null) || fail "$1 is missing"
  [ "$got" = "${2#0}" ] || fail "$1 has mode $got, want ${2#0}"
}

# The lines of FILE that are not blank and not comments.
active_lines() { grep -Ev '^[[:space:]]*(#|$)' "$1" || true; }

# The fields of USER's passwd entry.
pw_field() { getent passwd "$1" | cut -d: -f"$2"; }
user_exists() { getent passwd "$1" >/dev/null || fail "user $1 does not exist"; }
group_exists() { getent group "$1" >/dev/null || fail "group $1 does not exist"; }
home_is() {
  user_exists "$1"
  [ "$(pw_field "$1" 6)" = "$2" ] || fail "home of $1 is $(pw_field "$1" 6), want $2"
}
shell_is() {
  user_exists "$1"
  [ "$(pw_field "$1" 7)" = "$2" ] || fail "shell of $1 is $(pw_field "$1" 7), want $2"
}
# /usr/sbin/nologin and /sbin/nologin are the same program on Debian (merged /usr).
shell_is_nologin() {
  user_exists "$1"
  case $(pw_field "$1" 7) in
    /usr/sbin/nologin|/sbin/nologin) ;;
    *) fail "shell of $1 is $(pw_field "$1" 7), want /usr/sbin/nologin" ;;
  esac
}
# A system account: a UID below 1000 (Debian's SYS_UID_MAX is 999).
is_system_user() {
  user_exists "$1"
  local uid
  uid=$(pw_field "$1" 3)
  [ "$uid" -lt 1000 ] || fail "$1 has UID $uid: not a system account (want < 1000)"
}
in_group() {
  id -nG "$1" 2>/dev/null | tr ' ' '\n' | grep -qx "$2" || fail "$1 is not in group $2"
}
not_in_group() {
  ! id -nG "$1" 2>/dev/null | tr ' ' '\n' | grep -qx "$2" || fail "$1 should not be in group $2"
}

# cron_job FILE: FILE (a /etc/cron.d file) is valid for Debian's cron and holds exactly one
# job line; sets CRON_MIN CRON_HOUR CRON_DOM CRON_MON CRON_DOW CRON_USER CRON_CMD.
cron_job() {
  local f=$1 base jobs n
  base=$(basename "$f")
  need_file "$f"
  # run-parts naming: cron silently ignores /etc/cron.d files with dots or other characters.
  [[ $base =~ ^[A-Za-z0-9_-]+$ ]] || fail "cron ignores $f (file name)"
  owner_is "$f" root:root
  [ $(( 0$(stat -c %a "$f") & 022 )) -eq 0 ] || fail "cron ignores $f: group/world writable"
  [ -z "$(tail -c1 "$f")" ] || fail "$f does not end with a newline (cron ignores the last line)"
  jobs=$(active_lines "$f" | grep -Ev '^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*[[:space:]]*=' || true)
  n=$(printf '%s' "$jobs" | grep -c . || true)
  [ "$n" -eq 1 ] || fail "$f has $n job lines, want exactly 1: $(printf '%s' "$jobs" | tr '\n' '|')"
  read -r CRON_MIN CRON_HOUR CRON_DOM CRON_MON CRON_DOW CRON_USER CRON_CMD <<<"$jobs"
  if [[ $CRON_MIN == @* ]]; then  # @daily USER CMD
    local macro=$CRON_MIN
    read -r _ CRON_USER CRON_CMD <<<"$jobs"
    case $macro in
      @daily|@midnight) set -- 0 0 '*' '*' '*' ;;
      @hourly) set -- 0 '*' '*' '*' '*' ;;
      @weekly) set -- 0 0 '*' '*' 0 ;;
      @monthly) set -- 0 0 1 '*' '*' ;;
      @yearly|@annually) set -- 0 0 1 1 '*' ;;
      *) fail "$f: schedule $macro does not run at fixed times" ;;
    esac
    CRON_MIN=$1 CRON_HOUR=$2 CRON_DOM=$3 CRON_MON=$4 CRON_DOW=$5
  fi
  [ -n "${CRON_CMD:-}" ] || fail "$f: job line has no user field or no command: $jobs"
}

# sysctl_value FILE KEY: exactly one active KEY line in FILE; prints its value.
sysctl_value() {
  local f=$1 key=$2 lines n
  need_file "$f"
  lines=$(active_lines "$f" | grep -E "^[[:space:]]*-?${key//./\\.}[[:space:]]*=" || true)
  n=$(printf '%s' "$lines" | grep -c . || true)
  [ "$n" -eq 1 ] || fail "$f has $n active $key lines, want exactly 1"
  printf '%s' "$lines" | sed -E 's/^[^=]*=[[:space:]]*//; s/[[:space:]]+$//'
}

# kv_lines FILE KEY [SEP]: the active lines of FILE that set KEY (KEY=..., KEY ..., KEY = ...).
kv_lines() {
  active_lines "$1" | grep -E "^[[:space:]]*$2([[:space:]]*=|[[:space:]]+)" || true
}

# count_lines TEXT: the number of non-empty lines in TEXT.
count_lines() { printf '%s' "$1" | grep -c . || true; }

# The answer's first-run standard output (query tasks).
stdout_text() { cat "${OPSGEN_STDOUT:?}"; }
# Its last non-blank line, trimmed.
stdout_last() { grep -v '^[[:space:]]*$' "${OPSGEN_STDOUT:?}" | tail -n1 | sed -E 's/^[[:space:]]+|[[:space:]]+$//g'; }

# unit_value FILE SECTION KEY: the last value of KEY in [SECTION] of a systemd unit file.
unit_value() {
  awk -v sec="[$2]" -v key="$3" '
    /^[[:space:]]*\[/ { cur = $0; gsub(/[[:space:]]/, "", cur); next }
    cur == sec && $0 ~ "^[[:space:]]*" key "[[:space:]]*=" {
      v = $0; sub(/^[^=]*=[[:space:]]*/, "", v); sub(/[[:space:]]+$/, "", v); val = v; found = 1
    }
    END { if (found) print val }' "$1"
}

# cron_expand FIELD MIN MAX [dow|mon]: the values a cron field matches, sorted, one line.
# Lists, ranges, steps and names (sun..sat, jan..dec) count alike: */15 == 0,15,30,45.
cron_expand() {
  local field=${1,,} min=$2 max=$3 kind=${4:-} part lo hi step i names n
  local -a out=()
  if [ "$kind" = dow ]; then names=(sun mon tue wed thu fri sat); fi
  if [ "$kind" = mon ]; then names=(_ jan feb mar apr may jun jul aug sep oct nov dec); fi
  for n in "${!names[@]}"; do field=${field//${names[$n]}/$n}; done
  IFS=, read -ra parts <<<"$field"
  for part in "${parts[@]}"; do
    step=1
    if [[ $part == */* ]]; then step=${part#*/}; part=${part%/*}; fi
    if [ "$part" = '*' ]; then lo=$min hi=$max
    elif [[ $part =~ ^([0-9]+)-([0-9]+)$ ]]; then lo=${BASH_REMATCH[1]} hi=${BASH_REMATCH[2]}
    elif [[ $part =~ ^[0-9]+$ ]]; then lo=$part; hi=$part; [ "$step" = 1 ] || hi=$max
    else return 1; fi
    [[ $step =~ ^[0-9]+$ ]] && [ $((10#$step)) -gt 0 ] || return 1
    for ((i = 10#$lo; i <= 10#$hi; i += 10#$step)); do
      if [ "$kind" = dow ] && [ "$i" = 7 ]; then out+=(0); else out+=("$i"); fi
    done
  done
  printf '%s\n' "${out[@]}" | sort -n -u | tr '\n' ' '
}

# cron_schedule_is "M H DOM MON DOW": the job found by cron_job runs exactly then.
cron_schedule_is() {
  local -a want got=("$CRON_MIN" "$CRON_HOUR" "$CRON_DOM" "$CRON_MON" "$CRON_DOW")
  read -ra want <<<"$1"
  local -a mins=(0 0 1 1 0) maxs=(59 23 31 12 7) kinds=("" "" "" mon dow)
  local i a b
  for i in 0 1 2 3 4; do
    a=$(cron_expand "${got[$i]}" "${mins[$i]}" "${maxs[$i]}" "${kinds[$i]}") || fail "bad cron field '${got[$i]}'"
    b=$(cron_expand "${want[$i]}" "${mins[$i]}" "${maxs[$i]}" "${kinds[$i]}")
    [ "$a" = "$b" ] || fail "schedule is '${got[*]}', want '$1'"
  done
}

# lr_has FILE REGEX: FILE has a line that is exactly this logrotate directive.
lr_has() {
  grep -Eq "^[[:space:]]*$2[[:space:]]*\$" "$1" || fail "$1 lacks the directive '$2'"
}
