# A stand-in for the Seed flake, registered as `seed` by nix_template_flake_test.cpp so each
# template's flake.nix is evaluated by real nix without nixpkgs: mkSeed records what it was
# called with instead of building a NixOS system. Its `nixpkgs` (tests/nix/stub-nixpkgs) comes
# from the same registry, as the host module's registry names the node's nixpkgs; the
# templates say `inputs.nixpkgs.follows = "seed/nixpkgs"`.
{
  inputs.nixpkgs.url = "flake:nixpkgs";
  outputs = { self, nixpkgs }: {
    lib.mkSeed = { name, module, system ? "x86_64-linux", modules ? [ ] }: {
      meta = { inherit name system; module = baseNameOf module; stubNixpkgs = nixpkgs.stub; };
    };
  };
}
