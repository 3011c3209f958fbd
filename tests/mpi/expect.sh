#!/bin/sh
# Runs a command, shows its output, and passes only if the command exits 0
# and its output (stdout and stderr) matches every given regular expression.
#
# usage: expect.sh -e <regex> [-e <regex>...] -- <command> [args...]
#
# The regexes are grep -E expressions, each matched against single lines.
set -u

usage() {
  echo "usage: expect.sh -e <regex> [-e <regex>...] -- <command> [args...]" >&2
  exit 2
}

n=0
while [ $# -gt 0 ]; do
  case $1 in
    -e) [ $# -ge 2 ] || usage
        n=$((n + 1))
        eval "re_$n=\$2"
        shift 2 ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
[ $# -gt 0 ] && [ "$n" -gt 0 ] || usage

dir=$(mktemp -d "${TMPDIR:-/tmp}/expect.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' HUP INT TERM

# tee shows the output as it comes; the command's own status goes to a file.
{ "$@" 2>&1; echo $? >"$dir/rc"; } | tee "$dir/log"
rc=$(cat "$dir/rc" 2>/dev/null || echo missing)

status=0
if [ "$rc" != 0 ]; then
  echo "expect.sh: the command exited with status $rc" >&2
  status=1
fi
i=1
while [ "$i" -le "$n" ]; do
  eval "re=\$re_$i"
  if ! grep -Eq -- "$re" "$dir/log"; then
    echo "expect.sh: no output line matches /$re/" >&2
    status=1
  fi
  i=$((i + 1))
done
exit $status
