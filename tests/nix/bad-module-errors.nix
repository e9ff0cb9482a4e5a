# fixture name -> the message substrings of tests/nix/bad-modules.nix, as JSON for the C++ test.
builtins.mapAttrs (_: c: c.errors) (import ./bad-modules.nix)
