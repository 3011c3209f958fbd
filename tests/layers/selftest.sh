#!/bin/sh
# check-layers.sh must fail, naming the file, on each kind of forbidden
# include, and pass on a tree that keeps the rules: a check that cannot
# fail checks nothing.
set -u
script=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tree() { # a minimal clean tree
  rm -rf "$tmp/src"
  for d in core common format pmpi ckpt cli lib; do mkdir -p "$tmp/src/$d"; done
  printf '#include "core/engine.h"\n#include "mpisnap_errno.h"\n' >"$tmp/src/core/engine.c"
  printf '#include "core/engine.h"\n#include "common/array.h"\n' >"$tmp/src/format/part.c"
  printf '#include "format/part.h"\n#include "pmpi/layer.h"\n' >"$tmp/src/pmpi/send.c"
  printf '#include "pmpi/iface.h"\n#include "pmpi/hooks.h"\n#include "format/part.h"\n' >"$tmp/src/ckpt/api.c"
  printf '#include "format/part.h"\n#include "cli/cli.h"\n' >"$tmp/src/cli/main.c"
}

fail=0
tree
"$script" "$tmp/src" >/dev/null 2>&1 || { echo "selftest: a clean tree fails"; fail=1; }

expect_bad() { # layer file include
  tree
  printf '#include "%s"\n' "$3" >>"$tmp/src/$1/$2"
  if "$script" "$tmp/src" >"$tmp/out" 2>&1; then
    echo "selftest: $1/$2 including $3 passed"; fail=1
  elif ! grep -q "$1/$2:.*\"$3\"" "$tmp/out"; then
    echo "selftest: $1/$2 including $3 failed without naming it:"; cat "$tmp/out"; fail=1
  fi
}
expect_bad core engine.c common/array.h
expect_bad core engine.c pmpi/layer.h
expect_bad format part.c ckpt/ckpt.h
expect_bad pmpi send.c ckpt/ckpt.h
expect_bad ckpt api.c pmpi/layer.h
expect_bad cli main.c pmpi/iface.h
expect_bad cli main.c ckpt/ckpt.h
expect_bad cli main.c h5util.h
mkdir -p "$tmp/src/newlayer"
tree; mkdir -p "$tmp/src/newlayer"; printf '#include "core/engine.h"\n' >"$tmp/src/newlayer/x.c"
"$script" "$tmp/src" >/dev/null 2>&1 && { echo "selftest: an unknown layer passed"; fail=1; }
[ $fail = 0 ] && echo "selftest: every forbidden include was caught"
exit $fail
