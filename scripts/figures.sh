#!/usr/bin/env bash
# Measures a row of docs/figures.md again: runs the row's command (a `bitsmnist train` row with
# --json, to print its test accuracy and time beside the row's) on this machine.
#
# Usage: bash scripts/figures.sh ID...      (ID: a row's anchor, e.g. zero-one)
#        bash scripts/figures.sh --list     (the rows' anchors and commands)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=$(grep '^| <a id="' docs/figures.md)
if [ $# -eq 0 ] || [ "$1" = --list ]; then
  sed -n 's/^| <a id="\([^"]*\)".*| `\([^`]*\)` .*/\1\t\2/p' <<<"$rows"
  [ $# -gt 0 ] || { echo "usage: bash scripts/figures.sh ID... | --list" >&2; exit 2; }
  exit 0
fi
cargo build --release --quiet --bin bitsmnist
export PATH="$PWD/target/release:$PATH"
for id in "$@"; do
  row=$(grep -F "<a id=\"$id\"></a>" <<<"$rows") || { echo "no row $id in docs/figures.md" >&2; exit 2; }
  command=$(sed -n 's/.*| `\([^`]*\)` .*/\1/p' <<<"$row" | head -n 1)
  result=$(cut -d'|' -f3 <<<"$row" | sed 's/^ *//; s/ *$//')
  echo "$id: $command"
  echo "  docs/figures.md: $result"
  start=$SECONDS
  case $command in
    "bitsmnist train "*)
      # The row's command as written: it has no quoted words.
      # shellcheck disable=SC2086
      report=$($command --quiet --json | tail -n 1)
      python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("  this run: %.2f%% test accuracy, fingerprint %s" % (100*r["test"]["accuracy"], r["fingerprint"]))' "$report"
      ;;
    *...*)
      echo "  needs files of your own in place of the ...: run it with them"
      ;;
    *"; "*)
      # A shell line (a loop of member runs, then their merge): run in a folder of its own,
      # as the files it writes are named in it.
      (cd "$(mktemp -d)" && bash -c "$command")
      ;;
    *)
      # shellcheck disable=SC2086
      $command
      ;;
  esac
  echo "  $((SECONDS - start)) s"
done
