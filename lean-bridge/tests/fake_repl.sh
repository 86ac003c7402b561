#!/usr/bin/env bash
# A misbehaving stand-in for the Lean REPL, for the bridge's fault tests. It answers requests
# like the real REPL, except when the request's text contains one of these words:
#   HANG     never answer          EXIT     print to stderr and exit 3 mid-request
#   GARBAGE  answer with bad JSON  WRONGID  answer with another request's id
#   NOISE    print unrelated lines before answering
#   OUTEXIT  print an error on stdout (as Lean prints a command's error) and exit 1
# With FAKE_REPL_MODE=die-at-start it exits before saying it is ready.
if [ "${FAKE_REPL_MODE:-}" = "die-at-start" ]; then
  echo "error: file 'data/missing' not found in the search path" >&2
  exit 1
fi
echo '#PROVER_REPL# {"ready":true}'
state=0
while IFS= read -r line; do
  [ -z "$line" ] && exit 0
  id=$(printf '%s' "$line" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
  case "$line" in
    *HANG*) exec sleep 1000 ;;
    *OUTEXIT*) echo "launch.lean:5:17: error: invalid end of module, expecting 'end'"; exit 1 ;;
    *EXIT*) echo "fake: killed by a bad tactic" >&2; exit 3 ;;
    *GARBAGE*) echo '#PROVER_REPL# {"id":'"$id"', this is not json'; continue ;;
    *WRONGID*) echo '#PROVER_REPL# {"id":999999,"ok":true}'; continue ;;
    *NOISE*) echo "some message Lean printed"; echo "another one" ;;
  esac
  state=$((state + 1))
  case "$line" in
    *'"cmd":"start"'*)
      echo '#PROVER_REPL# {"id":'"$id"',"ok":true,"proof":0,"state":'"$state"',"goals":["⊢ true"],"num_goals":1}' ;;
    *'"cmd":"run"'*)
      echo '#PROVER_REPL# {"id":'"$id"',"ok":true,"state":'"$state"',"goals":[],"num_goals":0}' ;;
    *)
      echo '#PROVER_REPL# {"id":'"$id"',"ok":true,"states":0,"proofs":0,"contexts":0}' ;;
  esac
done
