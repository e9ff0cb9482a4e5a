# CI entry point: the meta of one positive case, or the evaluation error of one negative case.
#   nix-instantiate --eval --strict --json --readonly-mode tests/nix/eval-pure.nix --argstr kind good --argstr case instance
{ kind, case ? null }:
let
  rules = import ../../lib/meta.nix;
  cases = import (./. + "/${kind}.nix");
in
if case == null then builtins.attrNames cases
else if kind == "good" then rules.mkMeta cases.${case}
else rules.mkMeta cases.${case}.args
