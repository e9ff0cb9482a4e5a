# A tenant flake for tests, without nixpkgs: two instances of the hermetic test guest.
# tests/flakes/test_flake.cpp lays it out with seed/, bin/ and guest/ beside it.
{
  outputs = { self }:
    let
      seed = import ./seed/test-lib.nix { busybox = ./bin; guest = ./guest; };
    in
    {
      seeds.web = seed.mkSeed {
        name = "web";
        seed = { expose.http.enable = true; storage.data = "1Gi"; };
        kernelParams = "seed.httpd=80:/seed/storage/data/www";
      };
      seeds.api = seed.mkSeed {
        name = "api";
        seed = { size = "s"; expose.api = { port = 3000; }; connect.web = "web"; health.path = "/"; };
        kernelParams = "seed.httpd=3000:/srv";
      };
    };
}
