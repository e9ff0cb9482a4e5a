{
  # The Seed your node runs, from its flake registry (docs/nix.md). To evaluate on your own
  # machine: `nix registry add seed <the node's Seed flake>` once, or --override-input seed.
  inputs.seed.url = "flake:seed";
  inputs.nixpkgs.follows = "seed/nixpkgs";

  outputs = { seed, ... }: {
    seeds.web = seed.lib.mkSeed { name = "web"; module = ./web.nix; };
  };
}
